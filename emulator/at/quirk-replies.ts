/**
 * The quirks that shape a reply of the board (quirks.ts decides when they fire): how a CIPSEND
 * ends, the length an SSL link reports, and a read racing the link's CLOSED.
 */
import type { AtMessage } from '../../firmware-protocol/at/index.js';
import type { AtDevice } from './context.js';
import type { Link } from './link-table.js';

/** TLS record overhead the firmware counts into SSL lengths (AES-GCM: 5 + 8 + 16; esp-at#589). */
const TLS_RECORD_OVERHEAD = 29;
const TLS_RECORD_MAX = 16384;

/**
 * How a CIPSEND whose bytes went out ends. ipdBeforeSendOk: `SEND OK` waits a few ms, so the
 * peer's answer (`+IPD`) gets in first (esp-at#481). sendFailThenSendOk: `SEND FAIL`, then
 * `SEND OK` for the same send up to 20 ms later: the bytes were sent, the firmware retried
 * (ESP8266_NONOS_SDK#60); the command runs until the `SEND OK`.
 */
export async function sendOk(dev: AtDevice): Promise<void> {
  const q = dev.quirks;
  if (q.fires('ipdBeforeSendOk')) await dev.sleep(q.delayMs(1, 8));
  if (q.fires('sendFailThenSendOk')) {
    dev.say({ type: 'send-fail' });
    await dev.sleep(q.delayMs(0, 20));
  }
  dev.say({ type: 'send-ok' });
}

/**
 * passiveSslLengthMismatch: the length `+IPD,<id>,<len>` and AT+CIPRECVLEN report for an SSL
 * link counts TLS record overhead, as the firmware's socket (ciphertext) count does (esp-at#589,
 * #655): 29 bytes per record more than AT+CIPRECVDATA returns.
 */
export function reportedLength(dev: AtDevice, link: Link, buffered: number): number {
  if (link.type !== 'SSL' || buffered === 0 || !dev.quirks.fires('passiveSslLengthMismatch')) return buffered;
  return buffered + TLS_RECORD_OVERHEAD * Math.ceil(buffered / TLS_RECORD_MAX);
}

/**
 * closedRacingRead: the read that drains a link whose peer has closed. `<id>,CLOSED` comes out
 * as the read starts and the reply with the data 1–10 ms later (esp-at#729 has the lossy SSL
 * variant; here nothing is lost). The link is gone once the data is taken.
 */
export async function replyAfterClosed(dev: AtDevice, link: Link, reply: AtMessage): Promise<'done'> {
  dev.say({ type: 'closed', link: dev.label(link) });
  dev.closeLink(link, false);
  await dev.sleep(dev.quirks.delayMs(1, 10));
  dev.say(reply, { type: 'ok' });
  return 'done';
}

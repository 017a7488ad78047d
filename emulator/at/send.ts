/**
 * Normal-mode sending (esp-at.md §2): AT+CIPSEND and AT+CIPSENDEX with the `>` prompt.
 *
 *   AT+CIPSEND=0,4\r\n   →  \r\nOK\r\n\r\n>
 *   test                 →  \r\nRecv 4 bytes\r\n  …  \r\nSEND OK\r\n
 *
 * `SEND OK` means the network took the bytes (lwIP queued them), not that the peer acknowledged.
 * The command stays in progress until then, so anything typed meanwhile gets `busy p...`.
 * The execute form `AT+CIPSEND` (passthrough) lives in passthrough.ts.
 */
import type { CommandName } from '../../firmware-protocol/at/index.js';
import {
  type AtCommand,
  type AtDevice,
  badParam,
  type FormHandlers,
  fail,
  type Outcome,
  Superseded,
} from './context.js';
import type { Link } from './link-table.js';
import { sendOk } from './quirk-replies.js';

/** A per-datagram destination (`AT+CIPSEND=4,"10.77.0.7",7`); null = the link's remote. */
type Destination = [string, number] | null;

function stillOpen(dev: AtDevice, link: Link): boolean {
  return dev.links.get(link.id) === link && link.state === 'open';
}

async function transmit(dev: AtDevice, link: Link, data: Uint8Array, dest: Destination): Promise<void> {
  dev.say({ type: 'recv', length: data.length });
  try {
    if (!stillOpen(dev, link)) throw new Error('link closed while the payload arrived');
    if (link.type === 'UDP') await dev.guard(dev.table.sendto(link.sock, data, dest ?? link.remote));
    else await dev.guard(dev.table.send(link.sock, data));
    link.lastActive = Date.now();
    await sendOk(dev); // SEND OK, as real boards say it (quirks.ts)
  } catch (err) {
    if (err instanceof Superseded) throw err;
    dev.say({ type: 'send-fail' });
  }
}

function prompt(dev: AtDevice, cmd: AtCommand, escaped: boolean): Outcome {
  const mux = dev.settings.live.mux;
  const id = mux === 1 ? Number(cmd.args.link_id) : 0;
  const lengthIndex = mux === 1 ? 1 : 0;
  const length = Number(cmd.args.length);
  if (length > dev.traits.maxSend) {
    throw badParam(lengthIndex, `AT+${cmd.name}: at most ${dev.traits.maxSend} bytes on v${dev.traits.version}`);
  }
  if (dev.settings.live.cipmode === 1) throw fail('execFailed', `AT+${cmd.name}=<len> needs AT+CIPMODE=0`);
  const link = dev.links.get(id);
  if (link?.state !== 'open') throw fail('execFailed', `link ${id} is not connected`);
  const host = cmd.args.remote_host;
  const dest: Destination = host === undefined ? null : [String(host), Number(cmd.args.remote_port)];
  if (dest && link.type !== 'UDP') throw badParam(lengthIndex + 1, 'a destination is for UDP links only');
  dev.say({ type: 'ok' }, { type: 'prompt' });
  dev.expectPayload(length, escaped, (data) => transmit(dev, link, data, dest));
  return 'done';
}

/** CIPSEND (set/test) and CIPSENDEX handlers. */
export const SEND: { readonly [N in CommandName]?: FormHandlers } = {
  CIPSEND: {
    test: () => undefined,
    set: (dev, cmd) => prompt(dev, cmd, false),
  },
  CIPSENDEX: {
    set: (dev, cmd) => prompt(dev, cmd, true),
  },
};

/**
 * Recovery of a module that an earlier host left wedged, run at start-up when `AT` gets no
 * answer at all. ESP-AT firmware (esp-at.md §1–§2) then may be:
 *
 * - inside `AT+CIPSEND=<id>,<len>`, after the `>`: it takes the next `<len>` bytes (≤ 8192;
 *   2048 on old builds) as payload, whatever they are, so our `AT\r\n` probes only fill it up.
 *   Filler, in chunks, until the module speaks (`Recv N bytes`, `SEND OK|FAIL`, `ERROR`), then a
 *   `\r\n` to end whatever the surplus started as a command line (it gets one `ERROR`):
 *
 *   ```text
 *   H: <512 filler bytes> ×4    D: \r\nRecv 2048 bytes\r\n\r\nSEND OK\r\n
 *   H: \r\n                     D: \r\nERROR\r\n          (the surplus filler as a command)
 *   H: AT\r\n                   D: \r\nOK\r\n
 *   ```
 *
 * - in passthrough (`AT+CIPMODE=1` + `AT+CIPSEND`): every byte goes to the peer until `+++`
 *   arrives as a packet of its own, 20 ms of silence on both sides, and the firmware wants 1 s
 *   before the next command.
 *
 * Filler bytes go to whatever peer the earlier host had connected: that connection is already
 * lost to everyone, and start-up closes every link right after (startup.ts).
 */
import type { AtChannel } from './channel.js';

/** The longest payload any ESP-AT build waits for after `>` (v2.4+; 2048 before). */
const MAX_PENDING_PAYLOAD = 8192;
const CHUNK = 512;
/** `+++` guard time, ms: the firmware's 20 ms pattern timeout, with margin. */
const GUARD_MS = 40;
/** The firmware wants this long after `+++` before the next command, ms. */
const AFTER_ESCAPE_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Feeds a pending AT+CIPSEND its payload until the module speaks; true if it did. `baudRate`
 * paces the waits so each chunk has left the line before the answer is looked for.
 */
export async function fillPendingPayload(ch: AtChannel, baudRate: number, deadline: number): Promise<boolean> {
  const since = ch.lastInput;
  const filler = new Uint8Array(CHUNK).fill(0x30); // '0': no CR/LF, no escape, no `+`
  const chunkMs = Math.ceil((CHUNK * 10 * 1000) / baudRate);
  for (let sent = 0; sent <= MAX_PENDING_PAYLOAD && Date.now() < deadline; sent += CHUNK) {
    ch.writeRaw(filler);
    await sleep(chunkMs + 20);
    if (ch.lastInput > since) break;
  }
  ch.writeRaw(new TextEncoder().encode('\r\n'));
  await sleep(50);
  return ch.lastInput > since;
}

/** Leaves passthrough: `+++` alone between two silences, then the firmware's pause (if it fits before `deadline`). */
export async function escapePassthrough(ch: AtChannel, deadline: number): Promise<void> {
  if (deadline - Date.now() < GUARD_MS + AFTER_ESCAPE_MS + 100) return;
  await sleep(GUARD_MS);
  ch.writeRaw(new TextEncoder().encode('+++'));
  await sleep(AFTER_ESCAPE_MS);
}

/**
 * SLIP framing (RFC 1055) as used by the netcoproc RPC: END (0xC0) before and after every
 * frame, END inside a frame escaped as ESC ESC_END (DB DC), ESC as ESC ESC_ESC (DB DD).
 *
 * Both directions are pure: `encodeSlip` maps one frame to wire bytes, `SlipDecoder.push`
 * maps any chunking of wire bytes back to frames. No I/O, no timers.
 */
import { concatBytes } from './bytes.js';

export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

function countSpecials(data: Uint8Array): number {
  let n = 0;
  for (let i = data.indexOf(SLIP_END); i !== -1; i = data.indexOf(SLIP_END, i + 1)) n++;
  for (let i = data.indexOf(SLIP_ESC); i !== -1; i = data.indexOf(SLIP_ESC, i + 1)) n++;
  return n;
}

/**
 * Encodes one frame: `encodeSlip([01 c0 02 db])` → `c0 01 db dc 02 db dd c0`.
 * Copies runs between special bytes with `set`, so plain payloads cost one memcpy.
 */
export function encodeSlip(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + countSpecials(frame) + 2);
  out[0] = SLIP_END;
  let o = 1;
  let start = 0;
  while (start < frame.length) {
    const end = nextSpecial(frame, start);
    if (end === -1) {
      out.set(frame.subarray(start), o);
      o += frame.length - start;
      break;
    }
    out.set(frame.subarray(start, end), o);
    o += end - start;
    out[o++] = SLIP_ESC;
    out[o++] = frame[end] === SLIP_END ? SLIP_ESC_END : SLIP_ESC_ESC;
    start = end + 1;
  }
  out[o] = SLIP_END;
  return out;
}

function nextSpecial(data: Uint8Array, from: number): number {
  const a = data.indexOf(SLIP_END, from);
  const b = data.indexOf(SLIP_ESC, from);
  if (a === -1) return b;
  if (b === -1) return a;
  return Math.min(a, b);
}

/** What the decoder yields: a complete unescaped frame, or a reason a frame was dropped. */
export type SlipOutput =
  | { type: 'frame'; frame: Uint8Array }
  | { type: 'error'; code: 'oversize' | 'bad-escape'; dropped: number };

/**
 * Push-based SLIP decoder. Feed any chunks; complete frames come out in order. Empty frames
 * (END END) are skipped, so a leading END is harmless. Garbage before an END is dropped as
 * a frame that later fails its CRC; an oversize frame is discarded up to the next END, which
 * is where the stream resynchronises.
 *
 * ```ts
 * const d = new SlipDecoder(4096);
 * d.push(Uint8Array.of(0xc0, 0x01, 0xdb)); // → []
 * d.push(Uint8Array.of(0xdc, 0xc0));       // → [{ type: 'frame', frame: [01 c0] }]
 * ```
 */
export class SlipDecoder {
  private parts: Uint8Array[] = [];
  private size = 0;
  private oversize = false;

  /** @param maxFrame largest escaped frame body accepted (bytes between two ENDs). */
  constructor(readonly maxFrame: number) {}

  push(chunk: Uint8Array): SlipOutput[] {
    const out: SlipOutput[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const end = chunk.indexOf(SLIP_END, pos);
      if (end === -1) {
        this.collect(chunk.subarray(pos));
        break;
      }
      this.collect(chunk.subarray(pos, end));
      const result = this.finish();
      if (result) out.push(result);
      pos = end + 1;
    }
    return out;
  }

  /**
   * Bytes held for an unfinished frame: at most maxFrame, since an oversize frame's bytes are let
   * go as soon as it passes the limit (only their count is kept, for the error at its END).
   */
  get pending(): number {
    return this.oversize ? 0 : this.size;
  }

  private collect(part: Uint8Array): void {
    if (part.length === 0) return;
    this.size += part.length;
    if (this.oversize) return;
    if (this.size > this.maxFrame) {
      this.oversize = true;
      this.parts = [];
      return;
    }
    // Copy: the caller may reuse its chunk buffer (serialport and fs.read do).
    this.parts.push(new Uint8Array(part));
  }

  private finish(): SlipOutput | undefined {
    const size = this.size;
    const oversize = this.oversize;
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    this.oversize = false;
    if (oversize) return { type: 'error', code: 'oversize', dropped: size };
    if (size === 0) return undefined;
    const raw = parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts, size);
    const frame = unescapeInPlace(raw);
    return frame ? { type: 'frame', frame } : { type: 'error', code: 'bad-escape', dropped: size };
  }
}

/** Undoes the escapes in place (the result is never longer); undefined on a bad escape. */
function unescapeInPlace(raw: Uint8Array): Uint8Array | undefined {
  let esc = raw.indexOf(SLIP_ESC);
  if (esc === -1) return raw;
  let o = esc;
  let i = esc;
  while (esc !== -1) {
    if (esc > i) {
      raw.copyWithin(o, i, esc);
      o += esc - i;
    }
    const code = raw[esc + 1];
    if (code === SLIP_ESC_END) raw[o++] = SLIP_END;
    else if (code === SLIP_ESC_ESC) raw[o++] = SLIP_ESC;
    else return undefined;
    i = esc + 2;
    esc = raw.indexOf(SLIP_ESC, i);
  }
  raw.copyWithin(o, i);
  o += raw.length - i;
  return raw.subarray(0, o);
}

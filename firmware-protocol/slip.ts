/**
 * SLIP framing (RFC 1055) as used by the netcoproc RPC: END (0xC0) before and after every
 * frame, END inside a frame escaped as ESC ESC_END (DB DC), ESC as ESC ESC_ESC (DB DD).
 *
 * Both directions are pure: `encodeSlip` maps one frame to wire bytes, `SlipDecoder.push`
 * maps any chunking of wire bytes back to frames. No I/O, no timers.
 *
 * Both run at memory speed on bulk data: special bytes are found with memchr (`indexOfByte`),
 * runs between them are copied whole, and frames are cut from shared blocks (`ByteSlab`), not
 * allocated one by one (a fresh ArrayBuffer per frame cost more than the rest of the codec).
 */
import { type ByteAllocator, ByteSlab, indexOfByte } from './bytes.js';

export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

/**
 * Encoded frames go to a transport and are dropped once written: large shared blocks, unless the
 * caller passes its own allocator that reuses them once written (the host's ByteRing, the
 * emulator's RecyclingSlab).
 */
const wireSlab = new ByteSlab(256 * 1024, 32 * 1024);
/**
 * Decoded frames may be kept by a user (a received payload is a view into its frame): only small
 * ones share blocks, and small blocks, as Node's Buffer pool does (8 KiB).
 */
const frameSlab = new ByteSlab(8 * 1024, 512);

/** Offsets of the special bytes of the frame being encoded (reused: grows, never shrinks). */
let specials = new Int32Array(256);

/** Runs shorter than this are copied byte by byte: a subarray + set costs more for them. */
const SHORT_RUN = 32;

/** Records the offsets of every END and ESC in `data`, in order; returns how many. */
function findSpecials(data: Uint8Array): number {
  let n = 0;
  let end = indexOfByte(data, SLIP_END);
  let esc = indexOfByte(data, SLIP_ESC);
  while (end !== -1 || esc !== -1) {
    if (n === specials.length) {
      const grown = new Int32Array(n * 2);
      grown.set(specials);
      specials = grown;
    }
    // Each scan resumes past its own last match only, so every byte is scanned once per value.
    if (esc === -1 || (end !== -1 && end < esc)) {
      specials[n++] = end;
      end = indexOfByte(data, SLIP_END, end + 1);
    } else {
      specials[n++] = esc;
      esc = indexOfByte(data, SLIP_ESC, esc + 1);
    }
  }
  return n;
}

function copyRun(from: Uint8Array, start: number, end: number, to: Uint8Array, at: number): void {
  if (end - start < SHORT_RUN) for (let i = start; i < end; i++) to[at++] = from[i] as number;
  else to.set(from.subarray(start, end), at);
}

/**
 * Encodes one frame: `encodeSlip([01 c0 02 db])` → `c0 01 db dc 02 db dd c0`.
 * The result is a view into a shared block (its byteOffset may be > 0) and may be kept, or cut
 * from `into`, whose rules then say how long it may be kept. Every byte of it is written.
 */
export function encodeSlip(frame: Uint8Array, into: ByteAllocator = wireSlab): Uint8Array {
  const n = findSpecials(frame);
  const out = into.alloc(frame.length + n + 2);
  out[0] = SLIP_END;
  let o = 1;
  let start = 0;
  for (let k = 0; k < n; k++) {
    const at = specials[k] as number;
    copyRun(frame, start, at, out, o);
    o += at - start;
    out[o++] = SLIP_ESC;
    out[o++] = frame[at] === SLIP_END ? SLIP_ESC_END : SLIP_ESC_ESC;
    start = at + 1;
  }
  copyRun(frame, start, frame.length, out, o);
  out[out.length - 1] = SLIP_END;
  return out;
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
  /** The unfinished frame's bytes so far (escaped), in `held[0..size)`; grows up to maxFrame. */
  private held = new Uint8Array(0);
  private size = 0;
  private oversize = false;

  /** @param maxFrame largest escaped frame body accepted (bytes between two ENDs). */
  constructor(readonly maxFrame: number) {}

  push(chunk: Uint8Array): SlipOutput[] {
    const out: SlipOutput[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const end = indexOfByte(chunk, SLIP_END, pos);
      if (end === -1) {
        this.collect(chunk, pos, chunk.length);
        break;
      }
      const result = this.size === 0 && !this.oversize ? this.whole(chunk, pos, end) : this.finish(chunk, pos, end);
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

  /** A frame wholly inside one chunk: one copy, straight from the chunk. */
  private whole(chunk: Uint8Array, start: number, end: number): SlipOutput | undefined {
    const size = end - start;
    if (size === 0) return undefined;
    if (size > this.maxFrame) return { type: 'error', code: 'oversize', dropped: size };
    // Copy: the caller may reuse its chunk buffer (serialport and fs.read do).
    const raw = frameSlab.alloc(size);
    copyRun(chunk, start, end, raw, 0);
    return unescaped(raw);
  }

  private collect(chunk: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    this.size += n;
    if (this.oversize) return;
    if (this.size > this.maxFrame) {
      this.oversize = true;
      this.held = new Uint8Array(0);
      return;
    }
    if (this.size > this.held.length) {
      const grown = new Uint8Array(Math.min(this.maxFrame, Math.max(this.size, 2 * this.held.length, 256)));
      grown.set(this.held.subarray(0, this.size - n));
      this.held = grown;
    }
    copyRun(chunk, start, end, this.held, this.size - n);
  }

  /** The END that ends a frame begun in an earlier chunk. */
  private finish(chunk: Uint8Array, start: number, end: number): SlipOutput | undefined {
    this.collect(chunk, start, end);
    const size = this.size;
    const oversize = this.oversize;
    this.size = 0;
    this.oversize = false;
    if (oversize) return { type: 'error', code: 'oversize', dropped: size };
    if (size === 0) return undefined;
    const raw = frameSlab.alloc(size);
    raw.set(this.held.subarray(0, size));
    return unescaped(raw);
  }
}

function unescaped(raw: Uint8Array): SlipOutput {
  const frame = unescapeInPlace(raw);
  return frame ? { type: 'frame', frame } : { type: 'error', code: 'bad-escape', dropped: raw.length };
}

/** Undoes the escapes in place (the result is never longer); undefined on a bad escape. */
function unescapeInPlace(raw: Uint8Array): Uint8Array | undefined {
  let esc = indexOfByte(raw, SLIP_ESC);
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
    esc = indexOfByte(raw, SLIP_ESC, i);
  }
  raw.copyWithin(o, i);
  o += raw.length - i;
  return raw.subarray(0, o);
}

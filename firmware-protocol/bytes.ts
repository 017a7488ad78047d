/**
 * The one byte-array helper both sides share, so codecs, parsers and sockets do not each carry
 * their own copy loop.
 */

/**
 * The parts as one array: the only part itself when there is one (no copy), else one fresh copy.
 * `total` (the summed length) saves a pass when the caller already counted it.
 *
 * @example
 * concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)]); // Uint8Array [1, 2, 3]
 */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let size = total ?? 0;
  if (total === undefined) for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The parts in order with each run of consecutive parts shorter than `below` joined into one:
 * a stream write or push per small frame costs more than copying it, and copying a large one
 * costs more than its own write. Parts that sit side by side in one buffer (wire frames encoded
 * one after another from the same block, see slip.ts) are first joined as one view, without a
 * copy, whatever their size: over a pty each write is a syscall and a wake of the tty worker, and
 * every fresh array's bytes count toward V8's next full GC (docs/performance.md item 31). Used on
 * both sides (the host's outgoing frames, the in-process line's device output).
 *
 * @example
 * joinSmall([a2, b3, big9000, c1], 2048); // [a2+b3, big9000, c1]
 * joinSmall([block.subarray(0, 9000), block.subarray(9000, 9100)], 2048); // [block.subarray(0, 9100)]
 */
export function joinSmall(parts: readonly Uint8Array[], below: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  for (const p of joinAdjacent(parts)) {
    if (p.length < below) {
      run.push(p);
      runBytes += p.length;
      continue;
    }
    if (run.length > 0) out.push(concatBytes(run, runBytes));
    run = [];
    runBytes = 0;
    out.push(p);
  }
  if (run.length > 0) out.push(concatBytes(run, runBytes));
  return out;
}

/** Consecutive parts that are adjacent views of one buffer, as one view of it (no copy). */
export function joinAdjacent(parts: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let last: Uint8Array | undefined;
  for (const p of parts) {
    if (last && p.length > 0 && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
      last = new Uint8Array(last.buffer, last.byteOffset, last.length + p.length);
      out[out.length - 1] = last;
      continue;
    }
    out.push(p);
    last = p;
  }
  return out;
}

/**
 * Node's memchr-backed Buffer#indexOf, applied to any Uint8Array: 10-15x faster than
 * Uint8Array#indexOf on long runs (measured: 0.09 vs 1.3 µs for 4 KiB without a match).
 */
const memchr = Buffer.prototype.indexOf as (this: Uint8Array, value: number, byteOffset: number) => number;

/** The first `byte` at or after `from`, or -1. */
export function indexOfByte(data: Uint8Array, byte: number, from = 0): number {
  return from >= data.length ? -1 : memchr.call(data, byte, from);
}

/**
 * Short-lived byte arrays cut from shared blocks: a fresh ArrayBuffer costs 1-4 µs (its own
 * backing store, tracked by the GC) against ~0.05 µs for a view into a block, and the codecs
 * need one or two per frame. A block is freed once no array cut from it is reachable, so an
 * array kept long keeps its whole block alive: use large blocks only for arrays that are
 * dropped soon (wire bytes on their way out), small ones (like Node's 8 KiB Buffer pool) for
 * arrays a user may keep. Arrays above `largest` get their own buffer.
 *
 * @example
 * const slab = new ByteSlab(8192, 512);
 * const frame = slab.alloc(100); // zeroed, frame.byteOffset may be > 0
 */
export class ByteSlab {
  private block = new Uint8Array(0);
  private used = 0;

  constructor(
    readonly blockSize: number,
    readonly largest: number,
  ) {}

  alloc(n: number): Uint8Array {
    if (n > this.largest) return new Uint8Array(n);
    if (this.used + n > this.block.length) {
      // Zeroed (a few µs per block): a view's .buffer must never show another part of the heap.
      this.block = new Uint8Array(this.blockSize);
      this.used = 0;
    }
    const out = this.block.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

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
 * Node's memchr-backed Buffer#indexOf, applied to any Uint8Array: 10-15x faster than
 * Uint8Array#indexOf on long runs (measured: 0.09 vs 1.3 µs for 4 KiB without a match).
 */
const memchr = Buffer.prototype.indexOf as (this: Uint8Array, value: number, byteOffset: number) => number;

/** The first `byte` at or after `from`, or -1. */
export function indexOfByte(data: Uint8Array, byte: number, from = 0): number {
  return from >= data.length ? -1 : memchr.call(data, byte, from);
}

/**
 * Short-lived byte arrays cut from shared blocks: a fresh ArrayBuffer costs 3-4 µs (its own
 * backing store, tracked by the GC) against ~0.1 µs for a view into a block, and the codecs
 * need one or two per frame. A block is freed once no array cut from it is reachable, so an
 * array kept long keeps its block (at most `blockSize`) alive: arrays above `largest` get their
 * own buffer, where that overhead is small anyway.
 *
 * @example
 * const slab = new ByteSlab();
 * const frame = slab.alloc(1034); // zeroed, frame.byteOffset may be > 0
 */
export class ByteSlab {
  private block = new Uint8Array(0);
  private used = 0;

  constructor(
    readonly blockSize = 64 * 1024,
    readonly largest = 8 * 1024,
  ) {}

  alloc(n: number): Uint8Array {
    if (n > this.largest) return new Uint8Array(n);
    if (this.used + n > this.block.length) {
      this.block = new Uint8Array(this.blockSize);
      this.used = 0;
    }
    const out = this.block.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

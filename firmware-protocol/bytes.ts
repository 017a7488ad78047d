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
 *
 * `copied` is told of every part (or adjacent run of parts, as one view) whose bytes went into a
 * joined copy: the result no longer refers to it (a RecyclingSlab's owner reports it done).
 */
export function joinSmall(
  parts: readonly Uint8Array[],
  below: number,
  copied?: (part: Uint8Array) => void,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length === 0) return;
    out.push(concatBytes(run, runBytes));
    if (copied && run.length > 1) for (const p of run) copied(p);
    run = [];
    runBytes = 0;
  };
  for (const p of joinAdjacent(parts)) {
    if (p.length < below) {
      run.push(p);
      runBytes += p.length;
      continue;
    }
    endRun();
    out.push(p);
  }
  endRun();
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
export class ByteSlab implements ByteAllocator {
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

/** Where encoded bytes are cut from: a {@link ByteSlab}, a {@link ByteRing}, or anything alike. */
export interface ByteAllocator {
  alloc(n: number): Uint8Array;
}

/**
 * Byte arrays cut in turn from one buffer that is used again once they are released, for bytes
 * whose end of life the owner learns in order (wire frames a transport has finished writing).
 * Fresh arrays, even cut from large blocks, are what paces V8's full GCs on a bulk transfer: every
 * fresh ArrayBuffer byte counts toward the next Mark-Compact until a GC frees it (docs/performance.md
 * items 31-32). An array that does not fit in the free part comes fresh, so the ring never blocks
 * and never hands out bytes still in use. Pure bookkeeping: `mark` before handing a batch on,
 * `release(mark)` when all of it is done.
 *
 * @example
 * const ring = new ByteRing(65536);
 * const a = ring.alloc(100), b = ring.alloc(200); // views into the ring
 * const mark = ring.mark;                          // a and b go to the transport…
 * ring.release(mark);                              // …which is done with them: their bytes are reused
 */
export class ByteRing implements ByteAllocator {
  private readonly ring: Uint8Array;
  /** Bytes handed out (and skipped at the end of the ring) since creation; ring offset = this % size. */
  private allocated = 0;
  private released = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`ByteRing size must be a positive integer, not ${size}`);
    this.ring = new Uint8Array(size);
  }

  alloc(n: number): Uint8Array {
    let at = this.allocated % this.size;
    if (this.allocated === this.released && at !== 0) {
      // Nothing in use: start again at the ring's start (counters only grow, so older marks stay valid).
      this.allocated = this.released = this.allocated + this.size - at;
      at = 0;
    }
    // An array never wraps: the end of the ring is skipped (and counted as in use) when n does not fit.
    const skip = at + n > this.size ? this.size - at : 0;
    if (skip + n > this.size - (this.allocated - this.released)) return new Uint8Array(n);
    if (skip > 0) at = 0;
    this.allocated += skip + n;
    return this.ring.subarray(at, at + n);
  }

  /** The position after everything handed out so far. */
  get mark(): number {
    return this.allocated;
  }

  /** Everything handed out before `mark` was read is no longer used: its bytes may be handed out again. */
  release(mark: number): void {
    if (mark > this.released) this.released = Math.min(mark, this.allocated);
  }

  /** Bytes of the ring in use (handed out, not released). */
  get inUse(): number {
    return this.allocated - this.released;
  }
}

interface SlabBlock {
  readonly bytes: Uint8Array;
  used: number;
  /** Bytes cut from it and not reported done yet. */
  outstanding: number;
}

/**
 * Byte arrays cut from blocks that are cut from again once every array taken from them has been
 * reported done (`done(view)`, in any order, whole or in pieces): for bytes that pass through
 * queues whose order the owner does not control (the device's output, where acknowledgements
 * overtake frames, and a line that joins small chunks by copying them). Fresh arrays are what
 * paces V8's full GCs on a bulk transfer (docs/performance.md item 32). A block with bytes out is
 * never cut from again; with no block free a new one is made, and past `maxBlocks` the new ones are
 * left to the GC. Every byte handed out must be reported done exactly once, or its block is never
 * reused (a missing report only costs memory; a second one would free bytes still in use).
 *
 * @example
 * const slab = new RecyclingSlab(65536, 32768);
 * const a = slab.alloc(100);   // a view into a block
 * slab.done(a);                // its block may be cut from again
 */
export class RecyclingSlab implements ByteAllocator {
  private current: SlabBlock | undefined;
  private readonly blocks = new Map<ArrayBufferLike, SlabBlock>();
  private readonly free: SlabBlock[] = [];

  constructor(
    readonly blockSize: number,
    readonly largest: number,
    readonly maxBlocks = 8,
  ) {}

  alloc(n: number): Uint8Array {
    if (n > this.largest) return new Uint8Array(n);
    let b = this.current;
    // Nothing out: cut again from its start.
    if (b && b.outstanding === 0) b.used = 0;
    if (!b || b.used + n > b.bytes.length) {
      b = this.free.pop() ?? this.newBlock();
      b.used = 0;
      this.current = b;
    }
    const out = b.bytes.subarray(b.used, b.used + n);
    b.used += n;
    b.outstanding += n;
    return out;
  }

  /** `view` (an array this slab handed out, or part of one) is no longer used; others are ignored. */
  done(view: Uint8Array): void {
    const b = this.blocks.get(view.buffer);
    if (!b) return;
    b.outstanding -= view.length;
    if (b.outstanding <= 0 && b !== this.current) {
      b.outstanding = 0;
      this.free.push(b);
    }
  }

  private newBlock(): SlabBlock {
    const b: SlabBlock = { bytes: new Uint8Array(this.blockSize), used: 0, outstanding: 0 };
    if (this.blocks.size < this.maxBlocks) this.blocks.set(b.bytes.buffer, b);
    return b;
  }
}

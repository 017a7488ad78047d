/**
 * serialport's stream reads into a 64 KiB pool and pushes each read as a slice of it; a pool is
 * never used again once full, so every byte read costs a fresh ArrayBuffer byte, and those bytes
 * are what paces V8's full GCs on a bulk transfer (docs/performance.md items 31-32). A reader that
 * copies what it needs during its 'data' call (the SLIP client's decoder does) gives the slice
 * back here: when it is the last one read, the pool's next read goes where it was. Other
 * listeners run in that same 'data' call, before the next read, so they see the bytes intact;
 * what none may do is keep the chunk.
 */
import type { Duplex } from 'node:stream';

interface ReadPool extends Buffer {
  /** Bytes of the pool handed out (the next read goes here): @serialport/stream's own field. */
  used: number;
}

/**
 * A function that gives back a chunk `stream` pushed, or undefined when `stream` is not a
 * serialport stream whose pool this understands (then chunks stay the reader's to keep).
 */
export function lendReads(stream: Duplex): ((chunk: Uint8Array) => void) | undefined {
  const owner = stream as Duplex & { _pool?: unknown };
  if (!isPool(owner._pool) || !('_kMinPoolSpace' in owner)) return undefined;
  return (chunk) => {
    const pool = owner._pool;
    if (!isPool(pool) || chunk.buffer !== pool.buffer) return;
    // Only the newest slice, and only when the stream buffers nothing after it.
    if (chunk.byteOffset + chunk.length !== pool.byteOffset + pool.used || owner.readableLength > 0) return;
    pool.used -= chunk.length;
  };
}

function isPool(pool: unknown): pool is ReadPool {
  return Buffer.isBuffer(pool) && typeof (pool as Partial<ReadPool>).used === 'number';
}

/**
 * The receive and send buffers of every socket: bytes are pushed as they come and taken from the
 * front without copying more than the caller asks for (STYLE.md lesson 9: no per-byte work, no
 * whole-buffer concatenation per read), plus a FIFO of whole messages (datagrams).
 */
const EMPTY = new Uint8Array(0);

/**
 * @example
 * const q = new ByteQueue();
 * q.push(bytes('hel')); q.push(bytes('lo'));
 * q.take(4); // 'hell'; q.bytes === 1
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Bytes queued. */
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Up to `n` bytes from the front, left queued. */
  peek(n: number): Uint8Array {
    return this.copy(Math.min(n, this.bytes), false);
  }

  /** Up to `n` bytes from the front, removed. */
  take(n: number): Uint8Array {
    return this.copy(Math.min(n, this.bytes), true);
  }

  /** Offset of the first `byte` among the first `limit` bytes queued, or -1. */
  indexOf(byte: number, limit = this.bytes): number {
    let base = 0;
    for (let i = this.head; i < this.chunks.length && base < limit; i++) {
      const c = this.chunks[i]!;
      const at = c.subarray(0, Math.min(c.length, limit - base)).indexOf(byte);
      if (at >= 0) return base + at;
      base += c.length;
    }
    return -1;
  }

  /** Removes `n` bytes from the front. */
  drop(n: number): void {
    let left = Math.min(n, this.bytes);
    this.bytes -= left;
    while (left > 0) {
      const first = this.chunks[this.head]!;
      if (first.length <= left) {
        left -= first.length;
        this.chunks[this.head++] = EMPTY;
      } else {
        this.chunks[this.head] = first.subarray(left);
        left = 0;
      }
    }
    this.compact();
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.bytes = 0;
  }

  private copy(n: number, remove: boolean): Uint8Array {
    const first = this.chunks[this.head];
    if (n === 0 || !first) return EMPTY;
    // The common case — one chunk covers the request — needs no copy.
    const out = first.length >= n ? first.subarray(0, n) : this.gather(n);
    if (remove) this.drop(n);
    return out;
  }

  private gather(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = this.head; at < n; i++) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - at);
      out.set(k === c.length ? c : c.subarray(0, k), at);
      at += k;
    }
    return out;
  }

  private compact(): void {
    if (this.head === this.chunks.length) this.clear();
    else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

/** A first-in first-out queue of whole items (datagrams), O(1) at both ends. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) this.clear();
    else if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.clear();
    return all;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

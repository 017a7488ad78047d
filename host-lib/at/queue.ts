/**
 * A byte queue of chunks: bytes are pushed as they come and taken from the front without
 * copying more than the caller asks for (STYLE.md lesson 9: no per-byte work on data paths).
 */
const EMPTY = new Uint8Array(0);

/**
 * @example
 * const q = new SocketQueue();
 * q.push(bytes('hel')); q.push(bytes('lo'));
 * q.take(4); // 'hell'; q.bytes === 1
 */
export class SocketQueue {
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

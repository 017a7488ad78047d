/**
 * Device output waiting for the pty master: chunks in order, handed to write(2) in runs of up to
 * `stageSize` bytes. Several small chunks are joined in one staging buffer that lives as long as
 * the port, instead of a Buffer.concat per write: a flowing pty takes ~12 KiB before a write is
 * short, so the old concat allocated tens of KiB per wake and the process page-faulted them in
 * (perf, 32 MiB echo: ~1 in 10 of the emulator's page faults under the concat). A lone chunk
 * is written as it is. Pure bookkeeping, no I/O.
 *
 * ```ts
 * const box = new PtyOutbox();
 * box.push(a); box.push(b);
 * const run = box.next();          // a and b joined (or a alone if it is large)
 * box.consumed(write(fd, run));    // what the kernel took; the rest stays first in line
 * ```
 */
export class PtyOutbox {
  readonly #stage: Buffer;
  /** Staged bytes not yet written: `#stage[#start..#end)`; they go before any queued chunk. */
  #start = 0;
  #end = 0;
  #chunks: Uint8Array[] = [];
  #size = 0;

  /** @param done told of each queued chunk (or the part of one) once written, staged (copied) or cleared */
  constructor(
    readonly stageSize = 64 * 1024,
    private readonly done?: (chunk: Uint8Array) => void,
  ) {
    this.#stage = Buffer.allocUnsafe(stageSize);
  }

  /** Bytes waiting (staged and queued). */
  get size(): number {
    return this.#size;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  /** The next bytes to write, empty when nothing waits. Valid until the next push/next/consumed/clear. */
  next(): Uint8Array {
    const first = this.#chunks[0];
    if (this.#start === this.#end) {
      if (!first) return this.#stage.subarray(0, 0);
      if (this.#chunks.length === 1 || first.length >= this.stageSize) return first;
    }
    this.#fill();
    return this.#stage.subarray(this.#start, this.#end);
  }

  /** `n` bytes of the last {@link next} were written. */
  consumed(n: number): void {
    if (n <= 0) return;
    this.#size -= n;
    if (this.#start < this.#end) {
      this.#start += n;
      if (this.#start >= this.#end) this.#start = this.#end = 0;
      return;
    }
    const first = this.#chunks[0] as Uint8Array;
    if (n >= first.length) {
      this.#chunks.shift();
      this.done?.(first);
    } else {
      this.#chunks[0] = first.subarray(n);
      this.done?.(first.subarray(0, n));
    }
  }

  /** Drops everything (the host went away). */
  clear(): void {
    if (this.done) for (const c of this.#chunks) this.done(c);
    this.#chunks = [];
    this.#start = this.#end = 0;
    this.#size = 0;
  }

  /** Moves queued chunks behind the staged bytes, which first move to the front. */
  #fill(): void {
    if (this.#start > 0) {
      this.#stage.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#chunks.length > 0 && this.#end < this.stageSize) {
      const chunk = this.#chunks[0] as Uint8Array;
      const n = Math.min(chunk.length, this.stageSize - this.#end);
      const part = n === chunk.length ? chunk : chunk.subarray(0, n);
      this.#stage.set(part, this.#end);
      this.#end += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
      this.done?.(part);
    }
  }
}

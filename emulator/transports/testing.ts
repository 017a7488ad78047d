/**
 * Helpers for transport tests and smoke checks: a loopback "device", a byte pattern, a bounded read.
 */
import type { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';

/** Echoes each written chunk on its readable side; a full readable buffer holds the write back. */
class LoopbackUart extends Duplex {
  #pending: (() => void) | null = null;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.push(chunk)) callback();
    else this.#pending = callback; // released by _read once the reader caught up
  }

  override _read(): void {
    const pending = this.#pending;
    this.#pending = null;
    pending?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.push(null);
    callback();
  }
}

/**
 * Creates a UART Duplex that echoes what the host writes, with backpressure both ways.
 *
 * @example
 * ```ts
 * const pty = await openPty(createLoopbackUart());   // picocom pty.path echoes what you type
 * ```
 */
export function createLoopbackUart(): Duplex {
  return new LoopbackUart();
}

/**
 * `length` bytes where byte i = i & 0xff: every value 0x00–0xFF, including the ones ttys and
 * framings like to eat (03, 0A, 0D, 11, 13, 7F, C0, DB, FF).
 *
 * @example
 * ```ts
 * bytePattern(4);   // <Buffer 00 01 02 03>
 * ```
 */
export function bytePattern(length: number): Buffer {
  const one = Buffer.allocUnsafe(256);
  for (let i = 0; i < 256; i++) one[i] = i;
  const out = Buffer.allocUnsafe(length);
  for (let offset = 0; offset < length; offset += 256) one.copy(out, offset, 0, Math.min(256, length - offset));
  return out;
}

/** Bytes gathered from a source's 'data' events; see {@link collect}. */
export interface Collector {
  /** Bytes received so far. */
  readonly length: number;
  /** Resolves once at least `n` bytes arrived; rejects after `timeoutMs` saying how many did. */
  until(n: number, timeoutMs: number): Promise<void>;
  /** Everything received, as one Buffer. */
  take(): Buffer;
  /** Removes the listener. */
  stop(): void;
}

/**
 * Starts gathering the 'data' events of `source` (a stream, a SerialPort). One `until` wait at a time.
 *
 * @example
 * ```ts
 * const rx = collect(port);
 * port.write(request);
 * await rx.until(4, 1000);
 * ```
 */
export function collect(source: EventEmitter): Collector {
  const chunks: Buffer[] = [];
  let length = 0;
  let waiter: { n: number; wake: () => void } | null = null;
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    if (waiter && length >= waiter.n) waiter.wake();
  };
  source.on('data', onData);
  return {
    get length() {
      return length;
    },
    until: (n, timeoutMs) =>
      new Promise((resolve, reject) => {
        if (length >= n) return resolve();
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`timeout: ${length} of ${n} bytes after ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          n,
          wake: () => {
            waiter = null;
            clearTimeout(timer);
            resolve();
          },
        };
      }),
    take: () => Buffer.concat(chunks, length),
    stop: () => source.off('data', onData),
  };
}

/**
 * Collects exactly `length` bytes from `source`, or rejects after `timeoutMs` saying how many
 * arrived. More bytes than expected is an error too.
 *
 * @example
 * ```ts
 * const echoed = readBytes(socket, 1024, 2000);
 * socket.write(bytePattern(1024));
 * expect((await echoed).equals(bytePattern(1024))).toBe(true);
 * ```
 */
export async function readBytes(source: EventEmitter, length: number, timeoutMs: number): Promise<Buffer> {
  const rx = collect(source);
  try {
    await rx.until(length, timeoutMs);
  } finally {
    rx.stop();
  }
  if (rx.length > length) throw new Error(`expected ${length} bytes, got ${rx.length}`);
  return rx.take();
}

/** Index of the first differing byte, or -1: makes a failed 1 MiB comparison readable. */
export function firstMismatch(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 4096) {
    const end = Math.min(i + 4096, n);
    if (a.compare(b, i, end, i, end) !== 0) {
      for (let j = i; j < end; j++) if (a[j] !== b[j]) return j;
    }
  }
  return n;
}

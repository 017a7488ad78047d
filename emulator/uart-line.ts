/**
 * The in-process UART as a line: what the device sends reaches the host on a later turn of the
 * event loop, as over any real transport (pty, TCP, a serial port), never inside the host's own
 * write. Without it an in-process board answers a whole request synchronously, so a client that
 * finishes bookkeeping on setImmediate (undici returns a kept-alive connection to its pool so)
 * never sees that turn between two requests, and timers starve during a long transfer.
 * Host writes still go straight in; backpressure passes through both ways.
 */
import { Duplex } from 'node:stream';

type Pending = { kind: 'data'; chunk: Uint8Array } | { kind: 'end' } | { kind: 'close'; err: Error | null };

class LineUart extends Duplex {
  readonly #uart: Duplex;
  /** Device output (and its end/close) not yet delivered, in order: flushed together on one turn. */
  #pending: Pending[] = [];
  #scheduled = false;
  readonly #onData = (chunk: Uint8Array): void => this.#queue({ kind: 'data', chunk });
  readonly #onEnd = (): void => this.#queue({ kind: 'end' });
  readonly #onClose = (): void => this.#queue({ kind: 'close', err: null });
  readonly #onError = (err: Error): void => this.#queue({ kind: 'close', err });

  constructor(uart: Duplex) {
    super({ allowHalfOpen: true, readableHighWaterMark: uart.readableHighWaterMark });
    this.#uart = uart;
    uart.on('data', this.#onData);
    uart.on('end', this.#onEnd);
    uart.on('close', this.#onClose);
    uart.on('error', this.#onError);
  }

  #queue(p: Pending): void {
    this.#pending.push(p);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    let room = true;
    for (const p of batch) {
      if (this.destroyed) return;
      if (p.kind === 'data') room = this.push(p.chunk);
      else if (p.kind === 'end') this.push(null);
      else this.destroy(p.err ?? undefined);
    }
    // Over the mark: the device waits until the host reads (_read resumes it).
    if (!room) this.#uart.pause();
  };

  override _read(): void {
    this.#uart.resume();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#uart.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#uart.end(callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#uart.off('data', this.#onData);
    this.#uart.off('end', this.#onEnd);
    this.#uart.off('close', this.#onClose);
    this.#uart.off('error', this.#onError);
    this.#pending = [];
    callback(error);
  }
}

/** Wraps the emulator's UART so device output is delivered asynchronously; destroying it leaves `uart` to its owner. */
export function asLine(uart: Duplex): Duplex {
  return new LineUart(uart);
}

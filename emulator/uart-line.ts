/**
 * The in-process UART as a line: what the device sends reaches the host on a later turn of the
 * event loop, as over any real transport (pty, TCP, a serial port), never inside the host's own
 * write. Without it an in-process board answers a whole request synchronously, so a client that
 * finishes bookkeeping on setImmediate (undici returns a kept-alive connection to its pool so)
 * never sees that turn between two requests, and timers starve during a long transfer.
 * Host writes still go straight in; backpressure passes through both ways.
 */
import { Duplex } from 'node:stream';
import { joinSmall } from '../firmware-protocol/index.js';

/** Device output one event-loop turn may carry before the device is paused. */
const TURN_BYTES = 64 * 1024;
/**
 * Consecutive chunks below this size are delivered as one: the device pushes a frame per chunk,
 * and a window of small responses (16 SEND answers) cost the host 16 stream pushes and decoder
 * passes per turn. Large chunks (DATA) go as they are: copying them would cost more than it saves.
 */
const SMALL_CHUNK = 2048;

type Pending = { kind: 'data'; chunk: Uint8Array } | { kind: 'end' } | { kind: 'close'; err: Error | null };

class LineUart extends Duplex {
  readonly #uart: Duplex;
  /** Device output (and its end/close) not yet delivered, in order: flushed together on one turn. */
  #pending: Pending[] = [];
  #scheduled = false;
  /** Bytes in #pending: counted against the mark at once, so a burst in one turn still meets backpressure. */
  #pendingBytes = 0;
  readonly #onData = (chunk: Uint8Array): void => {
    this.#pendingBytes += chunk.length;
    this.#queue({ kind: 'data', chunk });
    if (this.#pendingBytes + this.readableLength >= this.readableHighWaterMark) this.#uart.pause();
  };
  readonly #onEnd = (): void => this.#queue({ kind: 'end' });
  readonly #onClose = (): void => this.#queue({ kind: 'close', err: null });
  readonly #onError = (err: Error): void => this.#queue({ kind: 'close', err });

  constructor(uart: Duplex) {
    // One turn carries up to this much device output: enough that a download is not paced per turn.
    super({ allowHalfOpen: true, readableHighWaterMark: Math.max(uart.readableHighWaterMark, TURN_BYTES) });
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
    this.#pendingBytes = 0;
    let room = true;
    let data: Uint8Array[] = [];
    const pushData = (): void => {
      for (const chunk of joinSmall(data, SMALL_CHUNK)) {
        if (this.destroyed) return;
        room = this.push(chunk);
      }
      data = [];
    };
    for (const p of batch) {
      if (p.kind === 'data') {
        data.push(p.chunk);
        continue;
      }
      pushData();
      if (this.destroyed) return;
      if (p.kind === 'end') this.push(null);
      else this.destroy(p.err ?? undefined);
    }
    pushData();
    if (this.destroyed) return;
    // Under the mark again: the device may go on (over it, _read resumes it once the host reads).
    if (room) this.#uart.resume();
    else this.#uart.pause();
  };

  override _read(): void {
    this.#uart.resume();
  }

  /** Straight in, in the caller's turn (the UART's own callback may come later); waits only when the device is full. */
  override _write(chunk: Uint8Array, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#uart.write(chunk)) callback();
    else this.#uart.once('drain', () => callback());
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
    this.#pendingBytes = 0;
    callback(error);
  }
}

/** Wraps the emulator's UART so device output is delivered asynchronously; destroying it leaves `uart` to its owner. */
export function asLine(uart: Duplex): Duplex {
  return new LineUart(uart);
}

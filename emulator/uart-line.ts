/**
 * The in-process UART as a line: what the device sends reaches the host on `process.nextTick`,
 * never inside the host's own write, so a request's answer never re-enters the code that wrote
 * it, and after what the device queued on nextTick before it (stream write callbacks: a socket's
 * byte counts are final when its echo arrives). Not on a later turn of the event loop: a turn
 * (an epoll_wait, the timers, the check phase) was most of an in-process round trip. Two things
 * need the loop to turn, and get it:
 * - timers and I/O: a host and device that answer each other in ticks and promise jobs alone never
 *   let the loop turn; once the line has gone TURN_MS without a turn, device output waits for the
 *   next check phase (a long transfer or a loop of requests lets timers run at least that often);
 * - Node clients (undici returns a kept-alive connection to its pool, and checks an idle one
 *   before reuse, on setImmediate): the Node-facing streams of host-lib (node/net-socket.ts,
 *   duplex.ts) hand received bytes on after a check phase, as a Node socket reads in an I/O
 *   callback (docs/performance.md "In-process per-frame costs" item 10).
 * Host writes still go straight in; backpressure passes through both ways.
 */
import { Duplex } from 'node:stream';
import { joinSmall } from '../firmware-protocol/index.js';

/** Device output one delivery may carry before the device is paused. */
const TURN_BYTES = 64 * 1024;
/**
 * Consecutive chunks below this size are delivered as one: the device pushes a frame per chunk,
 * and a window of small responses (16 SEND answers) cost the host 16 stream pushes and decoder
 * passes per turn. Large chunks (DATA) go as they are: copying them would cost more than it saves.
 */
const SMALL_CHUNK = 2048;
/** Longest run of deliveries without a turn of the loop, ms, before device output waits for one. */
const TURN_MS = 1;

type Pending = { kind: 'data'; chunk: Uint8Array } | { kind: 'end' } | { kind: 'close'; err: Error | null };

class LineUart extends Duplex {
  readonly #uart: Duplex;
  /** Device output (and its end/close) not yet delivered, in order: flushed together in one delivery. */
  #pending: Pending[] = [];
  #scheduled = false;
  /** A setImmediate is pending (it flushes, if output waits for it); since when, performance.now(). */
  #turnPending = false;
  #turnAskedAt = 0;
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

  /** Output only on turns of the loop (joined per turn), never on nextTick. */
  readonly #perTurn: boolean;
  /** Told of device output joined into a copy (the device may reuse its memory, see asLine). */
  readonly #copied: ((part: Uint8Array) => void) | undefined;

  constructor(uart: Duplex, perTurn: boolean, copied?: (part: Uint8Array) => void) {
    // One delivery carries up to this much device output: enough that a download is not paced per delivery.
    super({ allowHalfOpen: true, readableHighWaterMark: Math.max(uart.readableHighWaterMark, TURN_BYTES) });
    this.#uart = uart;
    this.#perTurn = perTurn;
    this.#copied = copied;
    uart.on('data', this.#onData);
    uart.on('end', this.#onEnd);
    uart.on('close', this.#onClose);
    uart.on('error', this.#onError);
  }

  #queue(p: Pending): void {
    this.#pending.push(p);
    if (this.#scheduled) return;
    this.#scheduled = true;
    const now = this.#perTurn ? 0 : performance.now();
    if (!this.#turnPending) {
      this.#turnPending = true;
      this.#turnAskedAt = now;
      setImmediate(this.#onTurn);
    }
    // Once per turn by choice, or the loop has not turned for TURN_MS: the output waits for the turn.
    if (this.#perTurn || now - this.#turnAskedAt >= TURN_MS) return;
    process.nextTick(this.#flush);
  }

  /** The loop turned: output held back for it goes now (none waits when a tick took it). */
  readonly #onTurn = (): void => {
    this.#turnPending = false;
    if (this.#scheduled) this.#flush();
  };

  readonly #flush = (): void => {
    if (!this.#scheduled) return;
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    let room = true;
    let data: Uint8Array[] = [];
    const pushData = (): void => {
      for (const chunk of joinSmall(data, SMALL_CHUNK, this.#copied)) {
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

/**
 * Wraps the emulator's UART so device output is delivered asynchronously; destroying it leaves
 * `uart` to its owner. `perTurn`: deliver only on turns of the loop, a turn's output joined, for a
 * UART served over a pty or a socket (there the turn is free: the check phase follows the poll
 * phase that brought the host's bytes, and a write per turn is a syscall per turn). `copied` is
 * told of each chunk of device output whose bytes went into a joined copy (the others are passed on
 * as they are).
 */
export function asLine(uart: Duplex, perTurn = false, copied?: (part: Uint8Array) => void): Duplex {
  return new LineUart(uart, perTurn, copied);
}

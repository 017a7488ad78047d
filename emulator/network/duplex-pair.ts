/**
 * An in-memory connected pair of Duplex streams: what one end writes, the other reads. It
 * models a TCP connection inside the virtual network (Node 20 has no `stream.duplexPair`).
 *
 * - Backpressure: a write is acknowledged only once the peer's readable buffer is below its
 *   highWaterMark, so a writer sees `write() === false` while the reader lags, as with a socket.
 * - Half-close: `end()` on one end is a FIN: the peer gets 'end' after reading all earlier data,
 *   and may keep writing (allowHalfOpen).
 * - Reset: `destroy(err)`, or `destroy()` before our FIN or with data lost in either direction,
 *   is a RST: the peer fails with `NetError('ECONNRESET')`. A `destroy()` after a clean FIN
 *   with nothing lost is a normal close; only the peer's later writes fail with ECONNRESET.
 *
 * Chunks are passed by reference, never copied or split, like any Node stream: do not mutate
 * a buffer after writing it.
 */
import { Duplex } from 'node:stream';
import { NetError } from './net-error.js';

type WriteCallback = (error?: Error | null) => void;

/** Options for `duplexPair`. */
export interface DuplexPairOptions {
  /** Bytes buffered per direction before writes report backpressure (default 16 KiB, like Node sockets). */
  highWaterMark?: number;
}

function resetError(): NetError {
  return new NetError('ECONNRESET', 'connection reset by peer');
}

class PairEnd extends Duplex {
  peer!: PairEnd;
  /** The callback of our last write, held while the peer's readable buffer is full. */
  private heldWrite: WriteCallback | null = null;
  /** The peer closed after a clean FIN; anything we send now would be answered by a RST. */
  private peerClosed = false;

  constructor(highWaterMark: number) {
    super({ allowHalfOpen: true, highWaterMark });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    if (this.peerClosed || this.peer.destroyed) {
      callback(resetError());
      return;
    }
    if (this.peer.push(chunk)) callback();
    else this.heldWrite = callback;
  }

  /** Our reader wants more, so the peer's held write may complete. */
  override _read(): void {
    this.peer.releaseWrite();
  }

  override _final(callback: WriteCallback): void {
    if (!this.peer.destroyed) this.peer.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: WriteCallback): void {
    this.heldWrite = null;
    const peer = this.peer;
    if (!peer.destroyed) {
      if (error !== null || this.losesData()) peer.destroy(resetError());
      else peer.markPeerClosed();
    }
    callback(error);
  }

  releaseWrite(): void {
    const callback = this.heldWrite;
    this.heldWrite = null;
    callback?.();
  }

  private markPeerClosed(): void {
    this.peerClosed = true;
    // A write waiting for us to read can never complete now.
    const callback = this.heldWrite;
    this.heldWrite = null;
    callback?.(resetError());
  }

  /** Closing now would drop bytes: our FIN is not out, or the peer's data is still unread. */
  private losesData(): boolean {
    return !this.writableFinished || this.readableLength > 0 || this.peer.writableLength > 0;
  }
}

/**
 * Creates two connected Duplex ends.
 *
 * @example
 * const [device, service] = duplexPair();
 * service.pipe(service);                     // an echo service
 * device.end(Buffer.from('ping'));
 * for await (const chunk of device) console.log(chunk.toString()); // 'ping'
 */
export function duplexPair(options: DuplexPairOptions = {}): [Duplex, Duplex] {
  const hwm = options.highWaterMark ?? 16 * 1024;
  const a = new PairEnd(hwm);
  const b = new PairEnd(hwm);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

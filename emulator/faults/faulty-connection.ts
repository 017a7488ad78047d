/**
 * A device TCP connection with network faults: latency and jitter on the data both ways (order
 * kept), and a RST from the peer, either after a set number of bytes towards the device (those
 * bytes are delivered first, then the device sees ECONNRESET) or at once via reset().
 *
 * It wraps the Duplex the virtual network returned and is itself the Duplex the device socket
 * uses, so the socket table never knows faults exist.
 *
 * ```ts
 * const conn = new FaultyConnection(await core.connectFrom(src, ip, 7), { latencyMs: 20, resetAfterBytes: 100 }, rng, onRst);
 * ```
 */
import { Duplex } from 'node:stream';
import { NetError } from '../network/index.js';
import type { Random } from '../random.js';
import { ReleaseQueue } from './release-queue.js';

export interface ConnectionFaults {
  latencyMs?: number;
  jitterMs?: number;
  /** RST after this many bytes towards the device. */
  resetAfterBytes?: number;
}

type InItem = { bytes: Uint8Array } | { end: true } | { error: Error } | { reset: true };
type OutItem = { bytes: Uint8Array } | { end: () => void };

/** Outbound bytes held by the latency before the device's writes are held back. */
const OUT_LIMIT = 64 * 1024;

function resetError(why: string): NetError {
  return new NetError('ECONNRESET', `connection reset by peer (${why})`);
}

export class FaultyConnection extends Duplex {
  readonly #inner: Duplex;
  readonly #faults: ConnectionFaults;
  readonly #random: Random;
  readonly #toDevice: ReleaseQueue<InItem>;
  readonly #toPeer: ReleaseQueue<OutItem>;
  #heldWrite: ((err?: Error | null) => void) | null = null;
  /** Bytes received from the peer so far (the offset of a RST). */
  received = 0;
  #resetting = false;
  #resetPending = false;

  constructor(
    inner: Duplex,
    faults: ConnectionFaults,
    random: Random,
    private readonly onRst: (offset: number) => void,
  ) {
    super({ allowHalfOpen: true });
    this.#inner = inner;
    this.#faults = faults;
    this.#random = random;
    const sizeOf = (i: OutItem): number => ('bytes' in i ? i.bytes.length : 0);
    this.#toDevice = new ReleaseQueue<InItem>((i) => this.#deliver(i));
    this.#toPeer = new ReleaseQueue<OutItem>(
      (i) => this.#send(i),
      sizeOf,
      () => this.#releaseWrite(),
    );
    inner.on('data', this.#onData);
    inner.on('end', () => this.#toDevice.add({ end: true }, this.#delay()));
    inner.on('error', (err: Error) => {
      if (!this.#resetting) this.#toDevice.add({ error: err }, this.#delay());
    });
  }

  /** The peer resets the connection now: what was still on its way is lost, the device sees ECONNRESET. */
  reset(): void {
    if (this.#resetting || this.destroyed) return;
    this.#resetting = true;
    this.#toDevice.clear();
    this.#inner.destroy(resetError('fault injection'));
    this.destroy(resetError('fault injection'));
  }

  readonly #onData = (chunk: Uint8Array): void => {
    if (this.#resetting) return;
    const limit = this.#faults.resetAfterBytes;
    if (limit !== undefined && this.received + chunk.length >= limit) {
      const head = chunk.subarray(0, limit - this.received);
      this.received = limit;
      this.#resetting = true;
      this.#inner.pause();
      this.onRst(limit);
      const delay = this.#delay();
      if (head.length > 0) this.#toDevice.add({ bytes: head }, delay);
      this.#toDevice.add({ reset: true }, delay);
      return;
    }
    this.received += chunk.length;
    this.#toDevice.add({ bytes: chunk }, this.#delay());
  };

  #deliver(i: InItem): void {
    if (this.destroyed) return;
    if ('bytes' in i) {
      if (!this.push(i.bytes)) this.#inner.pause();
    } else if ('end' in i) {
      this.push(null);
    } else if ('error' in i) {
      this.destroy(i.error);
    } else {
      // The peer's RST: it goes away at once; the device sees it after the bytes before it.
      this.#inner.destroy(resetError(`after ${this.received} bytes`));
      this.#resetPending = true;
      this.#finishReset();
    }
  }

  /**
   * Destroying discards unread bytes, so the error waits until the reader took them all. A paused
   * reader gives no signal when it drains, so look again shortly (only while a RST is pending).
   */
  readonly #finishReset = (): void => {
    if (!this.#resetPending || this.destroyed) return;
    if (this.readableLength === 0) this.destroy(resetError(`after ${this.received} bytes`));
    else setTimeout(this.#finishReset, 5).unref();
  };

  override _read(): void {
    if (!this.#resetting) this.#inner.resume();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const delay = this.#delay();
    if (delay === 0 && this.#toPeer.pending === 0) {
      // No latency: the network's own write callback, so write errors reach the sender.
      this.#inner.write(chunk, cb);
      return;
    }
    this.#toPeer.add({ bytes: chunk }, delay);
    if (this.#toPeer.pending < OUT_LIMIT) cb();
    else this.#heldWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#toPeer.add({ end: () => this.#inner.end(() => cb()) }, this.#delay());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#toDevice.clear();
    this.#toPeer.clear();
    this.#heldWrite = null;
    this.#inner.off('data', this.#onData);
    this.#inner.on('error', () => {});
    if (!this.#inner.destroyed) this.#inner.destroy(err ?? undefined);
    cb(err);
  }

  #send(i: OutItem): void {
    // end() on a destroyed stream still calls back (with an error), so _final always completes.
    if ('end' in i) i.end();
    else if (!this.#inner.destroyed) this.#inner.write(i.bytes);
  }

  #releaseWrite(): void {
    if (this.#heldWrite && this.#toPeer.pending < OUT_LIMIT) {
      const cb = this.#heldWrite;
      this.#heldWrite = null;
      cb();
    }
  }

  #delay(): number {
    const { latencyMs = 0, jitterMs = 0 } = this.#faults;
    return jitterMs > 0 ? latencyMs + this.#random.next() * jitterMs : latencyMs;
  }
}

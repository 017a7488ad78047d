/**
 * A transparent Duplex around a serial link that shows every chunk to an observer on its way
 * through: what the user of the tap writes (`'out'`) and what the link delivers (`'in'`).
 * Backpressure passes through both ways; errors, end and close of the link reach the tap.
 * Used by traces on both sides: host-lib taps its transport, the emulator its UART.
 */
import { Duplex } from 'node:stream';

export type TapObserver = (dir: 'in' | 'out', chunk: Uint8Array) => void;

export interface TapOptions {
  /** Destroying the tap destroys the link too (default true; false leaves the link to its owner). */
  destroyLink?: boolean;
}

class TappedLink extends Duplex {
  readonly #link: Duplex;
  readonly #observe: TapObserver;
  readonly #destroyLink: boolean;
  readonly #onData = (chunk: Uint8Array): void => {
    this.#observe('in', chunk);
    if (!this.push(chunk)) this.#link.pause();
  };
  readonly #onEnd = (): void => {
    this.push(null);
  };
  readonly #onClose = (): void => {
    this.destroy();
  };
  readonly #onError = (err: Error): void => {
    this.destroy(err);
  };

  constructor(link: Duplex, observe: TapObserver, opts: TapOptions) {
    super({ allowHalfOpen: true });
    this.#link = link;
    this.#observe = observe;
    this.#destroyLink = opts.destroyLink ?? true;
    link.on('data', this.#onData);
    link.on('end', this.#onEnd);
    link.on('close', this.#onClose);
    link.on('error', this.#onError);
  }

  override _read(): void {
    this.#link.resume();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#observe('out', chunk);
    this.#link.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#link.end(callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#link.off('data', this.#onData);
    this.#link.off('end', this.#onEnd);
    this.#link.off('close', this.#onClose);
    this.#link.off('error', this.#onError);
    if (this.#destroyLink) this.#link.destroy();
    callback(error);
  }
}

/**
 * @example
 * const stream = tapDuplex(port, (dir, chunk) => log(dir, chunk.length));
 * await SlipDriver.open(stream);
 */
export function tapDuplex(link: Duplex, observe: TapObserver, opts: TapOptions = {}): Duplex {
  return new TappedLink(link, observe, opts);
}

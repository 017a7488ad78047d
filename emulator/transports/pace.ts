/**
 * UART pacing: make bytes move at the speed of a real 8N1 line (baud / 10 bytes per second).
 *
 * A pty or a TCP socket moves bytes at memory speed whatever baud the host asks for, so an emulator
 * that must look like a 115200-baud UART (~11.5 KB/s) paces its own traffic here.
 */
import { Duplex, PassThrough, Transform, type TransformCallback } from 'node:stream';

/** Timer granularity: coarse ticks release the allowance accumulated since the last one (no per-byte timers). */
const TICK_MS = 4;
/**
 * An idle line saves nothing up (see _transform): a UART cannot send faster than its rate after a
 * pause. The pacer used to keep 10 ms, and that credit made the paced line faster than its rate at
 * every idle-to-busy edge: ESP-AT pauses 4-6 ms at each CIPSEND turnaround and got the pauses back (a
 * 5760-byte CIPSEND crossed a 115200 line in 490 ms where it needs 500), and a 16-byte SLIP frame
 * behind a 19200 line was acknowledged 7 ms after it was written (the line needs 8.3 ms), so the link
 * learnt a speed 19 % above the line's (docs/performance.md item 28). What a tick adds instead is
 * lateness, and short chunks avoid it: see #wait.
 */
/** A chunk written within this long of the last one's end found the line still busy, ms (see _transform). */
const PROMPT_MS = 1;
/**
 * While bytes wait, a real UART keeps shifting them out however busy its CPU is; so a timer that
 * fires late (a loaded machine, a GC pause) releases all the line time that passed, up to this much.
 * Capping that at a short burst made the paced figures measure the event loop's lateness, not the line.
 */
const CATCH_UP_MS = 250;

/** 8N1 = start bit + 8 data bits + stop bit: 10 bit times per byte. */
export function bytesPerSecond(baud: number): number {
  return baud / 10;
}

/**
 * A Transform that lets bytes through at `bytesPerSecond` using a token bucket refilled from the clock.
 * Order is kept; a chunk's write callback fires only once all of it went out, so writers see backpressure.
 */
class Pacer extends Transform {
  readonly #perMs: number;
  #tokens = 0;
  #last = performance.now();
  #chunk: Buffer | null = null;
  #offset = 0;
  #done: TransformCallback | null = null;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  /** When the last chunk was all sent (see _transform). */
  #doneAt = Number.NEGATIVE_INFINITY;

  constructor(rate: number) {
    // A UART's transmit buffer is small: a long one here would only delay what the device sends next.
    super({ writableHighWaterMark: 1024 });
    this.#perMs = rate / 1000;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (performance.now() - this.#doneAt > PROMPT_MS) {
      // The line was idle since the last chunk: nothing is saved.
      this.#tokens = 0;
      this.#last = performance.now();
    }
    // Else written as soon as the last chunk was done: the line did not pause, the tick did (the last
    // chunk ended inside it, and a UART would have gone on at once), so what it earned past that
    // chunk's end is this one's (#pump refills). Dropping it cost up to a tick per chunk (7-byte
    // writes: 8x slower).
    this.#chunk = chunk;
    this.#offset = 0;
    this.#done = callback;
    this.#pump();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#chunk = null;
    this.#done = null;
    callback(error);
  }

  /** Sends what the bucket allows now; waits again (#wait) if part of the chunk is still waiting. */
  readonly #pump = (): void => {
    this.#timer = undefined;
    this.#immediate = undefined;
    const chunk = this.#chunk;
    if (!chunk) return;
    this.#refill(this.#perMs * CATCH_UP_MS);
    const left = chunk.length - this.#offset;
    // What is left of a short chunk goes whole once earned (no extra write for a split).
    const n = this.#short(left) ? (this.#tokens >= left ? left : 0) : Math.min(Math.floor(this.#tokens), left);
    if (n > 0) {
      this.push(chunk.subarray(this.#offset, this.#offset + n));
      this.#offset += n;
      this.#tokens -= n;
    }
    if (this.#offset < chunk.length) {
      this.#wait(chunk.length - this.#offset);
      return;
    }
    const done = this.#done;
    this.#chunk = null;
    this.#done = null;
    this.#doneAt = performance.now();
    done?.();
  };

  /** At most a tick of line: sent whole when earned. */
  #short(bytes: number): boolean {
    return bytes <= this.#perMs * TICK_MS;
  }

  /**
   * Until `left` bytes (short) or the next tick's worth can go: a UART delivers a short message (an
   * AT command, a `>` prompt, an answer frame) at its line time, not at the next tick, so that wait is
   * timed to it (a loop turn when under 1 ms: sub-millisecond timers do not exist). At very low baud a
   * whole byte takes longer than a tick: sleep until it is earned.
   */
  #wait(left: number): void {
    const ms = this.#short(left)
      ? (left - this.#tokens) / this.#perMs
      : Math.max(TICK_MS, (1 - this.#tokens) / this.#perMs);
    if (ms < 1) this.#immediate = setImmediate(this.#pump);
    else this.#timer = setTimeout(this.#pump, Math.floor(ms));
  }

  #refill(cap: number): void {
    const now = performance.now();
    this.#tokens = Math.min(cap, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
  }
}

/**
 * Creates a Transform passing bytes through at `baud / 10` bytes per second (8N1).
 * `baud` 0 or undefined gives an unpaced PassThrough.
 *
 * @example
 * ```ts
 * const line = createPacer(115200);   // ~11.5 KB/s
 * line.pipe(socket);
 * line.write(Buffer.from('OK\r\n'));
 * ```
 */
export function createPacer(baud?: number): Transform {
  if (!baud) return new PassThrough();
  if (!Number.isFinite(baud) || baud < 0) throw new RangeError(`invalid baud rate: ${baud}`);
  return new Pacer(bytesPerSecond(baud));
}

/** The paced view of a UART: two independent pacers, one per direction. */
class PacedLine extends Duplex {
  readonly #uart: Duplex;
  readonly #toDevice: Transform;
  readonly #fromDevice: Transform;

  constructor(uart: Duplex, baud: number) {
    super();
    this.#uart = uart;
    this.#toDevice = createPacer(baud);
    this.#fromDevice = createPacer(baud);
    this.#toDevice.pipe(uart);
    uart.pipe(this.#fromDevice);
    this.#fromDevice.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.#fromDevice.pause();
    });
    this.#fromDevice.once('end', () => this.push(null));
  }

  override _read(): void {
    this.#fromDevice.resume();
  }

  /** Completes when the pacer has sent the chunk, so the writer feels the line's speed. */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#toDevice.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#toDevice.end(callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#toDevice.unpipe(this.#uart);
    this.#uart.unpipe(this.#fromDevice);
    this.#toDevice.destroy();
    this.#fromDevice.destroy();
    callback(error);
  }
}

/**
 * Wraps the emulated UART so both directions are paced independently, each at `baud / 10` B/s.
 * Returns `uart` itself when `baud` is 0/undefined.
 *
 * Ending the wrapper's writable side ends the UART's (like `pipe`); destroying the wrapper stops
 * pacing and detaches it from the UART but leaves the UART alive. UART errors stay on the UART.
 *
 * @example
 * ```ts
 * const line = paceDuplex(uart, 115200);
 * const tcp = await listenTcp(line, { port: 0 });
 * ```
 */
export function paceDuplex(uart: Duplex, baud?: number): Duplex {
  if (!baud) return uart;
  return new PacedLine(uart, baud);
}

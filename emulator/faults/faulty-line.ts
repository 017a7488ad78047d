/**
 * The faulty serial line: a Duplex placed between the personality's UART and the transports.
 * Host bytes written into it pass the host→device LineFaults and reach the UART; device bytes
 * pass the device→host LineFaults and are read from it. Latency, jitter and stalls delay bytes
 * in order (ReleaseQueue); backpressure holds both ways, as with paceDuplex.
 *
 * It also plays a hung device, since a hang is what the line shows: the device ignores input
 * and its output stops (the UART is not read, so the personality's own backpressure holds its
 * data in its sockets) until resumeDevice() or a power cycle, which discards what the frozen UART held.
 *
 * ```ts
 * const line = new FaultyLine(personality, toDevice, toHost, (t) => onTrigger(t));
 * const dev = await openDevice(line);
 * ```
 */
import { Duplex } from 'node:stream';
import type { LineFaults, LineTrigger } from './line-faults.js';
import { ReleaseQueue } from './release-queue.js';
import type { LineDir } from './scenario.js';

type Item = { bytes: Uint8Array } | { trigger: LineTrigger } | { end: () => void };

/** Bytes queued per direction before the writer (or the UART) is held back. */
const QUEUE_LIMIT = 64 * 1024;

const sizeOf = (i: Item): number => ('bytes' in i ? i.bytes.length : 0);

export class FaultyLine extends Duplex {
  readonly #uart: Duplex;
  readonly #faults: Record<LineDir, LineFaults>;
  readonly #queues: Record<LineDir, ReleaseQueue<Item>>;
  readonly #onTrigger: (t: LineTrigger) => void;
  #hung = false;
  #readerFull = false;
  #uartFull = false;
  #discarding = false;
  #heldWrite: ((err?: Error | null) => void) | null = null;
  /** Host bytes that reached the device while it was hung (ignored). */
  ignoredWhileHung = 0;

  constructor(uart: Duplex, toDevice: LineFaults, toHost: LineFaults, onTrigger: (t: LineTrigger) => void) {
    // A short readable buffer toward the host: device frames wait in the personality's queue, where
    // a resend still overtakes new frames; 64 KiB here delayed every resend by a window's line time.
    super({ readableHighWaterMark: 4 * 1024, writableHighWaterMark: 16 * 1024 });
    this.#uart = uart;
    this.#onTrigger = onTrigger;
    this.#faults = { hostToDevice: toDevice, deviceToHost: toHost };
    this.#queues = {
      hostToDevice: new ReleaseQueue<Item>(
        (i) => this.#toDevice(i),
        sizeOf,
        () => this.#released(),
      ),
      deviceToHost: new ReleaseQueue<Item>(
        (i) => this.#toHost(i),
        sizeOf,
        () => this.#released(),
      ),
    };
    uart.on('data', this.#onDeviceData);
    uart.once('end', () => this.#queues.deviceToHost.add({ end: () => this.push(null) }, 0));
  }

  /** The fault decisions of one direction. */
  faults(dir: LineDir): LineFaults {
    return this.#faults[dir];
  }

  get hung(): boolean {
    return this.#hung;
  }

  /** The device stops answering: input is ignored, output stops. */
  hangDevice(): void {
    this.#hung = true;
    this.#flow();
  }

  resumeDevice(): void {
    this.#hung = false;
    this.#flow();
  }

  /** Nothing moves in `dir` for `ms`; held bytes follow in order. */
  stall(dir: LineDir, ms: number): void {
    this.#queues[dir].stall(ms);
  }

  /**
   * Before a reboot: a hung device's frozen output is lost with the power; the line flows again.
   * Bytes already on the wire (in the queues) still arrive.
   */
  powerCycle(): void {
    if (this.#hung) {
      this.#discarding = true;
      while (this.#uart.read() !== null);
      this.#discarding = false;
    }
    this.resumeDevice();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#enqueue('hostToDevice', chunk);
    if (this.#mayWrite()) cb();
    else this.#heldWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#queues.hostToDevice.add(
      {
        end: () => {
          this.#uart.end();
          cb();
        },
      },
      0,
    );
  }

  override _read(): void {
    this.#readerFull = false;
    this.#flow();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#uart.off('data', this.#onDeviceData);
    this.#queues.hostToDevice.clear();
    this.#queues.deviceToHost.clear();
    this.#heldWrite = null;
    cb(err);
  }

  #enqueue(dir: LineDir, chunk: Uint8Array): void {
    const q = this.#queues[dir];
    for (const a of this.#faults[dir].push(chunk)) {
      if (a.type === 'data') q.add({ bytes: a.bytes }, a.delayMs);
      else q.add({ trigger: a.trigger }, 0);
    }
  }

  readonly #onDeviceData = (chunk: Uint8Array): void => {
    if (this.#discarding || this.destroyed) return;
    this.#enqueue('deviceToHost', chunk);
    this.#flow();
  };

  #toDevice(i: Item): void {
    if ('end' in i) {
      i.end();
      return;
    }
    if ('trigger' in i) {
      this.#run('hostToDevice', i.trigger);
      return;
    }
    if (this.#hung) {
      this.ignoredWhileHung += i.bytes.length;
      return;
    }
    if (!this.#uart.write(i.bytes) && !this.#uartFull) {
      this.#uartFull = true;
      this.#uart.once('drain', () => {
        this.#uartFull = false;
        this.#released();
      });
    }
  }

  #toHost(i: Item): void {
    if ('end' in i) {
      i.end();
      return;
    }
    if ('trigger' in i) {
      this.#run('deviceToHost', i.trigger);
      return;
    }
    if (!this.push(i.bytes)) {
      this.#readerFull = true;
      this.#flow();
    }
  }

  #run(dir: LineDir, t: LineTrigger): void {
    if (t.kind === 'stall') this.stall(dir, t.ms);
    else this.#onTrigger(t);
  }

  #mayWrite(): boolean {
    return this.#queues.hostToDevice.pending < QUEUE_LIMIT && !this.#uartFull;
  }

  #released(): void {
    if (this.#heldWrite && this.#mayWrite()) {
      const cb = this.#heldWrite;
      this.#heldWrite = null;
      cb();
    }
    this.#flow();
  }

  /** The UART is read only while the device runs, the host keeps up and the line is not backed up. */
  #flow(): void {
    if (this.destroyed) return;
    const hold = this.#hung || this.#readerFull || this.#queues.deviceToHost.pending >= QUEUE_LIMIT;
    if (hold) this.#uart.pause();
    else this.#uart.resume();
  }
}

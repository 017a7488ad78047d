/**
 * Shared by the transports: what the device sends goes to the attached host, or nowhere.
 */
import type { Duplex } from 'node:stream';

/** Host open/close notifications, the stand-in for DTR on transports without modem lines. */
export interface AttachEvents {
  /** A host opened the port (TCP client connected, pty slave opened). `peer` names it. */
  onAttach?: (peer: string) => void;
  /** That host went away (TCP client closed, last pty slave fd closed). */
  onDetach?: (peer: string) => void;
  /** A second host was refused (told busy) while one is attached (TCP-based transports). */
  onBusy?: (peer: string) => void;
}

/** Takes one chunk for the host; returns false when the host's buffer is full (resume later). */
export type HostSink = (chunk: Buffer) => boolean;

/** Per UART: the outputs reading it, and those whose host is full. The UART flows only when none is. */
interface Readers {
  all: Set<DeviceOutput>;
  blocked: Set<DeviceOutput>;
}
const readersOf = new WeakMap<Duplex, Readers>();

/**
 * Keeps the UART's readable side flowing and routes each chunk to the attached host's sink.
 * With no host attached the bytes are dropped, like a real UART nobody listens to; with one attached,
 * a full sink pauses the UART until {@link DeviceOutput.resume}.
 *
 * Several transports may read one UART (e.g. TCP and pty at once): each gets every chunk, and the
 * UART stays paused while any of their hosts is full, so one host's drain cannot overrun another.
 *
 * @example
 * ```ts
 * const out = new DeviceOutput(uart);
 * out.attach((chunk) => socket.write(chunk));
 * socket.on('drain', () => out.resume());
 * ```
 */
export class DeviceOutput {
  readonly #uart: Duplex;
  readonly #readers: Readers;
  #sink: HostSink | null = null;

  /** Told of device output dropped while no host is attached (see PtyOptions.outputDone). */
  readonly #dropped: ((chunk: Uint8Array) => void) | undefined;

  constructor(uart: Duplex, dropped?: (chunk: Uint8Array) => void) {
    this.#uart = uart;
    this.#dropped = dropped;
    let readers = readersOf.get(uart);
    if (!readers) {
      readers = { all: new Set(), blocked: new Set() };
      readersOf.set(uart, readers);
    }
    this.#readers = readers;
    readers.all.add(this);
    uart.on('data', this.#onData);
    // An explicit resume: a 'data' listener alone does not restart a UART someone paused before.
    if (readers.blocked.size === 0) uart.resume();
  }

  get attached(): boolean {
    return this.#sink !== null;
  }

  attach(sink: HostSink): void {
    this.#sink = sink;
  }

  /** Drops device output from now on; a UART paused for the old host flows again. */
  detach(): void {
    this.#sink = null;
    this.resume();
  }

  /** The host drained: let the UART flow again (unless another reader's host is still full). */
  resume(): void {
    this.#readers.blocked.delete(this);
    if (this.#readers.blocked.size === 0) this.#uart.resume();
  }

  /** Stops reading the UART; the last reader leaves it paused so nothing is lost to a missing listener. */
  close(): void {
    this.#sink = null;
    this.#uart.off('data', this.#onData);
    this.#readers.all.delete(this);
    if (this.#readers.all.size === 0) {
      this.#readers.blocked.clear();
      this.#uart.pause();
    } else {
      this.resume();
    }
  }

  readonly #onData = (chunk: Buffer): void => {
    if (!this.#sink) this.#dropped?.(chunk);
    else if (!this.#sink(chunk)) {
      this.#readers.blocked.add(this);
      this.#uart.pause();
    }
  };
}

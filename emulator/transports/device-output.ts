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
}

/** Takes one chunk for the host; returns false when the host's buffer is full (resume later). */
export type HostSink = (chunk: Buffer) => boolean;

/**
 * Keeps the UART's readable side flowing and routes each chunk to the attached host's sink.
 * With no host attached the bytes are dropped, like a real UART nobody listens to; with one attached,
 * a full sink pauses the UART until {@link DeviceOutput.resume}.
 *
 * One DeviceOutput (one transport) per UART: two would each get every chunk and fight over pause/resume.
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
  #sink: HostSink | null = null;

  constructor(uart: Duplex) {
    this.#uart = uart;
    uart.on('data', this.#onData);
    // An explicit resume: a 'data' listener alone does not restart a UART someone paused before.
    uart.resume();
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
    this.#uart.resume();
  }

  /** The host drained: let the UART flow again. */
  resume(): void {
    this.#uart.resume();
  }

  /** Stops reading the UART; it stays paused so nothing is lost to a missing listener. */
  close(): void {
    this.#sink = null;
    this.#uart.off('data', this.#onData);
    this.#uart.pause();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#sink && !this.#sink(chunk)) this.#uart.pause();
  };
}

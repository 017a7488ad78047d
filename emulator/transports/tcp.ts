/**
 * Raw TCP transport, like QEMU `-serial tcp::PORT,server,nowait`: the host (the host library,
 * pyserial `socket://`, nc, idf_monitor) connects and bytes flow untouched both ways.
 *
 * One host at a time (host-slot.ts). A client that arrives while one is attached waits up to
 * 0.5 s for it to hang up (a host that closes and reopens at once); a real second client then gets
 * a one-line note and is closed, rather than left waiting in the accept queue as QEMU does: a tool
 * pointed at a busy port fails fast with a reason instead of hanging. The UART outlives clients; device output while no
 * client is attached is dropped, like a real UART nobody listens to.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type AttachEvents, DeviceOutput } from './device-output.js';
import { type OneHostLine, serveLine } from './tcp-listener.js';

export { BUSY_NOTE } from './tcp-listener.js';

/** Options for {@link listenTcp}. */
export interface TcpOptions extends AttachEvents {
  /** Interface to listen on; default 127.0.0.1 (never all interfaces unless asked). */
  host?: string;
  /** Port; 0 or omitted picks a free one. */
  port?: number;
}

/** A listening TCP transport. */
export interface TcpTransport {
  readonly port: number;
  /** pyserial-style locator, e.g. `socket://127.0.0.1:41234`. */
  readonly url: string;
  /** True while a client is attached. */
  readonly attached: boolean;
  /** Hangs up on the attached client (like pulling the cable); false when none is attached. */
  dropHost(): boolean;
  /** Disconnects the client, stops listening and releases the UART. Idempotent. */
  close(): Promise<void>;
}

/** The UART's end of the line and the one attached client. */
class TcpLine implements OneHostLine {
  readonly #uart: Duplex;
  readonly #events: AttachEvents;
  readonly #out: DeviceOutput;
  #client: Socket | null = null;
  #peer = '';

  constructor(uart: Duplex, events: AttachEvents) {
    this.#uart = uart;
    this.#events = events;
    this.#out = new DeviceOutput(uart);
  }

  get attached(): boolean {
    return this.#client !== null;
  }

  /** Hangs up on the attached client (like pulling the cable); false when none is attached. */
  dropHost(): boolean {
    const client = this.#client;
    if (!client) return false;
    // The host slot sees the socket close and detaches it, as when the host hangs up itself.
    client.destroy();
    return true;
  }

  close(): void {
    if (this.#client) this.detach(this.#client);
    this.#out.close();
  }

  attach(socket: Socket): void {
    this.#client = socket;
    this.#peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true); // a UART has no Nagle: small replies must not wait
    socket.pipe(this.#uart, { end: false }); // host → device, pipe handles the UART's backpressure
    this.#out.attach((chunk) => socket.write(chunk)); // device → host
    socket.on('drain', () => this.#out.resume());
    this.#events.onAttach?.(this.#peer);
  }

  detach(socket: Socket): void {
    if (this.#client !== socket) return;
    this.#client = null;
    socket.unpipe(this.#uart);
    this.#out.detach();
    this.#events.onDetach?.(this.#peer);
  }
}

/**
 * Serves the emulated UART `uart` on a raw TCP port (host writes go into `uart`, what it emits goes
 * to the host). Resolves once listening.
 *
 * @example
 * ```ts
 * const tcp = await listenTcp(uart, { port: 0, onAttach: (peer) => log(`host ${peer}`) });
 * console.log(`listening ${tcp.url}`);   // listening socket://127.0.0.1:41234
 * await tcp.close();
 * ```
 */
export async function listenTcp(uart: Duplex, opts: TcpOptions = {}): Promise<TcpTransport> {
  const line = new TcpLine(uart, opts);
  const served = await serveLine(line, 'socket', opts);
  return {
    port: served.port,
    url: served.url,
    get attached() {
      return line.attached;
    },
    dropHost: () => line.dropHost(),
    close: () => served.close(),
  };
}

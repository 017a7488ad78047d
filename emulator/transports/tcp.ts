/**
 * Raw TCP transport, like QEMU `-serial tcp::PORT,server,nowait`: the host (the host library,
 * pyserial `socket://`, nc, idf_monitor) connects and bytes flow untouched both ways.
 *
 * One host at a time. A second client while one is attached gets a one-line note and is closed at
 * once, rather than left waiting in the accept queue as QEMU does: a tool pointed at a busy port
 * fails fast with a reason instead of hanging. The UART outlives clients; device output while no
 * client is attached is dropped, like a real UART nobody listens to.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type AttachEvents, DeviceOutput } from './device-output.js';

/** Sent to a refused second client before closing it. */
export const BUSY_NOTE = 'netcoproc: busy, another host is attached\r\n';

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
  /** Disconnects the client, stops listening and releases the UART. Idempotent. */
  close(): Promise<void>;
}

/** Holds the listening server and the one attached client. */
class TcpLine {
  readonly #uart: Duplex;
  readonly #events: AttachEvents;
  readonly #out: DeviceOutput;
  readonly #sockets = new Set<Socket>();
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

  readonly onConnection = (socket: Socket): void => {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // Resets and write-after-close are ends of a session, not faults; 'close' follows.
    socket.on('error', () => undefined);
    if (this.#client) this.#refuse(socket);
    else this.#attach(socket);
  };

  close(): void {
    if (this.#client) this.#detach(this.#client);
    this.#out.close();
    for (const socket of this.#sockets) socket.destroy();
  }

  #refuse(socket: Socket): void {
    socket.end(BUSY_NOTE, () => socket.destroy());
  }

  #attach(socket: Socket): void {
    this.#client = socket;
    this.#peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true); // a UART has no Nagle: small replies must not wait
    socket.pipe(this.#uart, { end: false }); // host → device, pipe handles the UART's backpressure
    this.#out.attach((chunk) => socket.write(chunk)); // device → host
    socket.on('drain', () => this.#out.resume());
    socket.once('close', () => this.#detach(socket));
    this.#events.onAttach?.(this.#peer);
  }

  #detach(socket: Socket): void {
    if (this.#client !== socket) return;
    this.#client = null;
    socket.unpipe(this.#uart);
    this.#out.detach();
    this.#events.onDetach?.(this.#peer);
  }
}

/** Listens and resolves with the bound port (the picked one when `port` is 0). */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
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
  const host = opts.host ?? '127.0.0.1';
  const line = new TcpLine(uart, opts);
  const server = createServer(line.onConnection);
  let port: number;
  try {
    port = await listen(server, host, opts.port ?? 0);
  } catch (error) {
    line.close();
    throw error;
  }
  const url = `socket://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    get attached() {
      return line.attached;
    },
    close() {
      closing ??= new Promise((resolve) => {
        line.close();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/**
 * One board's attachment to a VirtualNetwork: its own address, its own UDP port space, and its
 * TCP listeners, which other boards on the network reach by address and the machine reaches
 * through a forwarded loopback port (like QEMU hostfwd or Wokwi --forward).
 */
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { NetError } from './net-error.js';
import type { VirtualUdp } from './udp.js';

/** Hands an incoming connection to a listener; false = its queue is full (the peer sees a refusal). */
export type TcpAcceptor = (conn: Duplex, peer: [string, number]) => boolean;

export interface TcpListener {
  readonly port: number;
  /** Loopback port on this machine that reaches the listener (0 if not forwarded). */
  readonly forwardPort: number;
  close(): Promise<void>;
}

/** What a VirtualNetwork offers an attached board (implemented there; NetInterface delegates). */
export interface NetworkCore {
  resolve(name: string): Promise<string[]>;
  connectFrom(src: string, ip: string, port: number, signal?: AbortSignal): Promise<Duplex>;
  openUdpOn(ip: string, port: number): Promise<VirtualUdp>;
  registerListener(ip: string, port: number, acceptor: TcpAcceptor): number | Promise<number>;
  unregisterListener(ip: string, port: number): void;
  detach(ip: string): void;
}

/**
 * @example
 * const a = network.attach(); const b = network.attach();
 * const l = await a.listenTcp(8000, (conn, peer) => { conn.pipe(conn); return true; });
 * const c = await b.connectTcp(a.ip, 8000);   // a sees peer [b.ip, <ephemeral>]
 */
export class NetInterface {
  private readonly listeners = new Map<number, TcpListener>();

  constructor(
    private readonly core: NetworkCore,
    readonly ip: string,
  ) {}

  /** Kept for code written against VirtualNetwork. */
  get deviceIp(): string {
    return this.ip;
  }

  resolve(name: string): Promise<string[]> {
    return this.core.resolve(name);
  }

  connectTcp(ip: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    return this.core.connectFrom(this.ip, ip, port, signal);
  }

  openUdp(localPort = 0): Promise<VirtualUdp> {
    return this.core.openUdpOn(this.ip, localPort);
  }

  /**
   * Listens on this board's `port` (0 picks one). With `forward`, a real server on 127.0.0.1
   * (port 0 = any free one) hands each machine-side connection to the same acceptor.
   */
  async listenTcp(port: number, acceptor: TcpAcceptor, forward = true): Promise<TcpListener> {
    const bound = await this.core.registerListener(this.ip, port, acceptor);
    let server: Server | undefined;
    if (forward) {
      // Half-open allowed: a local client's FIN must not end the board's side, which may still answer.
      server = createServer({ allowHalfOpen: true }, (sock) => {
        sock.setNoDelay(true);
        if (!acceptor(sock, ['127.0.0.1', sock.remotePort ?? 0])) sock.resetAndDestroy();
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(0, '127.0.0.1', () => resolve());
      });
    }
    const listener: TcpListener = {
      port: bound,
      forwardPort: server ? (server.address() as { port: number }).port : 0,
      close: async () => {
        this.listeners.delete(bound);
        this.core.unregisterListener(this.ip, bound);
        if (server) await new Promise<void>((r) => server!.close(() => r()));
      },
    };
    this.listeners.set(bound, listener);
    return listener;
  }

  /** Leaves the network: listeners close, the address is free for another board. */
  async close(): Promise<void> {
    for (const l of [...this.listeners.values()]) await l.close();
    this.core.detach(this.ip);
  }
}

export { NetError };

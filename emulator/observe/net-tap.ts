/**
 * Sees the board's network traffic without changing it: a NetworkCore around the board's
 * attachment that reports TCP conversations (open, data each way, FIN, RST), UDP datagrams and
 * name lookups to a NetObserver (a trace recorder). Like NetFaults it is wrapped in a
 * NetInterface, so the socket table cannot tell it is there.
 *
 * ```ts
 * const nic = new NetInterface(new NetTap(attached, recorder), attached.ip);
 * ```
 */
import type { Duplex } from 'node:stream';
import { NetInterface, type TcpAcceptor, type TcpListener } from '../network/index.js';
import type { NetworkCore } from '../network/interface.js';
import type { VirtualUdp } from '../network/udp.js';

export type Side = 'client' | 'server';
export interface Endpoints {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** What a NetTap reports; a trace recorder (firmware-protocol/trace) is one. */
export interface NetObserver {
  tcpOpen(id: number, ends: Endpoints): void;
  tcpData(id: number, side: Side, bytes: Uint8Array): void;
  tcpEnd(id: number, side: Side): void;
  tcpReset(id: number, side: Side): void;
  udp(ends: Endpoints, payload: Uint8Array): void;
  dns(client: string, name: string, addresses: string[]): void;
}

const isDottedQuad = (s: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(s);

export class NetTap implements NetworkCore {
  private nextId = 1;
  /** Source ports shown for the board's outgoing connections (the virtual network has none). */
  private nextPort = 49152;
  private readonly listeners = new Map<number, TcpListener>();

  constructor(
    private readonly inner: NetInterface,
    private readonly observer: NetObserver,
  ) {}

  async resolve(name: string): Promise<string[]> {
    const shown = !isDottedQuad(name) && name.toLowerCase() !== 'localhost';
    try {
      const ips = await this.inner.resolve(name);
      if (shown) this.observer.dns(this.inner.ip, name, ips);
      return ips;
    } catch (err) {
      if (shown) this.observer.dns(this.inner.ip, name, []);
      throw err;
    }
  }

  async connectFrom(_src: string, ip: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    const conn = await this.inner.connectTcp(ip, port, signal);
    const sport = this.nextPort;
    this.nextPort = sport >= 65535 ? 49152 : sport + 1;
    this.watch(conn, 'client', { src: this.inner.ip, sport, dst: ip, dport: port });
    return conn;
  }

  async openUdpOn(_ip: string, port: number): Promise<VirtualUdp> {
    return new TappedUdp(await this.inner.openUdp(port), this.inner.ip, this.observer);
  }

  /** Connections to the board's listeners are watched by TappedInterface.listenTcp (forwarded ones too). */
  async registerListener(_ip: string, port: number, acceptor: TcpAcceptor): Promise<number> {
    const l = await this.inner.listenTcp(port, acceptor, false);
    this.listeners.set(l.port, l);
    return l.port;
  }

  /** An acceptor that watches each connection it is handed, to the board's `port`. */
  watchAccepted(acceptor: TcpAcceptor, port: () => number): TcpAcceptor {
    return (conn, peer) => {
      this.watch(conn, 'server', { src: peer[0], sport: peer[1], dst: this.inner.ip, dport: port() });
      return acceptor(conn, peer);
    };
  }

  unregisterListener(_ip: string, port: number): void {
    const l = this.listeners.get(port);
    this.listeners.delete(port);
    void l?.close();
  }

  detach(_ip: string): void {
    void this.inner.close();
  }

  /**
   * Reports what crosses `conn`, the board's end of a connection, where `device` is the board's
   * role. Its own methods are wrapped (not the stream replaced): the socket table keeps the
   * very stream the network gave, with its backpressure and errors.
   */
  private watch(conn: Duplex, device: Side, ends: Endpoints): void {
    const id = this.nextId++;
    const o = this.observer;
    const peer: Side = device === 'client' ? 'server' : 'client';
    o.tcpOpen(id, ends);
    let finIn = false;
    let finOut = false;
    const push = conn.push.bind(conn);
    conn.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null) {
        finIn = true;
        o.tcpEnd(id, peer);
      } else if (chunk instanceof Uint8Array) o.tcpData(id, peer, chunk);
      return push(chunk, encoding);
    };
    const write = conn.write.bind(conn) as (...args: unknown[]) => boolean;
    conn.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (chunk instanceof Uint8Array) o.tcpData(id, device, chunk);
      return write(chunk, ...rest);
    }) as Duplex['write'];
    const end = conn.end.bind(conn) as (...args: unknown[]) => Duplex;
    conn.end = ((...args: unknown[]) => {
      if (args[0] instanceof Uint8Array) o.tcpData(id, device, args[0]);
      if (!finOut) o.tcpEnd(id, device);
      finOut = true;
      return end(...args);
    }) as Duplex['end'];
    conn.once('close', () => {
      if (finIn && finOut) return;
      // Closed before both FINs: a reset, by the peer when the stream failed, else by the board.
      o.tcpReset(id, conn.errored ? peer : device);
    });
  }
}

class TappedUdp implements VirtualUdp {
  constructor(
    private readonly inner: VirtualUdp,
    private readonly ip: string,
    private readonly observer: NetObserver,
  ) {}

  get localPort(): number {
    return this.inner.localPort;
  }

  send(data: Uint8Array, ip: string, port: number): void {
    this.inner.send(data, ip, port);
    this.observer.udp({ src: this.ip, sport: this.inner.localPort, dst: ip, dport: port }, data);
  }

  onMessage(cb: (data: Uint8Array, ip: string, port: number) => void): void {
    this.inner.onMessage((data, ip, port) => {
      this.observer.udp({ src: ip, sport: port, dst: this.ip, dport: this.inner.localPort }, data);
      cb(data, ip, port);
    });
  }

  close(): void {
    this.inner.close();
  }
}

/**
 * The board's attachment with a NetTap inside. Listeners are wrapped here rather than in the
 * tap because connections forwarded from the machine's loopback reach the acceptor given to
 * `listenTcp` directly, without passing the network core.
 */
export class TappedInterface extends NetInterface {
  constructor(
    private readonly tap: NetTap,
    ip: string,
  ) {
    super(tap, ip);
  }

  override async listenTcp(port: number, acceptor: TcpAcceptor, forward = true): Promise<TcpListener> {
    let bound = port;
    const l = await super.listenTcp(
      port,
      this.tap.watchAccepted(acceptor, () => bound),
      forward,
    );
    bound = l.port;
    return l;
  }
}

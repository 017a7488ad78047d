/**
 * The offline virtual network of the emulated board (ARCHITECTURE §4). The socket table asks it
 * to resolve names, open TCP connections and UDP endpoints; virtual hosts from the hosts table
 * answer in-process, 127.0.0.0/8 reaches the machine's real loopback, and nothing else is ever
 * contacted. In 'host' mode (`--network host`) the OS resolver and real sockets are used instead.
 *
 * Addresses that lead nowhere fail at once rather than after a stack's multi-second timeout,
 * so tests stay fast: TCP to an unused or off-subnet address → EHOSTUNREACH; UDP to an unused
 * subnet address is dropped silently, and off-subnet throws EHOSTUNREACH (no route).
 */
import { promises as dns } from 'node:dns';
import type { Duplex } from 'node:stream';
import { duplexPair } from './duplex-pair.js';
import {
  defaultHostsTable,
  type HostsTable,
  type HostsTableInput,
  loadHostsFile,
  parseHostsTable,
  type TcpServiceKind,
  type UdpServiceKind,
} from './hosts.js';
import { NetInterface, type NetworkCore, type TcpAcceptor } from './interface.js';
import { isIPv4 } from './ipv4.js';
import { abortedError, NetError, toNetError } from './net-error.js';
import { connectRealTcp } from './real-tcp.js';
import { normalizeName, Router } from './routing.js';
import { tcpEcho, udpEcho } from './services/echo.js';
import { httpService } from './services/http.js';
import { httpsService, type NetworkPki, type PkiSource, pkiOnDemand } from './services/https.js';
import type { TcpService, UdpService } from './services/types.js';
import { UdpNetwork, type VirtualUdp } from './udp.js';

/** Options of a VirtualNetwork. */
export interface VirtualNetworkOptions {
  /** 'virtual' (default): offline virtual network. 'host': OS resolver and real sockets. */
  mode?: 'virtual' | 'host';
  /** Hosts table (validated again here); default `fixtures/hosts.json`. */
  hosts?: HostsTable | HostsTableInput;
  /** Services to add or replace by kind, e.g. `{ tcp: { https: tlsService } }` for tls.test. */
  services?: { tcp?: Partial<Record<TcpServiceKind, TcpService>>; udp?: Partial<Record<UdpServiceKind, UdpService>> };
  /** Bytes buffered per direction of a virtual TCP connection (default 16 KiB). */
  highWaterMark?: number;
  /**
   * TLS material (or its promise, or a function that makes it on first need): serves `https`
   * hosts with these certificates. Without it they refuse.
   */
  pki?: PkiSource;
}

/**
 * @example
 * const network = new VirtualNetwork();
 * const [ip] = await network.resolve('echo.test');          // '10.77.0.7'
 * const conn = await network.connectTcp(ip, 7, AbortSignal.timeout(2000));
 * conn.end('hello');
 * for await (const chunk of conn) process.stdout.write(chunk); // 'hello'
 * await network.close();
 */
export class VirtualNetwork implements NetworkCore {
  readonly mode: 'virtual' | 'host';
  readonly hosts: HostsTable;
  /** The device's own virtual address, e.g. '10.77.0.2' (also reported in host mode). */
  readonly deviceIp: string;
  /**
   * The TLS material the network serves, if any (the board pre-provisions `pki.ca`): asked for
   * on first need (the first https connection, the first file request), one set for all.
   */
  readonly pki: (() => Promise<NetworkPki>) | undefined;
  private readonly router: Router;
  private readonly tcpServices: Partial<Record<TcpServiceKind, TcpService>>;
  private readonly udp: UdpNetwork;
  private readonly highWaterMark: number | undefined;
  private readonly connections = new Set<Duplex>();
  /** One controller per connect in progress, so close() can cancel them. */
  private readonly connecting = new Set<AbortController>();
  private closed = false;
  /** TCP listeners of attached boards, keyed by `ip:port`. */
  private readonly listeners = new Map<string, TcpAcceptor>();
  private nextEphemeral = 49152;

  constructor(opts: VirtualNetworkOptions = {}) {
    this.mode = opts.mode ?? 'virtual';
    this.hosts = opts.hosts === undefined ? defaultHostsTable() : parseHostsTable(opts.hosts, '(options.hosts)');
    this.deviceIp = this.hosts.device;
    this.router = new Router(this.hosts);
    this.pki = opts.pki && pkiOnDemand(opts.pki);
    const https = this.pki ? { https: httpsService(this.pki) } : {};
    this.tcpServices = { echo: tcpEcho, http: httpService, ...https, ...opts.services?.tcp };
    this.udp = new UdpNetwork(this.mode, this.router, { echo: udpEcho, ...opts.services?.udp });
    this.highWaterMark = opts.highWaterMark;
  }

  /** Reads and validates a hosts file; see `loadHostsFile`. */
  static loadHostsFile(path: string): HostsTable {
    return loadHostsFile(path);
  }

  /**
   * IPv4 addresses of `name`: a dotted quad returns itself, 'localhost' gives 127.0.0.1, table
   * names their virtual address; anything else NetError ENOENT. Host mode asks the OS resolver.
   *
   * @example await network.resolve('http.test')  // ['10.77.0.80']
   */
  async resolve(name: string): Promise<string[]> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 254)
      throw new NetError('EINVAL', 'bad host name');
    const n = normalizeName(name);
    if (isIPv4(n)) return [n];
    if (n === 'localhost') return ['127.0.0.1'];
    if (this.mode === 'host') return resolveWithOs(n);
    const ip = this.router.lookupName(n);
    if (ip === undefined) throw new NetError('ENOENT', `unknown host ${name}`);
    return [ip];
  }

  /**
   * Opens a TCP connection from the device; see the class comment and README for each host's
   * behaviour. Rejects with NetError ECONNREFUSED, EHOSTUNREACH, EINVAL, or when `signal`
   * aborts, ETIMEDOUT marked `cancelled` (a blackhole connect waits for exactly that).
   */
  async connectTcp(ip: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    return this.connectFrom(this.deviceIp, ip, port, signal);
  }

  /**
   * Attaches a board: it gets its own address (the table's `device` first, then free subnet
   * addresses), reaches the others by address, and its listeners can be reached by them.
   */
  attach(): NetInterface {
    if (this.closed) throw new NetError('EHOSTUNREACH', 'the virtual network is closed');
    return new NetInterface(this, this.router.allocateDevice());
  }

  /** @internal NetworkCore */
  detach(ip: string): void {
    this.router.releaseDevice(ip);
  }

  /** @internal NetworkCore: binds `ip:port` (0 = an ephemeral port); EADDRINUSE if taken. */
  registerListener(ip: string, port: number, acceptor: TcpAcceptor): number {
    let p = port;
    if (p === 0) {
      do {
        this.nextEphemeral = this.nextEphemeral >= 65535 ? 49152 : this.nextEphemeral + 1;
        p = this.nextEphemeral;
      } while (this.listeners.has(`${ip}:${p}`));
    }
    if (this.listeners.has(`${ip}:${p}`)) throw new NetError('EADDRINUSE', `TCP port ${p} is in use`);
    this.listeners.set(`${ip}:${p}`, acceptor);
    return p;
  }

  /** @internal NetworkCore */
  unregisterListener(ip: string, port: number): void {
    this.listeners.delete(`${ip}:${port}`);
  }

  /** @internal NetworkCore */
  async openUdpOn(ip: string, port: number): Promise<VirtualUdp> {
    if (this.closed) throw new NetError('EHOSTUNREACH', 'the virtual network is closed');
    return this.udp.open(port, ip);
  }

  /** @internal NetworkCore: a TCP connect from board `src`. */
  async connectFrom(src: string, ip: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    if (this.closed) throw new NetError('EHOSTUNREACH', 'the virtual network is closed');
    if (!isIPv4(ip) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new NetError('EINVAL', `bad address ${ip}:${port}`);
    }
    if (signal?.aborted) throw abortedError(signal);
    const inner = new AbortController();
    const onAbort = () => inner.abort(abortedError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.connecting.add(inner);
    try {
      return this.track(await this.connect(src, ip, port, inner.signal));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.connecting.delete(inner);
    }
  }

  private connect(src: string, ip: string, port: number, signal: AbortSignal): Promise<Duplex> {
    if (this.mode === 'host') return connectRealTcp(ip, port, signal);
    const dest = this.router.classify(ip);
    const listener = this.listeners.get(`${ip}:${port}`) ?? this.listeners.get(`0.0.0.0:${port}`);
    if (dest.kind === 'device' && listener) return Promise.resolve(this.connectBoard(src, listener, ip, port));
    switch (dest.kind) {
      case 'loopback':
        return connectRealTcp(ip, port, signal);
      case 'device':
        throw new NetError('ECONNREFUSED', `nothing listens on the device's port ${port}`);
      case 'host':
        return this.connectVirtual(dest.name, dest.host, port, signal);
      case 'subnet':
      case 'outside':
        throw new NetError('EHOSTUNREACH', `no virtual host has address ${ip}`);
    }
  }

  private async connectVirtual(
    name: string,
    host: HostsTable['hosts'][string],
    port: number,
    signal: AbortSignal,
  ): Promise<Duplex> {
    const kind = host.tcp[String(port)];
    const service = kind && this.tcpServices[kind];
    if (service) {
      const [device, server] = duplexPair({ highWaterMark: this.highWaterMark });
      service(server, { hostName: name, ip: host.ip, port });
      return device;
    }
    // A reserved service with no implementation registered (tls.test before TLS exists) refuses.
    if (kind || host.closedPorts === 'refuse')
      throw new NetError('ECONNREFUSED', `${name}:${port} refused the connection`);
    return waitForAbort(signal);
  }

  /** A connection between two boards (or a board and itself): the listener gets the server end. */
  private connectBoard(src: string, acceptor: TcpAcceptor, ip: string, port: number): Duplex {
    const [client, server] = duplexPair({ highWaterMark: this.highWaterMark });
    this.nextEphemeral = this.nextEphemeral >= 65535 ? 49152 : this.nextEphemeral + 1;
    const srcPort = this.nextEphemeral;
    if (!acceptor(this.track(server), [src, srcPort])) {
      server.destroy();
      client.destroy();
      throw new NetError('ECONNREFUSED', `${ip}:${port} refused the connection (listen queue full)`);
    }
    return client;
  }

  /** Registers a connection so close() can end it; refuses it if close() began meanwhile. */
  private track(conn: Duplex): Duplex {
    if (this.closed) {
      conn.destroy();
      throw new NetError('ECONNRESET', 'the virtual network was closed');
    }
    this.connections.add(conn);
    conn.once('close', () => this.connections.delete(conn));
    return conn;
  }

  /**
   * Binds a device UDP endpoint to a virtual local port (0 picks one). Throws NetError
   * EADDRINUSE for a port in use.
   *
   * @example const udp = await network.openUdp(); udp.send(bytes, '10.77.0.7', 7);
   */
  async openUdp(localPort = 0): Promise<VirtualUdp> {
    if (this.closed) throw new NetError('EHOSTUNREACH', 'the virtual network is closed');
    return this.udp.open(localPort);
  }

  /**
   * Cancels connects in progress (they reject with ECONNRESET), resets every open connection
   * (the device's end emits 'error' ECONNRESET if it has an 'error' listener, else just
   * 'close'; the peer sees a reset), closes every UDP endpoint, and resolves once
   * no socket, timer or handle of this network is left.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.connecting) c.abort(new NetError('ECONNRESET', 'the virtual network was closed'));
    const closing = [...this.connections].map((conn) => {
      const done = new Promise<void>((resolve) => conn.once('close', () => resolve()));
      // Fail loudly where someone listens; an unheard 'error' would crash the emulator at shutdown.
      const error =
        conn.listenerCount('error') > 0 ? new NetError('ECONNRESET', 'the virtual network was closed') : undefined;
      conn.destroy(error);
      return done;
    });
    await Promise.all([...closing, this.udp.closeAll()]);
  }
}

/** Never settles by itself; rejects with the signal's reason when it aborts (a blackholed SYN). */
function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

async function resolveWithOs(name: string): Promise<string[]> {
  try {
    const results = await dns.lookup(name, { family: 4, all: true });
    return results.map((r) => r.address);
  } catch (err) {
    throw toNetError(err, 'ENOENT');
  }
}

/**
 * Network faults, per remote host: latency and jitter on connects and data, a RST mid-stream,
 * a blackholed host, UDP loss / duplication / reordering. Implemented as a NetworkCore over the
 * board's own attachment (which may belong to a network in another process), so the socket
 * table gets an ordinary NetInterface: `new NetInterface(new NetFaults(nic, ...), nic.ip)`.
 *
 * Hosts are named as in the scenario: a name (`echo.test`, resolved once), an address, or `*`
 * for every host; a name's settings override the address's, which override `*`. Names the
 * device itself looks up are remembered too, so the trace and resetConnections() use them.
 *
 * ```ts
 * const attached = network.attach();
 * const faults = new NetFaults(attached, { 'echo.test': { latencyMs: 20 } }, rng, trace.record);
 * const nic = new NetInterface(faults, attached.ip);
 * ```
 */
import type { Duplex } from 'node:stream';
import {
  abortedError,
  isIPv4,
  type NetInterface,
  type TcpAcceptor,
  type TcpListener,
  type VirtualUdp,
} from '../network/index.js';
import type { NetworkCore } from '../network/interface.js';
import type { Random } from '../random.js';
import { FaultyConnection } from './faulty-connection.js';
import type { HostFaults } from './scenario.js';
import { type FaultEvent, forkRandom } from './trace.js';
import { FaultyUdp, type UdpFaultSource, type UdpVerdict } from './udp-faults.js';

export type { UdpVerdict } from './udp-faults.js';

interface Tracked {
  host: string;
  ip: string;
  conn: FaultyConnection;
}

export class NetFaults implements NetworkCore, UdpFaultSource {
  private hosts: Record<string, HostFaults>;
  /** Address → the scenario's name for it. */
  private readonly names = new Map<string, string>();
  private resolving: Promise<void> = Promise.resolve();
  private readonly conns = new Set<Tracked>();
  private readonly listeners = new Map<number, TcpListener>();

  constructor(
    private readonly inner: NetInterface,
    hosts: Record<string, HostFaults>,
    private readonly random: Random,
    private readonly record: (e: FaultEvent) => void,
  ) {
    this.hosts = { ...hosts };
    this.resolving = this.resolveNames();
  }

  /** Changes one host's faults (merged into its current ones); undefined removes them. */
  setHost(host: string, faults: HostFaults | undefined): void {
    if (faults === undefined) delete this.hosts[host];
    else this.hosts[host] = { ...this.hosts[host], ...faults };
    this.resolving = this.resolveNames();
  }

  /** The faults that apply to `ip`, and the name the trace uses for it. */
  faultsFor(ip: string): { host: string; faults: HostFaults } {
    const host = this.names.get(ip) ?? ip;
    return { host, faults: { ...this.hosts['*'], ...this.hosts[ip], ...this.hosts[host] } };
  }

  /**
   * Resets open connections (all, or those to `host`, a name or an address): the device sees
   * ECONNRESET, the peer a reset. Returns how many were reset.
   */
  resetConnections(host?: string): number {
    let n = 0;
    for (const t of [...this.conns]) {
      if (host !== undefined && t.host !== host && t.ip !== host && this.names.get(t.ip) !== host) continue;
      this.record({ dir: 'network', kind: 'rst', host: t.host, offset: t.conn.received, source: 'api' });
      t.conn.reset();
      n++;
    }
    return n;
  }

  /** One random draw per datagram, and only for hosts with UDP faults (clean traffic draws nothing). */
  udpVerdict(faults: HostFaults): UdpVerdict {
    if (faults.blackhole) return 'blackhole';
    const { loss = 0, duplicate = 0, reorder = 0 } = faults.udp ?? {};
    if (loss + duplicate + reorder === 0) return 'pass';
    const u = this.random.next();
    if (u < loss) return 'loss';
    if (u < loss + duplicate) return 'duplicate';
    if (u < loss + duplicate + reorder) return 'reorder';
    return 'pass';
  }

  readonly recordUdp = (e: Omit<FaultEvent, 'dir' | 'source'>): void => {
    this.record({ dir: 'network', ...e, source: 'random' });
  };

  // ---- NetworkCore ----

  /** Remembers the names the device looks up, so faults and the trace can name hosts as it does. */
  async resolve(name: string): Promise<string[]> {
    const ips = await this.inner.resolve(name);
    for (const ip of ips) if (!this.names.has(ip) && !isIPv4(name)) this.names.set(ip, name.toLowerCase());
    return ips;
  }

  async connectFrom(_src: string, ip: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    await this.resolving;
    const { host, faults } = this.faultsFor(ip);
    if (faults.blackhole) {
      this.record({ dir: 'network', kind: 'blackhole', host, source: 'scenario' });
      return waitForAbort(signal);
    }
    const random = forkRandom(this.random);
    const latency = (faults.latencyMs ?? 0) + (faults.jitterMs ? random.next() * faults.jitterMs : 0);
    if (latency > 0) await sleep(latency, signal);
    const inner = await this.inner.connectTcp(ip, port, signal);
    const onRst = (offset: number): void =>
      this.record({ dir: 'network', kind: 'rst', host, offset, source: 'scenario' });
    const conn = new FaultyConnection(inner, faults, random, onRst);
    const tracked: Tracked = { host, ip, conn };
    this.conns.add(tracked);
    conn.once('close', () => this.conns.delete(tracked));
    return conn;
  }

  async openUdpOn(_ip: string, port: number): Promise<VirtualUdp> {
    const ep = await this.inner.openUdp(port);
    await this.resolving;
    return new FaultyUdp(ep, this);
  }

  /** Listeners go to the board's own attachment; the outer NetInterface does the loopback forwarding. */
  async registerListener(_ip: string, port: number, acceptor: TcpAcceptor): Promise<number> {
    const l = await this.inner.listenTcp(port, acceptor, false);
    this.listeners.set(l.port, l);
    return l.port;
  }

  unregisterListener(_ip: string, port: number): void {
    const l = this.listeners.get(port);
    this.listeners.delete(port);
    void l?.close();
  }

  detach(_ip: string): void {
    void this.inner.close();
  }

  /** Names in the scenario → addresses; a name that does not resolve simply matches nothing. */
  private async resolveNames(): Promise<void> {
    for (const key of Object.keys(this.hosts)) {
      if (key === '*' || isIPv4(key)) continue;
      const ips = await this.inner.resolve(key).catch(() => [] as string[]);
      for (const ip of ips) this.names.set(ip, key);
    }
  }
}

/** A blackholed SYN: never answered; the connect fails only when the device gives up. */
function waitForAbort(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(abortedError(signal)), { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

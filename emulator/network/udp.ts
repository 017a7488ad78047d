/**
 * UDP on the virtual network. The device's endpoints live in a virtual port table; datagrams to
 * virtual hosts go to their services in-process, datagrams to loopback (or anywhere in host
 * mode) leave through one real node:dgram socket per endpoint, opened on first use. That real
 * socket has an ephemeral port of its own, so a loopback peer sees 127.0.0.1:<real port> as the
 * source, not the virtual port; replies to it reach the endpoint (it acts as a NAT).
 */
import dgram from 'node:dgram';
import type { UdpServiceKind } from './hosts.js';
import { isIPv4 } from './ipv4.js';
import { NetError } from './net-error.js';
import type { Router } from './routing.js';
import type { UdpService } from './services/types.js';

/** Largest UDP payload over IPv4 (65535 - 20 byte IP header - 8 byte UDP header). */
export const MAX_DATAGRAM = 65507;
/** Datagrams kept for an endpoint that has no onMessage handler yet; later ones are dropped, as UDP may. */
const BACKLOG = 64;
const EPHEMERAL_FIRST = 49152;
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_FIRST;

/** Receives one datagram with its source address. */
export type UdpMessageHandler = (data: Uint8Array, ip: string, port: number) => void;

/**
 * A device UDP endpoint.
 *
 * @example
 * const udp = await network.openUdp();
 * udp.onMessage((data, ip, port) => console.log(`${data.length} bytes from ${ip}:${port}`));
 * udp.send(new TextEncoder().encode('ping'), '10.77.0.7', 7);  // echo.test answers
 */
export interface VirtualUdp {
  readonly localPort: number;
  /** Sends one datagram; throws NetError EINVAL (bad address, too large, closed) or EHOSTUNREACH. */
  send(data: Uint8Array, ip: string, port: number): void;
  /** Sets the receiver (replacing any previous one) and hands it datagrams that arrived before. */
  onMessage(cb: UdpMessageHandler): void;
  close(): void;
}

/**
 * dgram emits 'close' before libuv has released the handle; it is gone after the loop's next
 * close phase, which two turns of setImmediate are sure to have passed.
 */
function afterHandleClosed(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

class Endpoint implements VirtualUdp {
  private handler: UdpMessageHandler | null = null;
  private backlog: [Uint8Array, string, number][] = [];
  private real: dgram.Socket | null = null;
  private closedPromise: Promise<void> = Promise.resolve();
  isClosed = false;

  constructor(
    readonly localPort: number,
    /** The address of the board that owns the endpoint (several boards can share the network). */
    readonly ip: string,
    private readonly udp: UdpNetwork,
  ) {}

  send(data: Uint8Array, ip: string, port: number): void {
    if (this.isClosed) throw new NetError('EINVAL', 'UDP endpoint is closed');
    if (!isIPv4(ip) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new NetError('EINVAL', `bad destination ${ip}:${port}`);
    }
    if (data.length > MAX_DATAGRAM)
      throw new NetError('EINVAL', `datagram of ${data.length} bytes exceeds ${MAX_DATAGRAM}`);
    // Copy now, as a kernel would: the caller may reuse its buffer as soon as send() returns.
    this.udp.route(this, Uint8Array.prototype.slice.call(data), ip, port);
  }

  onMessage(cb: UdpMessageHandler): void {
    this.handler = cb;
    const pending = this.backlog;
    this.backlog = [];
    for (const [data, ip, port] of pending) cb(data, ip, port);
  }

  deliver(data: Uint8Array, ip: string, port: number): void {
    if (this.isClosed) return;
    if (this.handler) this.handler(data, ip, port);
    else if (this.backlog.length < BACKLOG) this.backlog.push([data, ip, port]);
  }

  /** Sends through the real socket, opening it bound to `bindAddress` on first use. */
  sendReal(data: Uint8Array, ip: string, port: number, bindAddress: string): void {
    if (!this.real) {
      const sock = dgram.createSocket('udp4');
      sock.on('message', (msg, rinfo) => this.deliver(msg, rinfo.address, rinfo.port));
      // Errors on an unconnected UDP socket only mean a lost datagram, which UDP allows.
      sock.on('error', () => {});
      // dgram queues sends made while the bind is in progress.
      sock.bind({ address: bindAddress, port: 0 });
      this.real = sock;
      this.closedPromise = new Promise((resolve) => sock.once('close', () => afterHandleClosed(resolve)));
    }
    this.real.send(data, port, ip);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.backlog = [];
    this.real?.close();
    this.udp.release(this);
  }

  /** Resolves when the real socket (if any) is closed. */
  closed(): Promise<void> {
    return this.closedPromise;
  }
}

/** The device's UDP port table and the datagram router. */
export class UdpNetwork {
  /** Keyed by `ip:port`: each attached board has its own port space. */
  private readonly endpoints = new Map<string, Endpoint>();
  /** Real sockets of closed endpoints that are still shutting down. */
  private readonly closing = new Set<Promise<void>>();
  private nextEphemeral = 0;

  constructor(
    private readonly mode: 'virtual' | 'host',
    private readonly router: Router,
    private readonly services: Partial<Record<UdpServiceKind, UdpService>>,
  ) {}

  /** Binds a device endpoint to `localPort` (0 picks a free ephemeral port 49152..65535). */
  open(localPort: number, ip: string = this.router.deviceIp): VirtualUdp {
    if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) {
      throw new NetError('EINVAL', `bad local port ${localPort}`);
    }
    const port = localPort === 0 ? this.pickEphemeral(ip) : localPort;
    if (this.endpoints.has(`${ip}:${port}`)) throw new NetError('EADDRINUSE', `UDP port ${port} is in use`);
    const endpoint = new Endpoint(port, ip, this);
    this.endpoints.set(`${ip}:${port}`, endpoint);
    return endpoint;
  }

  private pickEphemeral(ip: string): number {
    for (let i = 0; i < EPHEMERAL_COUNT; i++) {
      const port = EPHEMERAL_FIRST + ((this.nextEphemeral + i) % EPHEMERAL_COUNT);
      if (!this.endpoints.has(`${ip}:${port}`)) {
        this.nextEphemeral = (port - EPHEMERAL_FIRST + 1) % EPHEMERAL_COUNT;
        return port;
      }
    }
    throw new NetError('EADDRINUSE', 'no free UDP port');
  }

  release(endpoint: Endpoint): void {
    const key = `${endpoint.ip}:${endpoint.localPort}`;
    if (this.endpoints.get(key) === endpoint) this.endpoints.delete(key);
    const done = endpoint.closed().then(() => {
      this.closing.delete(done);
    });
    this.closing.add(done);
  }

  /** Delivers a datagram from `from` to `ip:port`. */
  route(from: Endpoint, data: Uint8Array, ip: string, port: number): void {
    const dest = this.mode === 'host' ? null : this.router.classify(ip);
    if (dest === null) from.sendReal(data, ip, port, '0.0.0.0');
    else if (dest.kind === 'loopback') from.sendReal(data, ip, port, '127.0.0.1');
    else if (dest.kind === 'device')
      this.later(() => this.endpoints.get(`${dest.ip}:${port}`)?.deliver(data, from.ip, from.localPort));
    else if (dest.kind === 'host') this.toService(from, data, dest.host.udp[String(port)], ip, port);
    else if (dest.kind === 'outside') throw new NetError('EHOSTUNREACH', `no route to ${ip} on the virtual network`);
    // 'subnet': nobody answers ARP for that address, so the datagram is lost.
  }

  private toService(
    from: Endpoint,
    data: Uint8Array,
    kind: UdpServiceKind | undefined,
    ip: string,
    port: number,
  ): void {
    const service = kind && this.services[kind];
    // No service on that port: the datagram vanishes (blackhole.test, closed ports).
    if (!service) return;
    const reply = (d: Uint8Array) => this.later(() => from.deliver(Uint8Array.prototype.slice.call(d), ip, port));
    this.later(() => service(data, reply, { ip: from.ip, port: from.localPort }));
  }

  // Datagrams arrive after send() returns, as on a real network; a microtask leaves no handle behind.
  private later(fn: () => void): void {
    queueMicrotask(fn);
  }

  /** Closes every endpoint and waits for their real sockets to be gone. */
  async closeAll(): Promise<void> {
    for (const endpoint of [...this.endpoints.values()]) endpoint.close();
    await Promise.all(this.closing);
  }
}

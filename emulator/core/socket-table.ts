/**
 * The emulated device's socket table: protocol-agnostic BSD-style operations that the SLIP and
 * AT personalities call. Errors are thrown as DeviceError with an errno name; numbers and wire
 * forms are the personality's business.
 */
import type { AddrInfo } from '../../firmware-protocol/index.js';
import { constants as C, type ErrnoName, POLL_BITS } from '../../firmware-protocol/index.js';
import type { NetInterface } from '../network/index.js';
import type { Profile } from '../profiles.js';
import { DeviceError, fromNetCode } from './device-error.js';
import { TcpSocket } from './tcp-socket.js';
import { type TlsConfig, TlsEndpoint, TlsSessions } from './tls.js';
import type { SockAddr, SocketNotify } from './types.js';
import { UdpSocket } from './udp-socket.js';

export type DeviceSocket = TcpSocket | UdpSocket;

export type { AddrInfo } from '../../firmware-protocol/index.js';

export class SocketTable {
  private readonly slots: (DeviceSocket | undefined)[];
  /** Fault injection (emulator/faults): while set, new sockets fail with it (out of sockets / memory). */
  exhausted: 'ENFILE' | 'ENOMEM' | undefined;
  /** The board's TLS sessions (IPPROTO_SEC sockets), at most `profile.maxTlsSessions` at a time. */
  readonly tlsSessions: TlsSessions;

  constructor(
    readonly profile: Profile,
    readonly net: NetInterface,
    private readonly notify: SocketNotify,
  ) {
    this.slots = new Array(profile.maxSockets).fill(undefined);
    this.tlsSessions = new TlsSessions(profile.maxTlsSessions, profile.name);
  }

  /** Creates a socket in the lowest free slot. Full table → ENFILE, never a wait. */
  socket(family: number, type: number, proto: number): number {
    if (family !== C.AF_INET) throw new DeviceError('EAFNOSUPPORT', `address family ${family} not supported`);
    if (proto === C.IPPROTO_SEC) this.checkSecure(type);
    this.checkExhausted();
    const id = this.slots.indexOf(undefined);
    if (id < 0) throw new DeviceError('ENFILE', `socket table full (${this.profile.maxSockets} sockets)`);
    if (type === C.SOCK_STREAM) {
      const s = new TcpSocket(id, this.net, this.notify, this.profile.rxBuffer, this.profile.connectTimeoutMs);
      if (proto === C.IPPROTO_SEC) s.tls = new TlsEndpoint(this.tlsSessions, this.profile.tlsHandshakeTimeoutMs);
      this.slots[id] = s;
    } else if (type === C.SOCK_DGRAM) this.slots[id] = new UdpSocket(id, this.net, this.notify, this.profile.udpQueue);
    else throw new DeviceError('EINVAL', `socket type ${type} not supported`);
    return id;
  }

  private checkSecure(type: number): void {
    if (!this.profile.tlsOnDevice) {
      throw new DeviceError(
        'EPROTONOSUPPORT',
        `IPPROTO_SEC: the ${this.profile.name} board does no TLS itself; use host-side TLS (ssl.wrap_socket on a connected plain socket)`,
      );
    }
    if (type !== C.SOCK_STREAM) throw new DeviceError('EPROTONOSUPPORT', 'IPPROTO_SEC needs SOCK_STREAM');
  }

  /** TLS_WRAP (SPEC §4.5): the TLS options of an IPPROTO_SEC socket, before it connects or listens. */
  tlsWrap(id: number, config: TlsConfig): void {
    const s = this.get(id);
    if (s.kind !== 'tcp' || !s.tls) throw new DeviceError('EINVAL', 'TLS_WRAP needs a socket created with IPPROTO_SEC');
    if (s.state !== 'new') throw new DeviceError('EISCONN', 'TLS_WRAP must come before connect or listen');
    s.tls.config = config;
  }

  private checkExhausted(): void {
    if (this.exhausted === 'ENOMEM') throw new DeviceError('ENOMEM', 'out of memory (fault injection)');
    if (this.exhausted === 'ENFILE') throw new DeviceError('ENFILE', 'out of sockets (fault injection)');
  }

  get(id: number): DeviceSocket {
    const s = this.slots[id];
    if (!s) throw new DeviceError('EBADF', `socket ${id} is not open`);
    return s;
  }

  /** The open sockets, lowest id first (live views). */
  open(): DeviceSocket[] {
    return this.slots.filter((s): s is DeviceSocket => s !== undefined);
  }

  /** The socket if open, else undefined (for event pumps that race a close). */
  find(id: number): DeviceSocket | undefined {
    return this.slots[id];
  }

  close(id: number): void {
    this.get(id).close();
    this.slots[id] = undefined;
  }

  closeAll(): void {
    for (let id = 0; id < this.slots.length; id++) if (this.slots[id]) this.close(id);
  }

  async bind(id: number, addr: SockAddr): Promise<SockAddr> {
    const s = this.get(id);
    const ip = addr[0] === '' ? '0.0.0.0' : addr[0];
    if (ip !== '0.0.0.0' && ip !== this.net.ip && ip !== '127.0.0.1') {
      throw new DeviceError('EADDRNOTAVAIL', `${ip} is not an address of this device (${this.net.ip})`);
    }
    return [ip, await s.bind(addr[1])];
  }

  /** TCP only; returns the loopback port forwarding to the listener (0 if none). */
  async listen(id: number, backlog: number): Promise<number> {
    const s = this.get(id);
    if (s.kind !== 'tcp') throw new DeviceError('EOPNOTSUPP', 'listen on a UDP socket');
    return s.listen(backlog);
  }

  /** Takes a queued connection into a new slot; EAGAIN if none, ENFILE if the table is full. */
  accept(id: number): { id: number; addr: SockAddr } {
    const s = this.get(id);
    if (s.kind !== 'tcp') throw new DeviceError('EOPNOTSUPP', 'accept on a UDP socket');
    const pending = s.takeConnection();
    const slot = this.slots.indexOf(undefined);
    if (slot < 0 || this.exhausted) {
      s.putBack(pending);
      this.checkExhausted();
      throw new DeviceError('ENFILE', `socket table full (${this.profile.maxSockets} sockets)`);
    }
    const conn = new TcpSocket(slot, this.net, this.notify, this.profile.rxBuffer, this.profile.connectTimeoutMs);
    this.slots[slot] = conn;
    conn.adopt(pending.stream, pending.peer);
    return { id: slot, addr: pending.peer };
  }

  /** 'done' when complete at once (UDP), 'inprogress' for TCP (completion via notify.connected). */
  async connect(id: number, addr: SockAddr): Promise<'done' | 'inprogress'> {
    const s = this.get(id);
    const ip = await this.resolveOne(addr[0]);
    if (s.kind === 'udp') {
      await s.connect(ip, addr[1]);
      return 'done';
    }
    return s.connect(ip, addr[1]);
  }

  send(id: number, data: Uint8Array): Promise<number> {
    return this.get(id).send(data);
  }

  async sendto(id: number, data: Uint8Array, addr: SockAddr): Promise<number> {
    const s = this.get(id);
    if (s.kind !== 'udp') return s.send(data);
    return s.sendto(data, [await this.resolveOne(addr[0]), addr[1]]);
  }

  /** Half-close (SPEC rev 1.2 SHUTDOWN): SHUT_WR ends the stream after what was sent; SHUT_RD changes nothing. */
  shutdown(id: number, how: number): void {
    const s = this.get(id);
    if (how > 2) throw new DeviceError('EINVAL', `how: ${how} (0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR)`);
    if (s.kind !== 'tcp') throw new DeviceError('ENOTCONN', 'not a TCP socket');
    s.shutdown(how);
  }

  /** Options are accepted and ignored (MicroPython warns, no error), but values must be sane. */
  setsockopt(id: number, _level: number, _option: number, value: Uint8Array): void {
    this.get(id);
    if (value.length > 64) throw new DeviceError('EINVAL', 'option value too long');
  }

  async getaddrinfo(host: string, port: number): Promise<AddrInfo[]> {
    const ips = await this.net.resolve(host).catch(() => {
      throw new ResolverError(-2, `name not known: ${host}`);
    });
    return ips.map((ip) => ({
      family: C.AF_INET,
      type: C.SOCK_STREAM,
      proto: C.IPPROTO_TCP,
      canonname: '',
      addr: [ip, port] as SockAddr,
    }));
  }

  private async resolveOne(host: string): Promise<string> {
    if (host === '' || host === '0.0.0.0') return '0.0.0.0';
    try {
      const [ip] = await this.net.resolve(host);
      if (ip) return ip;
    } catch (err) {
      throw new DeviceError(fromNetCode((err as { code?: string }).code) as ErrnoName, `cannot resolve ${host}`);
    }
    throw new DeviceError('EHOSTUNREACH', `cannot resolve ${host}`);
  }

  /** The device's own readiness view of a socket (SPEC §4.4 POLL). */
  poll(id: number, events: number): number {
    const s = this.slots[id];
    if (!s) return POLL_BITS.POLLNVAL;
    let r = 0;
    if (s.kind === 'udp') {
      if (s.nextSize >= 0) r |= POLL_BITS.POLLIN;
      r |= POLL_BITS.POLLOUT;
      return r & (events | POLL_BITS.POLLERR | POLL_BITS.POLLHUP);
    }
    if (s.isListening) return s.pendingAccepts > 0 ? POLL_BITS.POLLIN & events : 0;
    if (s.buffered > 0 || s.peerClosed) r |= POLL_BITS.POLLIN;
    if (s.isWritable) r |= POLL_BITS.POLLOUT;
    if (s.hasFailed) r |= POLL_BITS.POLLERR | POLL_BITS.POLLHUP;
    if (s.state === 'new') r |= POLL_BITS.POLLOUT | POLL_BITS.POLLHUP;
    return r & (events | POLL_BITS.POLLERR | POLL_BITS.POLLHUP);
  }
}

/** A resolver failure: negative status as MicroPython reports it (e.g. -2). */
export class ResolverError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

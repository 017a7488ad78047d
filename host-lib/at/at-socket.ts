/**
 * Host-side state of one socket over ESP-AT. The device only has links (ids 0–4); a socket
 * gets one when it connects (TCP: AT+CIPSTART "TCP"; UDP: AT+CIPSTART "UDP" with mode 2 at
 * the first connect/sendto) or when a client is accepted. Everything here is non-blocking
 * (see driver.ts): `send` queues bytes that the driver writes with AT+CIPSEND in the
 * background; received bytes are fetched with AT+CIPRECVDATA only while the receive buffer
 * has room, so the host never over-buffers and TCP back-pressures the peer.
 */
import { type at, constants as C, errno as E, POLL_BITS as P } from '../../firmware-protocol/index.js';
import type { DeviceTlsOptions, DriverSocket, SockAddr } from '../driver.js';
import { OSError, osError, WOULD_BLOCK } from '../errors.js';
import { Readiness } from '../readiness.js';
import type { LinkEntry, LinkSink } from './links.js';
import { SocketQueue } from './queue.js';
import { AT_SSL_DEFAULT, type AtSslConfig, atSslConfig } from './ssl.js';

/** What a socket needs from its driver. */
export interface AtSocketHost {
  readonly rxBuffer: number;
  readonly txBuffer: number;
  connectTcp(sock: AtSocket, addr: SockAddr): void;
  /** Opens the UDP link: towards `remote` (connect, first sendto), or for anyone (bind: null). */
  openUdp(sock: AtSocket, remote: SockAddr | null): Promise<void>;
  sendDatagram(sock: AtSocket, data: Uint8Array, addr: SockAddr): Promise<number>;
  listen(sock: AtSocket): Promise<void>;
  peerOf(sock: AtSocket): Promise<SockAddr>;
  release(sock: AtSocket, wasListening: boolean): Promise<void>;
  kick(): void;
}

type State = 'new' | 'connecting' | 'connected' | 'listening' | 'closed';

export class AtSocket implements DriverSocket, LinkSink {
  state: State = 'new';
  /** The device link this socket owns, if any. */
  link: LinkEntry | null = null;
  /** Address given to bind() (local port for UDP and servers). */
  local: SockAddr = ['0.0.0.0', 0];
  /** The peer (TCP) or default destination (connected UDP). */
  remote: SockAddr | null = null;
  /** Created with IPPROTO_SEC: connects with AT+CIPSTART "SSL" (TLS on the module). */
  tls = false;
  /** The link's AT+CIPSSLC* settings for that connect (ssl.wrap_socket). */
  sslConfig: AtSslConfig = AT_SSL_DEFAULT;
  /** Bytes waiting to be written with AT+CIPSEND (stream sockets). */
  readonly tx = new SocketQueue();
  private readonly rx = new SocketQueue();
  private readonly dgrams: [Uint8Array, SockAddr][] = [];
  private dgramBytes = 0;
  /** Datagrams dropped because the receive queue was full (UDP semantics). */
  dropped = 0;
  private eof = false;
  private error: OSError | null = null;
  private errorSeen = false;
  private sendError: OSError | null = null;
  private connectError: OSError | null = null;
  private readonly accepted: AtSocket[] = [];
  private readonly readiness = new Readiness();

  constructor(
    readonly id: number,
    readonly type: number,
    private readonly host: AtSocketHost,
  ) {}

  // ---- what the link table and the driver report ----
  onConnect(): void {
    if (this.state === 'connecting') this.state = 'connected';
    this.notify();
  }
  onClosed(): void {
    this.eof = true;
    if (this.tx.bytes > 0) {
      this.sendError = new OSError(E.EPIPE, `the link closed with ${this.tx.bytes} bytes unsent`);
      this.tx.clear();
    }
    this.notify();
  }
  onDetached(): void {
    this.link = null;
    this.eof = true;
    this.notify();
  }
  onData(data: Uint8Array, remote: at.Remote | null): void {
    if (this.state === 'closed') return;
    if (this.type === C.SOCK_DGRAM) {
      if (this.dgramBytes + data.length > this.host.rxBuffer) {
        this.dropped++;
        return;
      }
      this.dgrams.push([data, remote ? [remote.ip, remote.port] : (this.remote ?? ['0.0.0.0', 0])]);
      this.dgramBytes += data.length;
    } else {
      this.rx.push(data);
    }
    this.notify();
  }
  room(): number {
    const held = this.type === C.SOCK_DGRAM ? this.dgramBytes : this.rx.bytes;
    return Math.max(0, this.host.rxBuffer - held);
  }
  /** CIPSTART finished: null = connected, else why not. */
  onConnectResult(err: OSError | null): void {
    if (this.state !== 'connecting') return;
    if (err) {
      this.state = 'new';
      this.connectError = err;
    } else this.state = 'connected';
    this.notify();
  }
  /** AT+CIPSEND of `n` queued bytes finished. */
  onSent(n: number, err: OSError | null): void {
    if (err) {
      this.sendError ??= err;
      this.tx.clear();
    } else this.tx.drop(n);
    this.notify();
  }
  /** A client the server accepted (called on the listening socket). */
  onAccepted(child: AtSocket): void {
    this.accepted.push(child);
    this.notify();
  }
  /** The device restarted or the serial link died: everything fails loudly. */
  fail(err: OSError): void {
    if (this.state === 'closed') return;
    this.link = null;
    if (this.state === 'connecting') this.onConnectResult(err);
    this.error = err;
    this.errorSeen = false;
    this.sendError ??= err;
    this.tx.clear();
    this.notify();
  }

  private notify(): void {
    this.readiness.notify();
  }

  wait(deadline: number, signal?: AbortSignal): Promise<void> {
    return this.readiness.wait(deadline, signal);
  }

  private checkOpen(): void {
    if (this.state === 'closed') throw osError('EBADF');
  }

  // ---- operations ----
  /**
   * TCP: 'inprogress' at once; the driver runs AT+CIPSTART (a blocking command on the module)
   * and reports through connectProgress(), so the socket's own timeout still applies.
   * UDP: opens the link (AT+CIPSTART "UDP", mode 2) and returns 'done'.
   */
  async connect(addr: SockAddr): Promise<'done' | 'inprogress'> {
    this.checkOpen();
    if (this.error) throw this.error;
    if (this.type === C.SOCK_DGRAM) {
      this.remote = addr;
      if (!this.link) await this.host.openUdp(this, addr);
      return 'done';
    }
    if (this.state === 'connecting') throw osError('EALREADY');
    if (this.state === 'connected') throw osError('EISCONN');
    if (this.state === 'listening') throw osError('EINVAL', 'socket is listening');
    this.connectError = null;
    this.remote = addr;
    this.host.connectTcp(this, addr); // throws ENFILE when every link is taken
    this.state = 'connecting';
    return 'inprogress';
  }

  /** IPPROTO_SEC: wrap_socket's options, written as AT+CIPSSLC* right before AT+CIPSTART "SSL". */
  async secure(o: DeviceTlsOptions): Promise<void> {
    this.checkOpen();
    if (!this.tls) throw osError('EINVAL', 'TLS options need a socket created with IPPROTO_SEC');
    if (this.state !== 'new') throw osError('EISCONN', 'wrap_socket must come before connect');
    this.sslConfig = atSslConfig(o);
  }

  connectProgress(): 'done' | 'inprogress' {
    this.checkOpen();
    if (this.connectError) {
      const err = this.connectError;
      this.connectError = null;
      throw err;
    }
    return this.state === 'connecting' ? 'inprogress' : 'done';
  }

  /**
   * Stream sockets only remember the address (the port goes into AT+CIPSERVER). A UDP socket
   * receives from the moment it is bound, so its link opens now.
   */
  async bind(addr: SockAddr): Promise<SockAddr> {
    this.checkOpen();
    if (this.link || this.state === 'listening') throw osError('EINVAL', 'socket already bound or connected');
    const before = this.local;
    this.local = addr;
    if (this.type !== C.SOCK_DGRAM) return addr;
    try {
      await this.host.openUdp(this, null);
    } catch (err) {
      this.local = before;
      throw err;
    }
    return this.local;
  }

  /** AT+CIPSERVER=1,<port>; ESP-AT has one server, so a second listen() raises EOPNOTSUPP. */
  async listen(_backlog: number): Promise<number> {
    this.checkOpen();
    if (this.type !== C.SOCK_STREAM) throw osError('EOPNOTSUPP', 'listen() needs a SOCK_STREAM socket');
    if (this.state === 'listening') return 0;
    if (this.state !== 'new') throw osError('EINVAL', 'socket is connected');
    await this.host.listen(this);
    this.state = 'listening';
    return 0;
  }

  async accept(): Promise<[DriverSocket, SockAddr]> {
    this.checkOpen();
    if (this.state !== 'listening') throw osError('EINVAL', 'socket is not listening');
    if (this.error) throw this.error;
    const child = this.accepted.shift();
    if (!child) throw WOULD_BLOCK;
    child.remote ??= await this.host.peerOf(child);
    return [child, child.remote];
  }

  send(data: Uint8Array): number {
    this.checkOpen();
    if (this.sendError) throw this.sendError;
    if (this.type === C.SOCK_DGRAM) {
      if (!this.remote) throw osError('ENOTCONN', 'UDP socket has no destination: use sendto()');
      const addr = this.remote;
      // Fire and forget like a UDP send; a failure makes the next send raise.
      this.host.sendDatagram(this, data.slice(), addr).catch((err: OSError) => {
        this.sendError ??= err;
      });
      return data.length;
    }
    if (this.state === 'connecting') throw WOULD_BLOCK;
    if (this.state !== 'connected') throw osError('ENOTCONN');
    if (this.eof) throw osError('EPIPE', 'the link is closed');
    const free = this.host.txBuffer - this.tx.bytes;
    if (free <= 0) throw WOULD_BLOCK;
    const n = Math.min(data.length, free);
    this.tx.push(data.slice(0, n)); // copied: the caller may reuse its buffer at once
    this.host.kick();
    return n;
  }

  async sendto(data: Uint8Array, addr: SockAddr): Promise<number> {
    this.checkOpen();
    if (this.type === C.SOCK_STREAM) return this.send(data);
    if (this.sendError) throw this.sendError;
    return this.host.sendDatagram(this, data.slice(), addr);
  }

  recv(n: number, peek = false): Uint8Array {
    this.checkOpen();
    if (this.type === C.SOCK_DGRAM) return this.recvfrom(n, peek)[0];
    if (this.rx.bytes > 0) {
      const out = peek ? this.rx.peek(n) : this.rx.take(n);
      if (!peek && this.link?.devData) this.host.kick(); // room again: fetch what the device holds
      return out;
    }
    if (this.error && !this.errorSeen) {
      this.errorSeen = true;
      throw this.error;
    }
    if (this.eof || this.errorSeen) return new Uint8Array(0);
    if (this.state === 'new' || this.state === 'listening') throw osError('ENOTCONN');
    throw WOULD_BLOCK;
  }

  recvfrom(n: number, peek = false): [Uint8Array, SockAddr] {
    this.checkOpen();
    if (this.type === C.SOCK_STREAM) return [this.recv(n, peek), this.remote ?? ['0.0.0.0', 0]];
    const head = this.dgrams[0];
    if (!head) {
      if (this.error && !this.errorSeen) {
        this.errorSeen = true;
        throw this.error;
      }
      throw WOULD_BLOCK;
    }
    if (!peek) {
      this.dgrams.shift();
      this.dgramBytes -= head[0].length;
      if (this.link?.devData) this.host.kick();
    }
    return [head[0].slice(0, n), head[1]];
  }

  /** Accepted and ignored: ESP-AT has no per-socket options for these (TCP_NODELAY etc. are global). */
  async setsockopt(level: number, option: number, _value: Uint8Array): Promise<void> {
    this.checkOpen();
    const known =
      (level === C.SOL_SOCKET && [C.SO_REUSEADDR, C.SO_KEEPALIVE, C.SO_BROADCAST].includes(option)) ||
      (level === C.IPPROTO_TCP && option === C.TCP_NODELAY);
    if (!known) throw osError('ENOPROTOOPT', `option ${level}/${option} is not supported over ESP-AT`);
  }

  revents(): number {
    if (this.state === 'closed') return P.POLLNVAL;
    if (this.type === C.SOCK_DGRAM) {
      const err = this.error ? P.POLLERR : 0;
      return err | P.POLLOUT | (this.dgrams.length > 0 ? P.POLLIN : 0);
    }
    if (this.state === 'listening') return (this.accepted.length > 0 ? P.POLLIN : 0) | (this.error ? P.POLLERR : 0);
    if (this.state === 'connecting') return 0;
    if (this.state === 'new') return this.connectError ? P.POLLERR | P.POLLHUP : P.POLLOUT | P.POLLHUP;
    let r = 0;
    if (this.rx.bytes > 0 || this.eof || this.error) r |= P.POLLIN;
    if (this.error) r |= this.errorSeen ? P.POLLHUP : P.POLLERR | P.POLLHUP;
    else if (this.eof && this.rx.bytes === 0) r |= P.POLLHUP;
    if (!this.error && !this.eof && this.tx.bytes < this.host.txBuffer) r |= P.POLLOUT;
    return r;
  }

  /** Sends what is still queued (bounded by the driver), then AT+CIPCLOSE. Twice is a no-op. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasListening = this.state === 'listening';
    this.state = 'closed';
    this.rx.clear();
    this.notify();
    if (wasListening) for (const child of this.accepted.splice(0)) await child.close();
    await this.host.release(this, wasListening);
  }
}

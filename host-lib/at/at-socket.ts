/**
 * The ESP-AT port of a device socket (the state machine itself is socket-core.ts). The device
 * only has links (ids 0–4); a socket gets one when it connects (TCP: AT+CIPSTART "TCP"; UDP:
 * AT+CIPSTART "UDP" with mode 2 at the first connect/sendto) or when a client is accepted.
 * `send` queues bytes that the driver writes with AT+CIPSEND in the background; received bytes
 * are fetched with AT+CIPRECVDATA only while the receive buffer has room, so the host never
 * over-buffers and TCP back-pressures the peer.
 */
import { type at, constants as C, errno as E } from '../../firmware-protocol/index.js';
import { ByteQueue } from '../byte-queue.js';
import type { DeviceTlsOptions, DriverSocket, SockAddr } from '../driver.js';
import { OSError, osError, WOULD_BLOCK } from '../errors.js';
import { SocketCore } from '../socket-core.js';
import type { LinkEntry, LinkSink } from './links.js';
import { AT_SSL_DEFAULT, type AtSslConfig, atSslConfig } from './ssl.js';
import { TCP_OPT_DEFAULT, type TcpOpt, withOption } from './tcp-options.js';

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
  /** AT+CIPTCPOPT for the socket's open link if its options differ from the module's (else nothing). */
  applyTcpOptions(sock: AtSocket): Promise<void>;
  kick(): void;
}

export class AtSocket extends SocketCore implements LinkSink {
  /** ESP-AT closes the whole link: after `<id>,CLOSED` nothing more can be sent. */
  protected readonly eofEndsSends = true;
  /** The device link this socket owns, if any. */
  link: LinkEntry | null = null;
  /** Address given to bind() (local port for UDP and servers). */
  local: SockAddr = ['0.0.0.0', 0];
  /** Created with IPPROTO_SEC: connects with AT+CIPSTART "SSL" (TLS on the module). */
  tls = false;
  /** The link's AT+CIPSSLC* settings for that connect (ssl.wrap_socket). */
  sslConfig: AtSslConfig = AT_SSL_DEFAULT;
  /** The AT+CIPTCPOPT values this socket asked for (written once its link is open). */
  tcpOpt: TcpOpt = TCP_OPT_DEFAULT;
  /** Bytes waiting to be written with AT+CIPSEND (stream sockets). */
  readonly tx = new ByteQueue();
  /** Datagrams dropped because the receive queue was full (UDP semantics). */
  dropped = 0;
  private readonly accepted: AtSocket[] = [];

  constructor(
    id: number,
    type: number,
    private readonly host: AtSocketHost,
  ) {
    super(id, type);
  }

  // ---- what the link table and the driver report ----
  onConnect(): void {
    this.connectDone(null);
  }
  onClosed(): void {
    if (this.tx.bytes > 0) {
      this.sendError = new OSError(E.EPIPE, `the link closed with ${this.tx.bytes} bytes unsent`);
      this.tx.clear();
    }
    this.markEof();
  }
  onDetached(): void {
    this.link = null;
    this.markEof();
  }
  onData(data: Uint8Array, remote: at.Remote | null): void {
    if (this.type !== C.SOCK_DGRAM) this.deliver(data);
    else if (this.dgramBytes + data.length > this.host.rxBuffer) this.dropped++;
    else this.deliverDatagram(data, remote ? [remote.ip, remote.port] : (this.remote ?? ['0.0.0.0', 0]));
  }
  room(): number {
    return Math.max(0, this.host.rxBuffer - this.held());
  }
  /**
   * AT+CIPSEND of `n` queued bytes finished. A failed one leaves a hole in the byte stream, so
   * the stream is broken, not just this send: recv and poll report the error too (as a TCP
   * stack resets a connection it cannot deliver on), and nothing queued after it goes out.
   */
  onSent(n: number, err: OSError | null): void {
    if (err) {
      this.sendError ??= err;
      if (this.type === C.SOCK_STREAM && !this.error) {
        this.error = err;
        this.errorSeen = false;
      }
      this.tx.clear();
    } else this.tx.drop(n);
    this.notify();
  }
  /** Bytes send() took that the module has not yet confirmed (SEND OK); throws what lost any. */
  unsent(): number {
    if (this.sendError) throw this.sendError;
    return this.tx.bytes;
  }
  /** A client the server accepted (called on the listening socket). */
  onAccepted(child: AtSocket): void {
    this.accepted.push(child);
    this.notify();
  }
  protected override onFail(): void {
    this.link = null;
    this.tx.clear();
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
    this.beginConnect();
    if (this.state === 'listening') throw osError('EINVAL', 'socket is listening');
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

  protected acceptReady(): boolean {
    return this.accepted.length > 0;
  }

  async accept(): Promise<[DriverSocket, SockAddr]> {
    this.checkCanAccept();
    const child = this.accepted.shift();
    if (!child) throw WOULD_BLOCK;
    child.remote ??= await this.host.peerOf(child);
    return [child, child.remote];
  }

  protected sendRoom(): number {
    return this.type === C.SOCK_DGRAM ? Number.POSITIVE_INFINITY : this.host.txBuffer - this.tx.bytes;
  }

  /** Stream: queued for AT+CIPSEND; UDP: one datagram to the connected destination. */
  protected transmit(data: Uint8Array): void {
    if (this.type === C.SOCK_DGRAM) {
      if (!this.remote) throw osError('ENOTCONN', 'UDP socket has no destination: use sendto()');
      // Fire and forget like a UDP send; a failure makes the next send raise.
      this.host.sendDatagram(this, new Uint8Array(data), this.remote).catch((err: OSError) => {
        this.sendError ??= err;
      });
      return;
    }
    // Copied (Buffer#slice would only make a view): the caller may reuse its buffer at once,
    // and the bytes go out later, at the `>` of an AT+CIPSEND.
    this.tx.push(new Uint8Array(data));
    this.host.kick();
  }

  async sendto(data: Uint8Array, addr: SockAddr): Promise<number> {
    this.checkOpen();
    if (this.type === C.SOCK_STREAM) return this.send(data);
    if (this.sendError) throw this.sendError;
    return this.host.sendDatagram(this, new Uint8Array(data), addr);
  }

  /** Room again: fetch what the device holds. */
  protected consumed(_n: number): void {
    if (this.link?.devData) this.host.kick();
  }

  /**
   * TCP_NODELAY and SO_KEEPALIVE become the link's AT+CIPTCPOPT (tcp-options.ts): now if the
   * link is open, else right after AT+CIPSTART. SO_REUSEADDR and SO_BROADCAST are accepted and
   * ignored (the module sets them itself).
   */
  async setsockopt(level: number, option: number, value: Uint8Array): Promise<void> {
    this.checkOpen();
    const next = this.type === C.SOCK_STREAM ? withOption(this.tcpOpt, level, option, value) : null;
    if (next) {
      this.tcpOpt = next;
      await this.host.applyTcpOptions(this);
      return;
    }
    const known =
      (level === C.SOL_SOCKET && [C.SO_REUSEADDR, C.SO_KEEPALIVE, C.SO_BROADCAST].includes(option)) ||
      (level === C.IPPROTO_TCP && option === C.TCP_NODELAY);
    if (!known) throw osError('ENOPROTOOPT', `option ${level}/${option} is not supported over ESP-AT`);
  }

  /** Sends what is still queued (bounded by the driver), then AT+CIPCLOSE. */
  protected async release(wasListening: boolean): Promise<void> {
    if (wasListening) for (const child of this.accepted.splice(0)) await child.close();
    await this.host.release(this, wasListening);
  }
}

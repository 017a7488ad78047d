/**
 * The one host-side state machine of a device socket, whatever the wire: its state, the receive
 * byte queue and datagram queue, the error reported once, connect progress, poll bits and
 * readiness. The SLIP and AT sockets extend it as thin protocol ports that supply only what
 * differs: starting a connect, handing bytes to the wire, returning credit, closing. Everything
 * here is non-blocking (see driver.ts); blocking and timeouts are built above, in socket.ts.
 *
 * ```ts
 * class MySocket extends SocketCore { ... }    // implement the abstract hooks below
 * sock.deliver(bytes);                          // the driver: bytes arrived for this socket
 * sock.recv(10);                                // the user's side: EAGAIN, bytes, or b'' at EOF
 * ```
 */
import { constants as C, errno as E, POLL_BITS as P } from '../firmware-protocol/index.js';
import { ByteQueue, Fifo } from './byte-queue.js';
import type { DriverSocket, SockAddr } from './driver.js';
import { OSError, osError, WOULD_BLOCK } from './errors.js';
import { Readiness } from './readiness.js';

export type SocketState = 'new' | 'connecting' | 'connected' | 'listening' | 'closed';

const NO_PEER: SockAddr = ['0.0.0.0', 0];

export abstract class SocketCore implements DriverSocket {
  state: SocketState = 'new';
  /** The peer (TCP) or default destination (connected UDP), once known. */
  remote: SockAddr | null = null;
  protected readonly rx = new ByteQueue();
  protected readonly dgrams = new Fifo<[Uint8Array, SockAddr]>();
  /** Bytes held in `dgrams`. */
  protected dgramBytes = 0;
  /** The peer closed its side (or the link): recv gives b'' once the queue is empty. */
  protected eof = false;
  /** What ended the connection; `errorSeen` once recv raised it (it is raised once, then EOF). */
  protected error: OSError | null = null;
  protected errorSeen = false;
  /** A failure only sends report (a lost write), raised by every later send. */
  protected sendError: OSError | null = null;
  private connectError: OSError | null = null;
  /** The device lost this socket (restart, hang, dead link): once seen, every call raises it. */
  protected orphaned = false;
  private readonly readiness = new Readiness();

  constructor(
    readonly id: number,
    readonly type: number,
  ) {}

  // ---- what differs per protocol ----
  abstract connect(addr: SockAddr): Promise<'done' | 'inprogress'>;
  abstract bind(addr: SockAddr): Promise<SockAddr>;
  abstract listen(backlog: number): Promise<number>;
  abstract accept(): Promise<[DriverSocket, SockAddr]>;
  abstract sendto(data: Uint8Array, addr: SockAddr): Promise<number>;
  abstract setsockopt(level: number, option: number, value: Uint8Array): Promise<void>;
  /** How many bytes send() may hand to the wire now. */
  protected abstract sendRoom(): number;
  /** Hands bytes that fit sendRoom() to the wire (in the background). */
  protected abstract transmit(data: Uint8Array): void;
  /** The user took `n` received bytes: room again (credit, fetch more). */
  protected abstract consumed(n: number): void;
  /** A listening socket has a connection to accept. */
  protected abstract acceptReady(): boolean;
  /** After close(): tells the device, once. */
  protected abstract release(wasListening: boolean): Promise<void>;
  /** Whether the peer's close also ends sending (ESP-AT closes the whole link; TCP half-closes). */
  protected abstract readonly eofEndsSends: boolean;

  // ---- what the driver reports ----
  /** Stream bytes arrived. */
  deliver(data: Uint8Array): void {
    if (this.state === 'closed') return;
    this.rx.push(data);
    this.notify();
  }
  /** A datagram arrived from `from`. */
  deliverDatagram(data: Uint8Array, from: SockAddr): void {
    if (this.state === 'closed') return;
    this.dgrams.push([data, from]);
    this.dgramBytes += data.length;
    this.notify();
  }
  /** The peer closed. */
  markEof(): void {
    this.eof = true;
    this.notify();
  }
  /** The connection failed with `err` (reported once by recv). */
  markError(err: OSError): void {
    this.error = err;
    this.notify();
  }
  /** A connect in progress finished: null = connected, else why not. */
  connectDone(err: OSError | null): void {
    if (this.state !== 'connecting') return;
    if (err) {
      this.state = 'new';
      this.connectError = err;
    } else this.state = 'connected';
    this.notify();
  }
  /** The device restarted or the link died: the socket fails loudly and never talks to the device again. */
  fail(err: OSError): void {
    this.orphaned = true;
    if (this.state === 'closed') return;
    this.connectDone(err);
    this.error = err;
    this.errorSeen = false;
    this.sendError ??= err;
    this.onFail();
    this.notify();
  }
  /** Port hook of fail(): drop what was on its way to the wire. */
  protected onFail(): void {}

  /** Received bytes and datagrams held, against the port's receive buffer. */
  protected held(): number {
    return this.type === C.SOCK_DGRAM ? this.dgramBytes : this.rx.bytes;
  }

  protected notify(): void {
    this.readiness.notify();
  }

  wait(deadline: number, signal?: AbortSignal): Promise<void> {
    return this.readiness.wait(deadline, signal);
  }

  protected checkOpen(): void {
    if (this.state === 'closed') throw osError('EBADF');
    if (this.orphaned && this.errorSeen && this.error) throw this.error;
  }

  /** The common refusals of a stream connect; forgets an earlier connect's failure. */
  protected beginConnect(): void {
    if (this.state === 'connecting') throw osError('EALREADY');
    if (this.state === 'connected') throw osError('EISCONN');
    this.connectError = null;
  }

  /** The common refusals of accept. */
  protected checkCanAccept(): void {
    this.checkOpen();
    if (this.state !== 'listening') throw osError('EINVAL', 'socket is not listening');
    if (this.error) throw this.error;
  }

  // ---- operations ----
  connectProgress(): 'done' | 'inprogress' {
    this.checkOpen();
    if (this.connectError) {
      const err = this.connectError;
      this.connectError = null;
      throw err;
    }
    return this.state === 'connecting' ? 'inprogress' : 'done';
  }

  send(data: Uint8Array): number {
    this.checkOpen();
    if (this.sendError) throw this.sendError;
    if (this.error) {
      // A reset already reported by recv is, to a writer, a broken pipe (as Linux says).
      const broken = this.error.errno === E.ECONNRESET && this.errorSeen && !this.orphaned;
      throw broken ? new OSError(E.EPIPE) : this.error;
    }
    if (this.type === C.SOCK_STREAM) {
      if (this.state === 'connecting') throw WOULD_BLOCK;
      if (this.state !== 'connected') throw osError('ENOTCONN');
      if (this.eof && this.eofEndsSends) throw osError('EPIPE', 'the link is closed');
    }
    const room = this.sendRoom();
    if (room <= 0) throw WOULD_BLOCK;
    const n = Math.min(data.length, room);
    this.transmit(n === data.length ? data : data.subarray(0, n));
    return n;
  }

  recv(n: number, peek = false): Uint8Array {
    this.checkOpen();
    if (this.type === C.SOCK_DGRAM) return this.recvfrom(n, peek)[0];
    if (this.rx.bytes > 0) {
      if (peek) return this.rx.peek(n);
      const out = this.rx.take(n);
      this.consumed(out.length);
      return out;
    }
    this.raiseErrorOnce();
    if (this.eof || this.errorSeen) return new Uint8Array(0);
    if (this.state === 'new' || this.state === 'listening') throw osError('ENOTCONN');
    throw WOULD_BLOCK;
  }

  recvfrom(n: number, peek = false): [Uint8Array, SockAddr] {
    this.checkOpen();
    if (this.type === C.SOCK_STREAM) return [this.recv(n, peek), this.remote ?? NO_PEER];
    const head = peek ? this.dgrams.peek() : this.dgrams.shift();
    if (!head) {
      this.raiseErrorOnce();
      if (this.error) throw this.error;
      throw WOULD_BLOCK;
    }
    if (!peek) {
      this.dgramBytes -= head[0].length;
      this.consumed(head[0].length);
    }
    return [head[0].slice(0, n), head[1]];
  }

  private raiseErrorOnce(): void {
    if (this.error && !this.errorSeen) {
      this.errorSeen = true;
      throw this.error;
    }
  }

  revents(): number {
    if (this.state === 'closed') return P.POLLNVAL;
    const err = this.error ? P.POLLERR : 0;
    if (this.type === C.SOCK_DGRAM) return err | P.POLLOUT | (this.dgrams.length > 0 ? P.POLLIN : 0);
    if (this.state === 'listening') return err | (this.acceptReady() ? P.POLLIN : 0);
    if (this.state === 'connecting') return 0;
    if (this.state === 'new') return this.connectError ? P.POLLERR | P.POLLHUP : P.POLLOUT | P.POLLHUP;
    let r = 0;
    if (this.rx.bytes > 0 || this.eof || this.error) r |= P.POLLIN;
    if (this.error) r |= this.errorSeen ? P.POLLHUP : P.POLLERR | P.POLLHUP;
    else if (this.eof && this.eofEndsSends && this.rx.bytes === 0) r |= P.POLLHUP;
    const sendsEnded = this.error !== null || (this.eof && this.eofEndsSends);
    if (!sendsEnded && this.sendRoom() > 0) r |= P.POLLOUT;
    return r;
  }

  /** Closes at once for the user (EBADF from now on), then tells the device. Twice is a no-op. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasListening = this.state === 'listening';
    this.state = 'closed';
    this.rx.clear();
    this.notify();
    await this.release(wasListening);
  }
}

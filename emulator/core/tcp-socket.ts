/**
 * A device TCP client socket over the virtual network. Never blocks: connect reports
 * 'inprogress' and completes through SocketNotify; received bytes wait in a bounded queue
 * (past `rxBuffer` the peer stream is paused, so a slow host never loses data).
 *
 * `rxBuffer` is also the stack's receive window (lwIP's TCP_WND): the app sees at most that much
 * at a time. The virtual network's peer can hand over more in one chunk (an HTTP body is one
 * write); on a real stack the bytes past the window are still the peer's, sent as the window
 * opens. Here they wait in the same queue and count as received as soon as a read opens the
 * window (the virtual network has no round trip), but one read never returns more than a window.
 */
import type { Duplex } from 'node:stream';
import type { NetInterface, TcpListener } from '../network/index.js';
import { AcceptQueue, type Pending } from './accept-queue.js';
import { type DeviceErrno, DeviceError, fromNetCode } from './device-error.js';
import type { TlsEndpoint } from './tls.js';
import type { SocketNotify, StreamRead } from './types.js';

type TcpState = 'new' | 'connecting' | 'connected' | 'listening' | 'closed';

export class TcpSocket {
  readonly kind = 'tcp';
  state: TcpState = 'new';
  peer?: [string, number];
  private stream?: Duplex;
  private rx: Uint8Array[] = [];
  private rxBytes = 0;
  private eof = false;
  private error?: DeviceErrno;
  private ended = false;
  private abort?: AbortController;
  private readonly pendingSends = new Set<(err: DeviceError) => void>();
  private bound?: TcpListener;
  private readonly accepts: AcceptQueue;
  /** Created with IPPROTO_SEC: TLS runs here, on the device (see tls.ts). */
  tls?: TlsEndpoint;
  /** Bytes received from the peer / taken by the network so far (live view). */
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly id: number,
    private readonly net: NetInterface,
    private readonly notify: SocketNotify,
    private readonly rxBuffer: number,
    /** A TCP connect with no answer gives up after this long with ETIMEDOUT (the profile's). */
    private readonly connectTimeoutMs = 20_000,
  ) {
    this.accepts = new AcceptQueue((pending) => this.notify.onAcceptable(this.id, pending));
  }

  /** Binds the local port (0 = pick one); the port is taken at once, so a second bind fails. */
  async bind(port: number): Promise<number> {
    if (this.bound) throw new DeviceError('EINVAL', 'socket already bound');
    if (this.state !== 'new') throw new DeviceError('EISCONN');
    try {
      this.bound = await this.net.listenTcp(port, (conn, peer) =>
        this.tls?.config.serverSide && this.accepts.listening
          ? this.tls.accept(conn, peer, this.accepts.offer)
          : this.accepts.offer(conn, peer),
      );
    } catch (err) {
      throw new DeviceError(fromNetCode((err as { code?: string }).code), (err as Error).message);
    }
    return this.bound.port;
  }

  /** Starts queueing connections; returns the loopback port that forwards to this listener. */
  async listen(backlog: number): Promise<number> {
    if (this.state === 'connected' || this.state === 'connecting') throw new DeviceError('EISCONN');
    this.tls?.checkListen();
    if (!this.bound) await this.bind(0);
    this.accepts.listen(backlog);
    this.state = 'listening';
    return this.bound?.forwardPort ?? 0;
  }

  get isListening(): boolean {
    return this.state === 'listening';
  }

  get pendingAccepts(): number {
    return this.accepts.length;
  }

  get localPort(): number {
    return this.bound?.port ?? 0;
  }

  /** The oldest queued connection; EAGAIN when none, EINVAL when not listening. */
  takeConnection(): Pending {
    if (this.state !== 'listening') throw new DeviceError('EINVAL', 'socket is not listening');
    const p = this.accepts.take();
    if (!p) throw new DeviceError('EAGAIN');
    return p;
  }

  putBack(p: Pending): void {
    this.accepts.putBack(p);
  }

  /** Starts a connect; always 'inprogress' (completion via notify.connected). */
  connect(ip: string, port: number): 'inprogress' {
    if (this.state === 'connecting') throw new DeviceError('EALREADY');
    if (this.state === 'connected') throw new DeviceError('EISCONN');
    this.tls?.begin();
    this.state = 'connecting';
    this.peer = [ip, port];
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const failed = (err: unknown): void => this.connectFailed(err);
    // Like lwIP giving up its SYN retries: a peer that never answers ends the connect here.
    const timer = setTimeout(() => {
      const why = `no answer from ${ip}:${port} within ${this.connectTimeoutMs} ms (the connect timeout)`;
      this.connectFailed(new DeviceError('ETIMEDOUT', why));
      this.abort?.abort();
    }, this.connectTimeoutMs);
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    this.net.connectTcp(ip, port, signal).then(
      (stream) => {
        clearTimeout(timer);
        // IPPROTO_SEC: the handshake is part of the connect; CONNECTED reports both.
        if (this.tls && this.state === 'connecting')
          this.tls.secure(stream, signal).then((s) => this.onConnected(s), failed);
        else this.onConnected(stream);
      },
      (err: unknown) => {
        clearTimeout(timer);
        failed(err);
      },
    );
    return 'inprogress';
  }

  private connectFailed(err: unknown): void {
    if (this.state !== 'connecting') return;
    this.state = 'new';
    this.tls?.end(); // a TLS session is held only by a connection
    const code = err instanceof DeviceError ? err.code : fromNetCode((err as { code?: string })?.code);
    this.notify.onConnected(this.id, code);
  }

  /** Adopts an already connected stream (accepted connections). */
  adopt(stream: Duplex, peer: [string, number]): void {
    this.peer = peer;
    this.state = 'connecting';
    this.onConnected(stream, false);
  }

  private onConnected(stream: Duplex, announce = true): void {
    if (this.state !== 'connecting') {
      stream.destroy();
      return;
    }
    this.state = 'connected';
    this.stream = stream;
    stream.on('data', (chunk: Uint8Array) => {
      this.bytesIn += chunk.length;
      this.rx.push(chunk);
      this.rxBytes += chunk.length;
      if (this.rxBytes >= this.rxBuffer) stream.pause();
      this.notify.onReadable(this.id);
    });
    stream.on('end', () => {
      this.eof = true;
      this.notify.onReadable(this.id);
    });
    stream.on('error', (err: { code?: string }) => {
      if (this.state === 'closed' || this.eof) return;
      this.error = fromNetCode(err?.code);
      this.notify.onReadable(this.id);
    });
    if (announce) this.notify.onConnected(this.id);
  }

  /** Resolves with the count once the network took the bytes (its write callback). */
  send(data: Uint8Array): Promise<number> {
    if (this.error) return Promise.reject(new DeviceError(this.error));
    if (this.state !== 'connected' || !this.stream) return Promise.reject(new DeviceError('ENOTCONN'));
    if (this.ended || this.stream.writableEnded) return Promise.reject(new DeviceError('EPIPE'));
    const stream = this.stream;
    return new Promise((resolve, reject) => {
      const fail = (err: DeviceError): void => {
        this.pendingSends.delete(fail);
        reject(err);
      };
      this.pendingSends.add(fail);
      stream.write(data, (err) => {
        if (!this.pendingSends.delete(fail)) return;
        if (err) reject(new DeviceError(this.error ?? 'ECONNRESET'));
        else {
          this.bytesOut += data.length;
          resolve(data.length);
        }
      });
    });
  }

  /** SHUT_WR (or RDWR): FIN after the bytes already written; later sends fail EPIPE, reading goes on. */
  shutdown(how: number): void {
    if (this.state !== 'connected' || !this.stream) throw new DeviceError('ENOTCONN');
    if (how === 0 || this.ended) return;
    this.ended = true;
    if (!this.stream.writableEnded) this.stream.end();
  }

  /** Takes up to `max` received bytes, or the stream's end, or nothing if none is waiting. */
  read(max: number): StreamRead {
    if (this.rxBytes > 0) return { data: this.take(Math.min(max, this.rxBuffer)) };
    if (this.error) return { error: this.error };
    if (this.eof) return { eof: true };
    return undefined;
  }

  private take(max: number): Uint8Array {
    const first = this.rx[0] as Uint8Array;
    let out: Uint8Array;
    if (first.length <= max) {
      out = first;
      this.rx.shift();
    } else {
      out = first.subarray(0, max);
      this.rx[0] = first.subarray(max);
    }
    this.rxBytes -= out.length;
    if (this.stream?.isPaused() && this.rxBytes < this.rxBuffer / 2) this.stream.resume();
    return out;
  }

  /** Bytes waiting to be delivered that the receive window holds (see the file comment). */
  get buffered(): number {
    return Math.min(this.rxBytes, this.rxBuffer);
  }

  get isWritable(): boolean {
    return this.state === 'connected' && !this.error && !this.ended;
  }

  get hasFailed(): boolean {
    return this.error !== undefined;
  }

  get peerClosed(): boolean {
    return this.eof;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.accepts.close();
    void this.bound?.close();
    this.abort?.abort();
    this.tls?.end();
    for (const fail of [...this.pendingSends]) fail(new DeviceError('EBADF'));
    if (this.stream) {
      // Graceful FIN when nothing went wrong, like lwIP's tcp_close; the stream is dropped after.
      const s = this.stream;
      s.removeAllListeners('data');
      s.on('error', () => {});
      if (!s.destroyed) s.end(() => s.destroy());
      setTimeout(() => s.destroy(), 10_000).unref();
    }
    this.rx = [];
    this.rxBytes = 0;
  }
}

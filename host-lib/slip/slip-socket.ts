/**
 * Host-side state of one device socket over the SLIP RPC: received bytes pushed by the
 * device (returned as credit once consumed), datagrams, connect progress, outstanding SEND
 * bytes within the device's txWindow. All operations are non-blocking (see driver.ts).
 */
import { constants as C, errno as E, POLL_BITS as P } from '../../firmware-protocol/index.js';
import type { DeviceTlsOptions, DriverSocket, SockAddr } from '../driver.js';
import { OSError, osError, WOULD_BLOCK } from '../errors.js';
import { Readiness } from '../readiness.js';
import type { SlipDriver } from './slip-driver.js';

type State = 'new' | 'connecting' | 'connected' | 'listening' | 'closed';

export class SlipSocket implements DriverSocket {
  state: State = 'new';
  private rx: Uint8Array[] = [];
  private rxBytes = 0;
  private readonly dgrams: [Uint8Array, SockAddr][] = [];
  private consumed = 0;
  private eof = false;
  /** Linux errno that ended the connection; `errorSeen` once recv raised it. */
  private error = 0;
  private errorText?: string;
  private errorSeen = false;
  /** The device lost this socket (restart, hang): its id may already name a new socket there. */
  private orphaned = false;
  private connectError = 0;
  private inflight = 0;
  private pendingAccepts = 0;
  /** A CONNECTED that overtook its CONNECT response (a device that breaks SPEC §4.4 order). */
  private earlyConnect?: number;
  private connectInFlight = false;
  private readonly readiness = new Readiness();

  constructor(
    readonly id: number,
    readonly type: number,
    private readonly drv: SlipDriver,
  ) {}

  // ---- events from the device (called by SlipDriver) ----
  onData(data: Uint8Array): void {
    this.rx.push(data);
    this.rxBytes += data.length;
    this.notify();
  }
  onDgram(data: Uint8Array, addr: SockAddr): void {
    this.dgrams.push([data, addr]);
    this.notify();
  }
  onEof(): void {
    this.eof = true;
    this.notify();
  }
  onError(errno: number): void {
    this.error = errno;
    this.notify();
  }
  onConnected(errno: number): void {
    if (this.state === 'new' && this.connectInFlight) {
      this.earlyConnect = errno;
      return;
    }
    if (this.state !== 'connecting') return;
    if (errno === 0) this.state = 'connected';
    else {
      this.state = 'new';
      this.connectError = errno;
    }
    this.notify();
  }
  onAcceptable(pending: number): void {
    this.pendingAccepts = pending;
    this.notify();
  }
  /** The device restarted or the link died: the socket fails loudly, and never talks to the device again. */
  fail(errno: number, text?: string): void {
    this.orphaned = true;
    if (this.state === 'closed') return;
    this.error = errno;
    this.errorText = text;
    this.errorSeen = false;
    this.inflight = 0;
    this.notify();
  }

  private raise(errno: number): never {
    throw new OSError(errno, errno === this.error ? this.errorText : undefined);
  }

  private notify(): void {
    this.readiness.notify();
  }

  wait(deadline: number, signal?: AbortSignal): Promise<void> {
    return this.readiness.wait(deadline, signal);
  }

  private checkOpen(): void {
    if (this.state === 'closed') throw osError('EBADF');
    if (this.orphaned && this.errorSeen) this.raise(this.error);
  }

  // ---- operations ----
  async connect(addr: SockAddr): Promise<'done' | 'inprogress'> {
    this.checkOpen();
    if (this.state === 'connecting') throw osError('EALREADY');
    if (this.state === 'connected') throw osError('EISCONN');
    this.connectError = 0;
    this.earlyConnect = undefined;
    this.connectInFlight = true;
    try {
      await this.drv.call('CONNECT', { sock: this.id, addr });
      this.state = 'connected';
      return 'done';
    } catch (err) {
      if (err instanceof OSError && err.errno === E.EINPROGRESS) {
        this.state = 'connecting';
        if (this.earlyConnect !== undefined) this.onConnected(this.earlyConnect);
        return 'inprogress';
      }
      throw err;
    } finally {
      this.connectInFlight = false;
    }
  }

  /** After 'inprogress': 'done', still 'inprogress', or throws the connect's error (once). */
  connectProgress(): 'done' | 'inprogress' {
    this.checkOpen();
    if (this.connectError) {
      const code = this.connectError;
      this.connectError = 0;
      throw new OSError(code);
    }
    return this.state === 'connected' ? 'done' : this.state === 'connecting' ? 'inprogress' : 'done';
  }

  async bind(addr: SockAddr): Promise<SockAddr> {
    this.checkOpen();
    return (await this.drv.call('BIND', { sock: this.id, addr })).addr;
  }

  async listen(backlog: number): Promise<number> {
    this.checkOpen();
    const r = await this.drv.call('LISTEN', { sock: this.id, backlog: Math.max(0, Math.min(255, backlog)) });
    this.state = 'listening';
    return r.forwardPort;
  }

  async accept(): Promise<[DriverSocket, SockAddr]> {
    this.checkOpen();
    if (this.state !== 'listening') throw osError('EINVAL', 'socket is not listening');
    if (this.pendingAccepts === 0) throw WOULD_BLOCK;
    const r = await this.drv.call('ACCEPT', { sock: this.id });
    this.pendingAccepts = Math.max(0, this.pendingAccepts - 1);
    const s = this.drv.adopt(r.sock, C.SOCK_STREAM);
    s.state = 'connected';
    return [s, r.addr];
  }

  send(data: Uint8Array): number {
    this.checkOpen();
    if (this.error) this.raise(this.error === E.ECONNRESET && this.errorSeen && !this.orphaned ? E.EPIPE : this.error);
    if (this.type === C.SOCK_STREAM && this.state !== 'connected') {
      if (this.state === 'connecting') throw WOULD_BLOCK;
      throw osError('ENOTCONN');
    }
    const free = this.drv.txWindow - this.inflight;
    if (free <= 0) throw WOULD_BLOCK;
    const n = Math.min(data.length, free);
    const step = this.drv.sendChunk;
    for (let at = 0; at < n; at += step) {
      const chunk = data.subarray(at, Math.min(n, at + step));
      this.inflight += chunk.length;
      this.drv.call('SEND', { sock: this.id, data: chunk }).then(
        () => this.sent(chunk.length),
        (err: OSError) => {
          this.sent(chunk.length);
          if (this.state !== 'closed' && !this.error) this.error = err.errno;
        },
      );
    }
    return n;
  }

  private sent(n: number): void {
    this.inflight -= n;
    this.notify();
  }

  async sendto(data: Uint8Array, addr: SockAddr): Promise<number> {
    this.checkOpen();
    if (this.type === C.SOCK_STREAM) return this.send(data);
    const max = this.drv.maxSendPayload - 19;
    if (data.length > max) throw osError('EMSGSIZE', `datagram larger than ${max} bytes`);
    return (await this.drv.call('SENDTO', { sock: this.id, addr, data })).count;
  }

  recv(n: number, peek = false): Uint8Array {
    this.checkOpen();
    if (this.type === C.SOCK_DGRAM) return this.recvfrom(n, peek)[0];
    if (this.rxBytes > 0) return this.take(n, peek);
    if (this.error && !this.errorSeen) {
      this.errorSeen = true;
      this.raise(this.error);
    }
    if (this.eof || this.errorSeen) return new Uint8Array(0);
    if (this.state === 'new' || this.state === 'listening') throw osError('ENOTCONN');
    throw WOULD_BLOCK;
  }

  private take(n: number, peek: boolean): Uint8Array {
    if (peek) return concatUpTo(this.rx, n);
    const out = new Uint8Array(Math.min(n, this.rxBytes));
    let o = 0;
    while (o < out.length) {
      const head = this.rx[0] as Uint8Array;
      const k = Math.min(head.length, out.length - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.rx.shift();
      else this.rx[0] = head.subarray(k);
    }
    this.rxBytes -= out.length;
    this.consume(out.length);
    return out;
  }

  recvfrom(n: number, peek = false): [Uint8Array, SockAddr] {
    this.checkOpen();
    if (this.type === C.SOCK_STREAM) {
      const data = this.recv(n, peek);
      return [data, this.drv.peerOf(this.id)];
    }
    const head = this.dgrams[0];
    if (!head && this.error) this.raise(this.error);
    if (!head) throw WOULD_BLOCK;
    if (!peek) {
      this.dgrams.shift();
      this.consume(head[0].length);
    }
    return [head[0].slice(0, n), head[1]];
  }

  private consume(n: number): void {
    this.consumed += n;
    if (this.consumed >= this.drv.creditStep) {
      this.drv.credit(this.id, this.consumed);
      this.consumed = 0;
    }
  }

  /** TLS_WRAP (SPEC §4.5): an IPPROTO_SEC socket's TLS options; the handshake then runs in CONNECT. */
  async secure(o: DeviceTlsOptions): Promise<void> {
    this.checkOpen();
    if (o.alpn.length > 0) throw osError('EOPNOTSUPP', 'TLS_WRAP carries no ALPN: use host-side TLS for ALPN');
    const { serverSide, certReqs, sslVersion, keyfile, certfile, caCerts, serverHostname } = o;
    await this.drv.call('TLS_WRAP', {
      ...{ sock: this.id, serverSide: serverSide ? 1 : 0, certReqs, sslVersion },
      ...{ keyfile, certfile, caCerts, serverHostname },
    });
  }

  async setsockopt(level: number, option: number, value: Uint8Array): Promise<void> {
    this.checkOpen();
    await this.drv.call('SETSOCKOPT', { sock: this.id, level, option, value });
  }

  revents(): number {
    if (this.state === 'closed') return P.POLLNVAL;
    if (this.type === C.SOCK_DGRAM) return P.POLLOUT | (this.dgrams.length > 0 ? P.POLLIN : 0);
    if (this.state === 'listening') return this.pendingAccepts > 0 ? P.POLLIN : 0;
    if (this.state === 'connecting') return 0;
    if (this.state === 'new') return this.connectError ? P.POLLERR | P.POLLHUP : P.POLLOUT | P.POLLHUP;
    let r = 0;
    if (this.rxBytes > 0 || this.eof || this.error) r |= P.POLLIN;
    if (this.error) r |= this.errorSeen ? P.POLLHUP : P.POLLERR | P.POLLHUP;
    else if (this.inflight < this.drv.txWindow) r |= P.POLLOUT;
    return r;
  }

  /**
   * Closes at once for the user (EBADF from now on), but lets SENDs already taken reach the device
   * first (SPEC §4.4 "Closing"), as lwIP sends what is queued: bounded by `flushMs`.
   */
  async close(flushMs = 5000): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.rx = [];
    this.rxBytes = 0;
    this.notify();
    if (this.orphaned) return;
    const deadline = Date.now() + flushMs;
    while (this.inflight > 0 && !this.error && Date.now() < deadline) await this.wait(deadline);
    await this.drv.release(this.id);
  }
}

function concatUpTo(chunks: Uint8Array[], n: number): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(Math.min(n, total));
  let o = 0;
  for (const c of chunks) {
    if (o >= out.length) break;
    const k = Math.min(c.length, out.length - o);
    out.set(c.subarray(0, k), o);
    o += k;
  }
  return out;
}

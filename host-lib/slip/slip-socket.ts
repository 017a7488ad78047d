/**
 * The SLIP RPC port of a device socket (the state machine itself is socket-core.ts): connects
 * with CONNECT, hands bytes to the wire as SEND requests within the device's txWindow, returns
 * received bytes as CREDIT once consumed, and closes with CLOSE. Non-blocking (see driver.ts).
 */
import {
  ByteRing,
  constants as C,
  errno as E,
  type RequestBody,
  type RequestOp,
  type ResponseBody,
} from '../../firmware-protocol/index.js';
import { ByteQueue, Fifo } from '../byte-queue.js';
import type { DeviceTlsOptions, DriverSocket, SockAddr } from '../driver.js';
import { OSError, osError, WOULD_BLOCK } from '../errors.js';
import { SocketCore } from '../socket-core.js';

/** What a socket needs from the SLIP driver (slip-driver.ts). */
export interface SlipSocketHost {
  call<N extends RequestOp>(op: N, body: RequestBody<N>): Promise<ResponseBody<N>>;
  /** Registers a socket id the device created (ACCEPT). */
  adopt(id: number, type: number): SlipSocket;
  /** ACCEPT, keeping the new connection's earliest events until it is adopted. */
  accept(sock: number): Promise<{ sock: number; addr: SockAddr }>;
  /** The device's receive window per socket, bytes. */
  readonly txWindow: number;
  /** SEND payload per frame now. */
  readonly sendChunk: number;
  /** A SEND built now would go out without waiting in the reliable link (see LinkState.room). */
  readonly frameRoom: boolean;
  /** Calls `s.cutSends()` once the link has room again. */
  waitRoom(s: SlipSocket): void;
  /** Largest SEND payload that fits the device's frames. */
  readonly maxSendPayload: number;
  /** Consumed bytes are returned in steps of this size. */
  readonly creditStep: number;
  credit(sock: number, bytes: number): void;
  /** CLOSE on the device. */
  release(id: number): Promise<void>;
  /** The device implements SHUTDOWN (SPEC rev 1.2, capability bit 8). */
  readonly canShutdown: boolean;
}

/** Bounds of a stream socket's send ring (see copyTaken). */
const SEND_RING_MIN = 16 * 1024;
const SEND_RING_MAX = 256 * 1024;

export class SlipSocket extends SocketCore {
  protected readonly eofEndsSends = false;
  /** Received bytes consumed but not yet returned as credit. */
  private unCredited = 0;
  /** Bytes send() took and the device has not answered yet (cut into SENDs or still in `uncut`). */
  private inflight = 0;
  /** Bytes send() took that are not cut into SEND frames yet (see cutSends). */
  private readonly uncut = new ByteQueue();
  /** A SEND that failed, or was on its way when the socket failed: its bytes are lost. */
  private sendLost: OSError | null = null;
  /**
   * A stream socket's taken bytes are copied into this ring, which is used again once their SENDs
   * are answered (the link has dropped them by then), instead of a fresh copy per send: fresh bytes
   * pace V8's full GCs on a bulk transfer (docs/performance.md item 32). Made on the first send;
   * dropped for good when a SEND fails (its frame may still be resent), copies are fresh after that.
   */
  private sendRing?: ByteRing | null;
  /** Per taken copy in the ring, oldest first: its end in bytes taken, and the ring's mark after it. */
  private readonly ringMarks = new Fifo<{ end: number; mark: number }>();
  private takenBytes = 0;
  private answeredBytes = 0;
  private pendingAccepts = 0;
  /** A CONNECTED that overtook its CONNECT response (a device that breaks SPEC §4.4 order). */
  private earlyConnect?: number;
  private connectInFlight = false;

  constructor(
    id: number,
    type: number,
    private readonly drv: SlipSocketHost,
  ) {
    super(id, type);
  }

  // ---- events from the device (called by SlipDriver) ----
  /** CONNECTED: 0, or the Linux errno the connect failed with. */
  onConnected(errno: number): void {
    if (this.state === 'new' && this.connectInFlight) {
      this.earlyConnect = errno;
      return;
    }
    this.connectDone(errno === 0 ? null : new OSError(errno));
  }
  onAcceptable(pending: number): void {
    this.pendingAccepts = pending;
    this.notify();
  }
  protected override onFail(): void {
    if (this.inflight > 0) {
      // SENDs still on their way may be resent after this: their ring bytes are never reused.
      this.sendRing = null;
      this.sendLost ??= this.error;
    }
    this.inflight = 0;
    this.uncut.clear();
  }

  // ---- operations ----
  async connect(addr: SockAddr): Promise<'done' | 'inprogress'> {
    this.checkOpen();
    this.beginConnect();
    this.earlyConnect = undefined;
    this.connectInFlight = true;
    try {
      await this.drv.call('CONNECT', { sock: this.id, addr });
      this.state = 'connected';
      this.remote = addr;
      return 'done';
    } catch (err) {
      if (err instanceof OSError && err.errno === E.EINPROGRESS) {
        this.state = 'connecting';
        this.remote = addr;
        if (this.earlyConnect !== undefined) this.onConnected(this.earlyConnect);
        return 'inprogress';
      }
      throw err;
    } finally {
      this.connectInFlight = false;
    }
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

  protected acceptReady(): boolean {
    return this.pendingAccepts > 0;
  }

  async accept(): Promise<[DriverSocket, SockAddr]> {
    this.checkCanAccept();
    if (this.pendingAccepts === 0) throw WOULD_BLOCK;
    const r = await this.drv.accept(this.id);
    this.pendingAccepts = Math.max(0, this.pendingAccepts - 1);
    const s = this.drv.adopt(r.sock, C.SOCK_STREAM);
    s.state = 'connected';
    s.remote = r.addr;
    return [s, r.addr];
  }

  protected sendRoom(): number {
    return this.drv.txWindow - this.inflight;
  }

  /**
   * Takes the bytes; SEND frames are cut from them as the reliable link has room (cutSends). A
   * datagram socket's send is one datagram per call, so its bytes are cut at once and never joined.
   */
  protected transmit(data: Uint8Array): void {
    // A copy: the reliable link may queue or resend these frames after the caller reused its buffer.
    const taken = this.copyTaken(data);
    this.inflight += taken.length;
    this.uncut.push(taken);
    if (this.type === C.SOCK_STREAM) this.cutSends();
    else this.cutAll();
  }

  /**
   * Cuts SEND frames from the bytes taken while a frame built now would go out at once, then waits
   * for the link's room: each frame gets the payload size of the moment it goes, as the device's
   * DATA does. Cut when send() was called, a sendall's 64 KiB went out in the frame size of its
   * first moment (1 KiB at the start of an upload), whatever the link learnt meanwhile.
   */
  cutSends(): void {
    while (this.uncut.bytes > 0) {
      if (!this.drv.frameRoom) {
        this.drv.waitRoom(this);
        return;
      }
      this.sendFrame(this.uncut.take(this.drv.sendChunk));
    }
  }

  /** Cuts everything taken now, whatever the room: what follows (CLOSE, SHUTDOWN) goes behind it. */
  private cutAll(): void {
    while (this.uncut.bytes > 0) this.sendFrame(this.uncut.take(this.drv.sendChunk));
  }

  /** In the send ring while it has room (a stream socket), else a fresh copy. */
  private copyTaken(data: Uint8Array): Uint8Array {
    if (this.sendRing === undefined && this.type === C.SOCK_STREAM)
      // Twice the window holds what may be in flight, however the ring turns; the device's u32
      // txWindow is capped (beyond the ring, copies are fresh).
      this.sendRing = new ByteRing(Math.min(Math.max(2 * this.drv.txWindow, SEND_RING_MIN), SEND_RING_MAX));
    if (!this.sendRing) return new Uint8Array(data);
    const taken = this.sendRing.alloc(data.length);
    taken.set(data);
    this.takenBytes += data.length;
    this.ringMarks.push({ end: this.takenBytes, mark: this.sendRing.mark });
    return taken;
  }

  /** SENDs of a stream socket are answered in order: copies wholly answered give their ring bytes back. */
  private answered(n: number): void {
    if (!this.sendRing) return;
    this.answeredBytes += n;
    let mark = -1;
    for (let m = this.ringMarks.peek(); m && m.end <= this.answeredBytes; m = this.ringMarks.peek()) {
      mark = m.mark;
      this.ringMarks.shift();
    }
    if (mark >= 0) this.sendRing.release(mark);
  }

  /** One SEND; a failed one ends the socket, and the bytes not cut yet are lost with it. */
  private sendFrame(chunk: Uint8Array): void {
    this.drv.call('SEND', { sock: this.id, data: chunk }).then(
      () => {
        this.answered(chunk.length);
        this.sent(chunk.length);
      },
      (err: OSError) => {
        // The link may still hold (and resend) this frame or later ones: the ring is never reused again.
        this.sendRing = null;
        this.sendLost ??= err;
        if (this.state !== 'closed' && !this.error) this.error = err;
        this.inflight -= this.uncut.bytes;
        this.uncut.clear();
        this.sent(chunk.length);
      },
    );
  }

  /** Bytes send() took whose SEND the device has not answered yet; throws the error that lost any. */
  unsent(): number {
    if (this.sendLost) throw this.sendLost;
    return this.inflight;
  }

  /**
   * A SEND was answered. Writers are woken once a quarter of the window is free (or all of it, or on
   * an error), not per answer: a blocked sendall then hands over several frames per wake instead of
   * one (each wake runs the whole blocking-send path). POLLOUT itself still shows any room at once.
   */
  private sent(n: number): void {
    const before = this.sendRoom();
    this.inflight = Math.max(0, this.inflight - n); // after fail() zeroed it, its SENDs still settle
    const wakeAt = this.drv.txWindow >> 2;
    const crossed = before < wakeAt && this.sendRoom() >= wakeAt;
    if (crossed || this.inflight === 0 || this.sendLost) this.notify();
  }

  async sendto(data: Uint8Array, addr: SockAddr): Promise<number> {
    this.checkOpen();
    if (this.type === C.SOCK_STREAM) return this.send(data);
    const max = this.drv.maxSendPayload - 19;
    if (data.length > max) throw osError('EMSGSIZE', `datagram larger than ${max} bytes`);
    return (await this.drv.call('SENDTO', { sock: this.id, addr, data: new Uint8Array(data) })).count;
  }

  /** Credit goes back in steps (SPEC §4.3), so a fast reader costs few CREDIT frames. */
  protected consumed(n: number): void {
    this.unCredited += n;
    if (this.unCredited >= this.drv.creditStep) {
      this.drv.credit(this.id, this.unCredited);
      this.unCredited = 0;
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

  /** SHUTDOWN (SPEC rev 1.2): queued behind the SENDs already taken, so the FIN follows their bytes. */
  async shutdown(how: number): Promise<void> {
    this.checkOpen();
    if (!this.drv.canShutdown) throw osError('EOPNOTSUPP', 'the device has no SHUTDOWN (SPEC rev 1.2)');
    this.cutAll();
    await this.drv.call('SHUTDOWN', { sock: this.id, how });
  }

  async setsockopt(level: number, option: number, value: Uint8Array): Promise<void> {
    this.checkOpen();
    await this.drv.call('SETSOCKOPT', { sock: this.id, level, option, value });
  }

  /**
   * Lets SENDs already taken reach the device first (SPEC §4.4 "Closing"), as lwIP sends what
   * is queued, bounded by `flushMs`; then CLOSE. An orphaned socket's id means nothing any more.
   */
  protected async release(_wasListening: boolean, flushMs = 5000): Promise<void> {
    if (this.orphaned) return;
    const deadline = Date.now() + flushMs;
    while (this.inflight > 0 && !this.error && Date.now() < deadline) await this.wait(deadline);
    if (!this.orphaned) this.cutAll(); // what the flush left goes ahead of the CLOSE, as before
    await this.drv.release(this.id);
  }
}

/**
 * The SLIP RPC driver: the hello handshake, socket creation, events routed to their
 * sockets, device status → OSError (Linux numbering) at one place, and restart detection
 * by boot nonce.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  constants as C,
  CAP,
  errno as E,
  type ErrnoBase,
  type EventMsg,
  FRAME_OVERHEAD,
  LineRate,
  PROTOCOL_VERSION,
  type RequestBody,
  type RequestOp,
  type ResponseBody,
  toLinuxErrno,
} from '../../firmware-protocol/index.js';
import type { AddrInfo, Driver, SockAddr } from '../driver.js';
import { OSError } from '../errors.js';
import { Files } from '../files.js';
import { lendReads } from '../serial/read-pool.js';
import { copiesWrites } from '../transports.js';
import { KeepAlive } from './keepalive.js';
import { LinkError, RpcClient, StatusError } from './rpc-client.js';
import { SlipSocket } from './slip-socket.js';

/** Window slots SENDs leave free for other frames (see frameRoom). */
const SEND_RESERVE = 4;

export interface SlipDriverOptions {
  /** Largest frame this host accepts (default 16 KiB + overhead). */
  maxFrame?: number;
  /** Receive window per socket, bytes (default 64 KiB). */
  rxWindow?: number;
  /** Deadline for each request's response, ms (default 5000, or 30000 while the reliable link is on). */
  requestTimeoutMs?: number;
  /** Deadline for the hello handshake, ms (default 3000). */
  helloTimeoutMs?: number;
  /** Ask for the reliable link of SPEC §7 (default true): retransmission, ordering, no duplicates. */
  reliable?: boolean;
  /**
   * The line's speed when it is a UART (openDevice's `baudRate`): the reliable link then counts each
   * frame's own line time into its timeout (a 1 KiB frame is 89 ms at 115200). Unset (socket://): the
   * link learns it from how soon its frames are acknowledged (firmware-protocol/line-rate.ts).
   */
  baudRate?: number;
  /**
   * PING the device after this long without hearing from it, ms (default 500; 0 = never). The
   * answer carries the boot nonce (SPEC §4.4 rev 1.1), so a board replaced behind an open link is
   * noticed within about `keepaliveMs` + a quarter of it, even when its BOOT was lost.
   */
  keepaliveMs?: number;
  /**
   * A PING unanswered for this long, with nothing else heard from the device meanwhile, means
   * the device hangs, ms (default 1500: with `keepaliveMs`, a silent board is noticed within 3 s).
   */
  keepaliveTimeoutMs?: number;
}

export interface HelloInfo {
  profile: string;
  capabilities: number;
  maxFrame: number;
  txWindow: number;
  maxSockets: number;
  errnoBase: ErrnoBase;
  bootNonce: string;
}

export class SlipDriver extends EventEmitter implements Driver {
  private readonly rpc: RpcClient;
  private readonly sockets = new Map<number, SlipSocket>();
  /**
   * Events for an id not adopted yet: an ACCEPT's response and the new connection's first DATA
   * come in one read, and the events are handled before the response's continuation adopts the
   * id. Kept (only while an ACCEPT runs) and replayed by adopt(); ids being closed are not kept.
   */
  private readonly early = new Map<number, EventMsg[]>();
  private readonly closing = new Set<number>();
  /** Sockets with bytes to cut into SENDs, waiting for the link's room (SlipSocket.cutSends). */
  private readonly roomWaiters = new Set<SlipSocket>();
  private acceptsRunning = 0;
  private info?: HelloInfo;
  private readonly keepalive: KeepAlive;
  /** The line's speed: the port's baud rate, else learnt by the reliable link (kept across sessions). */
  private readonly lineRate: LineRate;
  private recovering = false;
  /** Why the device was declared lost (no answer); every call fails at once until a HELLO succeeds. */
  private lost: string | null = null;
  private closed = false;
  private fileStore?: Files;
  readonly rxWindow: number;
  readonly maxFrame: number;

  private constructor(transport: Duplex, opts: SlipDriverOptions) {
    super();
    this.maxFrame = opts.maxFrame ?? 16384 + FRAME_OVERHEAD + 1;
    this.rxWindow = opts.rxWindow ?? 65536;
    this.lineRate = new LineRate(opts.baudRate);
    this.rpc = new RpcClient(transport, {
      maxFrame: this.maxFrame,
      requestTimeoutMs: opts.requestTimeoutMs ?? 5000,
      // With the reliable link a request is never lost, only slow on a noisy line; the link's own
      // death (retries exhausted) reports a dead device sooner than this.
      reliableTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      reliable: opts.reliable,
      link: { lineRate: this.lineRate },
      onEvent: (ev) => this.onEvent(ev),
      onBadFrame: (reason) => this.emit('bad-frame', reason),
      onClose: (err) => this.failSockets(E.ECONNRESET, `link closed: ${err?.message ?? ''}`),
      onLinkDead: () => this.sessionLost(E.ETIMEDOUT, 'coprocessor not responding (link lost)', 'hang'),
      reuseWireBytes: copiesWrites(transport),
      chunkDone: lendReads(transport),
    });
    this.rpc.reliable.onRoom = () => this.resumeSenders();
    this.keepalive = new KeepAlive(
      transport,
      this.rpc,
      {
        paused: () => this.recovering || this.closed,
        ping: async (deadlineMs) => (await this.call('PING', { payload: new Uint8Array(0) }, deadlineMs)).payload,
        answered: (payload) => this.checkNonce(payload),
        silent: () => {
          if (!this.closed) this.sessionLost(E.ETIMEDOUT, 'coprocessor not responding', 'hang');
        },
      },
      { everyMs: opts.keepaliveMs ?? 500, answerMs: opts.keepaliveTimeoutMs ?? 1500 },
    );
  }

  /** A keep-alive answer: 8 bytes = the answering board's boot nonce (empty from a rev 1.0 device). */
  private checkNonce(payload: Uint8Array): void {
    if (payload.length !== 8 || !this.info || this.recovering) return;
    const nonce = Buffer.from(payload).toString('hex');
    if (nonce !== this.info.bootNonce)
      this.sessionLost(E.ECONNRESET, 'coprocessor restarted (a new boot answered the keep-alive)', 'reset', nonce);
  }

  /** Opens a session on `transport`: hello, retried until `helloTimeoutMs` (a booting device may miss the first). */
  static async open(transport: Duplex, opts: SlipDriverOptions = {}): Promise<SlipDriver> {
    const drv = new SlipDriver(transport, opts);
    const deadline = Date.now() + (opts.helloTimeoutMs ?? 3000);
    for (;;) {
      try {
        await drv.hello(Math.min(500, Math.max(50, deadline - Date.now())));
        drv.keepalive.start();
        return drv;
      } catch (err) {
        if (!(err instanceof OSError && err.errno === E.ETIMEDOUT) || Date.now() >= deadline) {
          drv.rpc.close();
          throw err instanceof OSError && err.errno === E.ETIMEDOUT
            ? new OSError(E.ETIMEDOUT, 'no SLIP RPC coprocessor answered the hello handshake')
            : err;
        }
      }
    }
  }

  private async hello(timeoutMs: number): Promise<void> {
    const r = await this.call(
      'HELLO',
      { version: PROTOCOL_VERSION, maxFrame: this.maxFrame, rxWindow: this.rxWindow },
      timeoutMs,
    );
    this.info = {
      profile: r.profile,
      capabilities: r.capabilities,
      maxFrame: r.maxFrame,
      txWindow: r.txWindow,
      maxSockets: r.maxSockets,
      errnoBase: r.errnoBase === 1 ? 'newlib' : 'linux',
      bootNonce: Buffer.from(r.bootNonce).toString('hex'),
    };
  }

  get session(): HelloInfo {
    if (!this.info) throw new Error('no session');
    return this.info;
  }
  get profile(): string {
    return this.session.profile;
  }
  get maxSockets(): number {
    return this.session.maxSockets;
  }
  get txWindow(): number {
    return this.session.txWindow;
  }
  /** Largest SEND payload that fits the device's frames. */
  get maxSendPayload(): number {
    return this.session.maxFrame - FRAME_OVERHEAD - 1;
  }
  /** SEND payload per frame now: the device's limit, smaller while the reliable link sees losses. */
  get sendChunk(): number {
    return Math.min(this.maxSendPayload, this.rpc.reliable.link?.payloadLimit ?? Number.POSITIVE_INFINITY);
  }

  /**
   * A SEND built now goes out at once: the link holds no frame back for the line, and a few slots
   * of its window stay free for requests and CREDIT (a keep-alive PING is not queued behind SENDs).
   */
  get frameRoom(): boolean {
    return this.rpc.reliable.room > SEND_RESERVE;
  }

  waitRoom(s: SlipSocket): void {
    this.roomWaiters.add(s);
  }

  /** The link gained room: the waiting sockets cut SENDs in turn (one that still waits goes last). */
  private resumeSenders(): void {
    for (const s of [...this.roomWaiters]) {
      this.roomWaiters.delete(s);
      s.cutSends();
    }
  }

  /** SPEC rev 1.2: the device half-closes (SHUTDOWN). */
  get canShutdown(): boolean {
    return (this.session.capabilities & CAP.shutdown) !== 0;
  }

  /** Credit is returned in steps of a quarter window: few CREDIT frames, never a stall. */
  get creditStep(): number {
    return Math.max(1, this.rxWindow >> 2);
  }
  get badFrames(): number {
    return this.rpc.badFrames;
  }

  /** The device's file store (SPEC §4.5); EOPNOTSUPP per call where the device announced none. */
  get files(): Files {
    this.fileStore ??= new Files(this);
    return this.fileStore;
  }

  /** UART_CONFIG: the device answers at the old speed, then switches. */
  async setLineSpeed(baudRate: number): Promise<void> {
    await this.call('UART_CONFIG', { baudRate, dataBits: 8, parity: 0, stopBits: 1 });
    this.lineRate.setBaud(baudRate);
    this.rpc.reliable.setLineRate(baudRate / 10);
  }

  /** One request, with the device's status turned into OSError (Linux numbering). */
  async call<N extends RequestOp>(op: N, body: RequestBody<N>, timeoutMs?: number): Promise<ResponseBody<N>> {
    // Once lost, a request would only wait out its own deadline (ARCHITECTURE §9: fail at once).
    if (this.lost !== null && op !== 'HELLO') throw new OSError(E.ETIMEDOUT, `${this.lost} (link lost)`);
    try {
      return await this.rpc.request(op, body, timeoutMs);
    } catch (err) {
      if (err instanceof StatusError && err.status === E.EPERM && op !== 'HELLO' && this.info && !this.recovering) {
        // "hello first": the device has no session, so it restarted and we missed its BOOT.
        this.sessionLost(E.ECONNRESET, 'coprocessor restarted (session lost)', 'reset');
        throw new OSError(E.ECONNRESET, 'coprocessor restarted (session lost)');
      }
      if (err instanceof StatusError) {
        const code = this.info ? toLinuxErrno(err.status, this.info.errnoBase) : err.status;
        throw new OSError(code, err.message || undefined);
      }
      if (err instanceof LinkError) {
        const code = err.code === 'ETIMEDOUT' ? E.ETIMEDOUT : err.code === 'ECONNRESET' ? E.ECONNRESET : E.EIO;
        throw new OSError(code, err.message);
      }
      throw err;
    }
  }

  credit(sock: number, bytes: number): void {
    this.rpc.event({ kind: 'event', op: 'CREDIT', body: { sock, bytes } });
  }

  async socket(family: number, type: number, proto: number): Promise<SlipSocket> {
    if (proto === C.IPPROTO_SEC && (this.session.capabilities & CAP.tlsOnDevice) === 0) {
      throw new OSError(
        E.EPROTONOSUPPORT,
        `IPPROTO_SEC: the ${this.profile} coprocessor does no TLS itself; ` +
          'connect a plain socket and wrap it with ssl.wrap_socket (TLS on the host)',
      );
    }
    const { sock } = await this.call('SOCKET', { family, type, proto });
    return this.adopt(sock, type);
  }

  /** Registers a socket id the device created (SOCKET or ACCEPT). */
  adopt(id: number, type: number): SlipSocket {
    const s = new SlipSocket(id, type, this);
    this.sockets.set(id, s);
    const early = this.early.get(id);
    this.early.delete(id);
    for (const ev of early ?? []) this.onEvent(ev);
    return s;
  }

  /** ACCEPT, with the new connection's earliest events kept until it is adopted. */
  async accept(sock: number): Promise<{ sock: number; addr: SockAddr }> {
    this.acceptsRunning++;
    try {
      return await this.call('ACCEPT', { sock });
    } finally {
      // The caller adopts the id a few microtasks from now; what nobody adopted is dropped later.
      if (--this.acceptsRunning === 0) setTimeout(() => this.acceptsRunning === 0 && this.early.clear(), 1000).unref();
    }
  }

  /** CLOSE on the device; the id is forgotten here first, so late events are ignored. */
  async release(id: number): Promise<void> {
    this.sockets.delete(id);
    this.closing.add(id);
    try {
      await this.call('CLOSE', { sock: id });
    } catch (err) {
      if (!(err instanceof OSError && (err.errno === E.EBADF || err.errno === E.EIO))) throw err;
    } finally {
      this.closing.delete(id);
      this.early.delete(id);
    }
  }

  async getaddrinfo(host: string, port: number, family = 0, type = 0, proto = 0, flags = 0): Promise<AddrInfo[]> {
    return (await this.call('GETADDRINFO', { host, port, family, type, proto, flags })).entries;
  }

  private onEvent(ev: EventMsg): void {
    if (ev.op === 'BOOT') {
      this.onBoot(Buffer.from(ev.body.bootNonce).toString('hex'));
      return;
    }
    if (ev.op === 'CREDIT' || ev.op === 'ACK') return;
    const s = this.sockets.get(ev.body.sock);
    if (!s) {
      if (this.acceptsRunning > 0 && !this.closing.has(ev.body.sock)) {
        const list = this.early.get(ev.body.sock) ?? [];
        list.push(ev);
        this.early.set(ev.body.sock, list);
      }
      return;
    }
    const errnoOf = (status: number): number => toLinuxErrno(status, this.info?.errnoBase ?? 'linux');
    switch (ev.op) {
      case 'DATA':
        s.deliver(ev.body.data);
        break;
      case 'DGRAM':
        s.deliverDatagram(ev.body.data, ev.body.addr);
        break;
      case 'CONNECTED':
        s.onConnected(ev.body.status === 0 ? 0 : errnoOf(ev.body.status));
        break;
      case 'EOF':
        s.markEof();
        break;
      case 'SOCKERR':
        s.markError(new OSError(errnoOf(ev.body.status)));
        break;
      case 'ACCEPTABLE':
        s.onAcceptable(ev.body.pending);
        break;
    }
  }

  /** A BOOT with a new nonce means the coprocessor restarted: fail every socket, re-hello. */
  private onBoot(nonce: string): void {
    if (!this.info || nonce === this.info.bootNonce || this.recovering) return;
    this.sessionLost(E.ECONNRESET, 'coprocessor restarted', 'reset', nonce);
  }

  /**
   * The device's session is gone (restart, hang, dead link): every socket and pending request fails
   * with `errno` and `why`, the sockets are forgotten (their ids mean nothing to the device any
   * more), `event` is emitted ('reset' or 'hang'), and the handshake is re-run until it succeeds.
   */
  private sessionLost(errno: number, why: string, event: 'reset' | 'hang', bootNonce?: string): void {
    if (this.closed) return;
    if (event === 'hang') this.lost = why;
    this.failSockets(errno, why);
    this.sockets.clear();
    this.roomWaiters.clear();
    this.rpc.reliable.disable();
    this.rpc.failAll(new LinkError(errno === E.ECONNRESET ? 'ECONNRESET' : 'ETIMEDOUT', why));
    this.emit(event, { reason: why, bootNonce });
    void this.recover(event === 'hang');
  }

  /** Re-runs HELLO (backing off up to 2 s) until the device answers or the driver is closed. */
  private async recover(announceRestart: boolean): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    const before = this.info?.bootNonce;
    try {
      for (let delay = 50; !this.closed; delay = Math.min(2000, delay * 2)) {
        try {
          await this.hello(1000);
          this.lost = null;
          if (announceRestart && this.info?.bootNonce !== before)
            this.emit('reset', { reason: 'new session', bootNonce: this.info?.bootNonce });
          this.emit('ready', this.info);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, delay).unref());
        }
      }
    } finally {
      this.recovering = false;
    }
  }

  private failSockets(errno: number, why: string): void {
    for (const s of this.sockets.values()) s.fail(new OSError(errno, why));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.keepalive.stop();
    for (const s of [...this.sockets.values()]) await s.close().catch(() => {});
    this.rpc.close();
  }
}

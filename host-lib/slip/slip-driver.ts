/**
 * The SLIP RPC driver: the hello handshake, socket creation, events routed to their
 * sockets, device status → OSError (Linux numbering) at one place, and restart detection
 * by boot nonce.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  type ErrnoBase,
  type EventMsg,
  FRAME_OVERHEAD,
  PROTOCOL_VERSION,
  type RequestBody,
  type RequestOp,
  type ResponseBody,
  errno as E,
  toLinuxErrno,
} from '../../firmware-protocol/index.js';
import type { AddrInfo, Driver, SockAddr } from '../driver.js';
import { OSError } from '../errors.js';
import { LinkError, RpcClient, StatusError } from './rpc-client.js';
import { SlipSocket } from './slip-socket.js';

export interface SlipDriverOptions {
  /** Largest frame this host accepts (default 16 KiB + overhead). */
  maxFrame?: number;
  /** Receive window per socket, bytes (default 64 KiB). */
  rxWindow?: number;
  /** Deadline for each request's response, ms (default 5000). */
  requestTimeoutMs?: number;
  /** Deadline for the hello handshake, ms (default 3000). */
  helloTimeoutMs?: number;
  /** Ask for the reliable link of SPEC §7 (default true): retransmission, ordering, no duplicates. */
  reliable?: boolean;
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
  private readonly peers = new Map<number, SockAddr>();
  private info?: HelloInfo;
  readonly rxWindow: number;
  readonly maxFrame: number;

  private constructor(
    link: Duplex,
    private readonly opts: SlipDriverOptions,
  ) {
    super();
    this.maxFrame = opts.maxFrame ?? 16384 + FRAME_OVERHEAD + 1;
    this.rxWindow = opts.rxWindow ?? 65536;
    this.rpc = new RpcClient(link, {
      maxFrame: this.maxFrame,
      requestTimeoutMs: opts.requestTimeoutMs ?? 5000,
      reliable: opts.reliable,
      onEvent: (ev) => this.onEvent(ev),
      onBadFrame: (reason) => this.emit('bad-frame', reason),
      onClose: (err) => this.failSockets(E.ECONNRESET, `link closed: ${err?.message ?? ''}`),
    });
  }

  /** Opens a session on `link`: hello, retried until `helloTimeoutMs` (a booting device may miss the first). */
  static async open(link: Duplex, opts: SlipDriverOptions = {}): Promise<SlipDriver> {
    const drv = new SlipDriver(link, opts);
    const deadline = Date.now() + (opts.helloTimeoutMs ?? 3000);
    for (;;) {
      try {
        await drv.hello(Math.min(500, Math.max(50, deadline - Date.now())));
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
    const r = await this.call('HELLO', { version: PROTOCOL_VERSION, maxFrame: this.maxFrame, rxWindow: this.rxWindow }, timeoutMs);
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
  /** Credit is returned in steps of a quarter window: few CREDIT frames, never a stall. */
  get creditStep(): number {
    return Math.max(1, this.rxWindow >> 2);
  }
  get badFrames(): number {
    return this.rpc.badFrames;
  }

  /** One request, with the device's status turned into OSError (Linux numbering). */
  async call<N extends RequestOp>(op: N, body: RequestBody<N>, timeoutMs?: number): Promise<ResponseBody<N>> {
    try {
      return await this.rpc.request(op, body, timeoutMs);
    } catch (err) {
      if (err instanceof StatusError) {
        const code = this.info ? toLinuxErrno(err.status, this.info.errnoBase) : err.status;
        throw new OSError(code, err.message || undefined);
      }
      if (err instanceof LinkError) throw new OSError(err.code === 'ETIMEDOUT' ? E.ETIMEDOUT : E.EIO, err.message);
      throw err;
    }
  }

  credit(sock: number, bytes: number): void {
    this.rpc.event({ kind: 'event', op: 'CREDIT', body: { sock, bytes } });
  }

  async socket(family: number, type: number, proto: number): Promise<SlipSocket> {
    const { sock } = await this.call('SOCKET', { family, type, proto });
    return this.adopt(sock, type);
  }

  /** Registers a socket id the device created (SOCKET or ACCEPT). */
  adopt(id: number, type: number): SlipSocket {
    const s = new SlipSocket(id, type, this);
    this.sockets.set(id, s);
    return s;
  }

  peerOf(id: number): SockAddr {
    return this.peers.get(id) ?? ['0.0.0.0', 0];
  }

  /** CLOSE on the device; the id is forgotten here first, so late events are ignored. */
  async release(id: number): Promise<void> {
    this.sockets.delete(id);
    this.peers.delete(id);
    try {
      await this.call('CLOSE', { sock: id });
    } catch (err) {
      if (!(err instanceof OSError && (err.errno === E.EBADF || err.errno === E.EIO))) throw err;
    }
  }

  async getaddrinfo(host: string, port: number, family = 0, type = 0, proto = 0, flags = 0): Promise<AddrInfo[]> {
    return (await this.call('GETADDRINFO', { host, port, family, type, proto, flags })).entries;
  }

  private onEvent(ev: EventMsg): void {
    if (ev.op === 'BOOT') return this.onBoot(Buffer.from(ev.body.bootNonce).toString('hex'));
    if (ev.op === 'CREDIT' || ev.op === 'ACK') return;
    const s = this.sockets.get(ev.body.sock);
    if (!s) return;
    const errnoOf = (status: number): number => toLinuxErrno(status, this.info?.errnoBase ?? 'linux');
    switch (ev.op) {
      case 'DATA':
        return s.onData(ev.body.data);
      case 'DGRAM':
        return s.onDgram(ev.body.data, ev.body.addr);
      case 'CONNECTED':
        return s.onConnected(ev.body.status === 0 ? 0 : errnoOf(ev.body.status));
      case 'EOF':
        return s.onEof();
      case 'SOCKERR':
        return s.onError(errnoOf(ev.body.status));
      case 'ACCEPTABLE':
        return s.onAcceptable(ev.body.pending);
    }
  }

  /** A BOOT with a new nonce means the coprocessor restarted: fail every socket, re-hello. */
  private onBoot(nonce: string): void {
    if (!this.info || nonce === this.info.bootNonce) return;
    this.failSockets(E.ECONNRESET, 'coprocessor restarted');
    this.emit('reset', { bootNonce: nonce });
    this.hello(3000).catch((err: Error) => this.emit('error', err));
  }

  private failSockets(errno: number, _why: string): void {
    for (const s of this.sockets.values()) s.fail(errno);
  }

  async close(): Promise<void> {
    for (const s of [...this.sockets.values()]) await s.close().catch(() => {});
    this.rpc.close();
  }
}

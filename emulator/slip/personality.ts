/**
 * The SLIP RPC firmware personality (firmware-protocol/SPEC.md): a Duplex that IS the device's
 * UART. Host bytes written into it are decoded into requests and run against the socket table;
 * responses and events are pushed out as SLIP frames. Received data is pushed within the host's
 * credit and paused while the UART's output buffer is full, so a slow line never loses bytes.
 */
import { Duplex } from 'node:stream';
import {
  CAP,
  type DecodedItem,
  encodeWire,
  FLAG_RELIABLE,
  FRAME_OVERHEAD,
  fromLinuxErrno,
  LinkDriver,
  type Message,
  MessageDecoder,
  PROTOCOL_VERSION,
  RecyclingSlab,
  type RequestMsg,
  type ResponseBody,
} from '../../firmware-protocol/index.js';
import { DeviceError, deviceErrno } from '../core/device-error.js';
import { SocketTable } from '../core/socket-table.js';
import type { SocketNotify } from '../core/types.js';
import type { FileStore } from '../files/index.js';
import { runRequest, type SlipBoard } from './handlers.js';
import { invalidRequest, type SlipPersonalityOptions } from './options.js';
import { OutputQueue } from './output-queue.js';
import { invalidAnswer, responseTo } from './replies.js';

export type { Forward, SlipPersonalityOptions } from './options.js';

/** Link window slots kept free of DATA/DGRAM, so a response or event never waits behind them. */
const LINK_RESERVE = 4;

interface Session {
  hostMaxFrame: number;
  rxWindow: number;
}

export class SlipPersonality extends Duplex implements SocketNotify, SlipBoard {
  readonly table: SocketTable;
  bootNonce: Uint8Array;
  private readonly decoder: MessageDecoder;
  /** SPEC §7 reliable link; on after a HELLO that asked for it. */
  readonly link: LinkDriver;
  private helloFlags = 0;
  private session?: Session;
  private eventSeq = 0;
  private outputBlocked = false;
  private readonly out = new OutputQueue();
  /** Set by recycleOutput: wire frames are cut from it instead of the shared blocks. */
  private wireAlloc?: RecyclingSlab;
  private readonly credit = new Map<number, number>();
  private readonly finished = new Set<number>();
  private readonly waiting = new Set<number>();
  /** Sockets whose CONNECT is not answered yet: their CONNECTED event and data wait for the answer. */
  private readonly connectUnanswered = new Map<number, DeviceError['code'] | 'ok' | undefined>();
  badFrames = 0;

  constructor(private readonly opts: SlipPersonalityOptions) {
    // A small readable buffer: frames wait in `out`, where resends and ACKs can still overtake.
    // Paced, one frame at most waits below the queue (the pacer holds the one being sent): the
    // host's link counts on our acknowledgements within two of our frames (link.ts lineFloorMs).
    super({ readableHighWaterMark: opts.baud ? 1 : 4 * 1024, writableHighWaterMark: 64 * 1024 });
    this.table = new SocketTable(opts.profile, opts.network, this);
    this.decoder = new MessageDecoder(opts.profile.maxFrame);
    this.link = new LinkDriver(
      (m) => this.pushRaw(m),
      // The host stopped acknowledging: it is gone; a new HELLO starts over.
      () => this.endSession(),
      opts.baud ? { lineBytesPerSecond: opts.baud / 10 } : {},
    );
    this.link.onRoom = () => this.resumeWaiting();
    this.bootNonce = opts.random.bytes(8);
    this.emitEvent({
      kind: 'event',
      seq: 0,
      op: 'BOOT',
      body: { version: PROTOCOL_VERSION, bootNonce: this.bootNonce },
    });
  }

  /**
   * From now on wire frames are cut from blocks used again once the returned report has been told
   * of every byte pushed (written to the host, copied, or dropped). For a reader that reports all
   * of them: the emulator's pty transport (docs/performance.md item 32).
   */
  recycleOutput(): (done: Uint8Array) => void {
    this.wireAlloc ??= new RecyclingSlab(64 * 1024, 32 * 1024);
    const slab = this.wireAlloc;
    return (done) => slab.done(done);
  }

  /**
   * Restarts the device as a power cycle would: every socket is gone, the session is over, a new
   * boot nonce is announced with BOOT. Bytes already queued for the host are still delivered.
   */
  reboot(): void {
    this.link.disable();
    this.table.closeAll();
    this.credit.clear();
    this.finished.clear();
    this.waiting.clear();
    this.connectUnanswered.clear();
    this.session = undefined;
    this.out.resetNumbering();
    this.bootNonce = this.opts.random.bytes(8);
    this.eventSeq = 0;
    this.emitEvent({
      kind: 'event',
      seq: 0,
      op: 'BOOT',
      body: { version: PROTOCOL_VERSION, bootNonce: this.bootNonce },
    });
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const item of this.decoder.push(chunk)) this.onItem(item);
    done();
  }

  override _read(): void {
    if (!this.outputBlocked) return;
    this.outputBlocked = false;
    this.flushOut();
    if (!this.outputBlocked) this.resumeWaiting();
  }

  private flushOut(): void {
    this.out.drain((wire) => {
      const ok = this.push(wire);
      if (!ok) this.outputBlocked = true;
      return ok;
    });
  }

  private resumeWaiting(): void {
    if (this.waiting.size === 0) return;
    for (const id of [...this.waiting]) this.onReadable(id);
  }

  /**
   * DATA and DGRAM frames are built only while the reliable link's window has room (a few slots
   * stay free for responses and events): a frame built now gets the link's current payload limit,
   * and a stalled window does not pile up frames sized for a cleaner line (SPEC §7 "Frame size").
   */
  private get canPush(): boolean {
    return !this.outputBlocked && this.link.room > LINK_RESERVE;
  }

  /** The host is gone (its link died): drop its sockets and wait for a new HELLO. */
  private endSession(): void {
    this.table.closeAll();
    this.credit.clear();
    this.session = undefined;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.out.clear();
    this.link.disable();
    this.table.closeAll();
    cb(err);
  }

  private onItem(item: DecodedItem): void {
    if (item.type === 'bad-frame') {
      this.badFrames++;
      this.opts.onBadFrame?.(item.reason);
      if (item.request) this.receive(invalidRequest(item.request, item.reason));
      return;
    }
    if (item.msg.op === 'HELLO' && item.msg.kind === 'request') {
      // HELLO is unnumbered and restarts the link (SPEC §7); the reply says whether it is granted.
      this.link.disable();
      this.helloFlags = (item.msg.flags ?? 0) & FLAG_RELIABLE;
    }
    this.receive(item.msg);
  }

  private receive(incoming: Message): void {
    for (const msg of this.link.receive(incoming)) {
      if (msg.invalid !== undefined) this.answerInvalid(msg);
      else if (msg.kind === 'request') void this.onRequest(msg as RequestMsg);
      else if (msg.kind === 'event' && msg.op === 'CREDIT') this.addCredit(msg.body.sock, msg.body.bytes);
    }
  }

  /** SPEC §2: a request with a good CRC but an unknown opcode or a malformed body is answered EINVAL. */
  private answerInvalid(stand: Message): void {
    this.pushMessage(invalidAnswer(stand, this.opts.profile.errnoBase));
  }

  private async onRequest(req: RequestMsg): Promise<void> {
    if (req.op !== 'HELLO' && req.op !== 'PING' && !this.session) {
      this.reply(req, undefined, new DeviceError('EPERM', 'hello first'));
      return;
    }
    const connecting = req.op === 'CONNECT' ? req.body.sock : -1;
    if (connecting >= 0) this.connectUnanswered.set(connecting, undefined);
    try {
      const body = await runRequest(this, req);
      this.reply(req, body);
    } catch (err) {
      this.reply(req, undefined, err);
    }
    if (connecting >= 0) this.flushConnect(connecting);
  }

  /** SPEC §4.4: CONNECTED follows the CONNECT response, even when the connect won the race. */
  private flushConnect(id: number): void {
    const outcome = this.connectUnanswered.get(id);
    this.connectUnanswered.delete(id);
    if (outcome !== undefined) this.onConnected(id, outcome === 'ok' ? undefined : outcome);
    this.onReadable(id);
  }

  /** Starts a new session (SPEC §4.4): every socket of the previous host is closed. */
  startSession(hostMaxFrame: number, rxWindow: number): ResponseBody<'HELLO'> {
    this.table.closeAll();
    this.credit.clear();
    this.finished.clear();
    this.waiting.clear();
    this.connectUnanswered.clear();
    this.session = { hostMaxFrame, rxWindow };
    const p = this.opts.profile;
    let caps = CAP.tcp | CAP.udp | CAP.server | CAP.pingNonce | CAP.shutdown; // every profile: BIND/LISTEN/ACCEPT, SHUTDOWN
    if (p.tlsOnDevice) caps |= CAP.tlsOnDevice;
    if (this.opts.files) caps |= CAP.files;
    return {
      version: PROTOCOL_VERSION,
      profile: p.name,
      capabilities: caps,
      maxFrame: p.maxFrame,
      txWindow: p.txWindow,
      maxSockets: p.maxSockets,
      errnoBase: p.errnoBase === 'linux' ? 0 : 1,
      bootNonce: this.bootNonce,
    };
  }

  /** LISTEN: starts the listener and reports where the machine can reach it. */
  async listen(id: number, backlog: number): Promise<number> {
    const forwardPort = await this.table.listen(id, backlog);
    const s = this.table.get(id);
    if (forwardPort && s.kind === 'tcp')
      this.opts.onForward?.({ ip: this.table.net.ip, port: s.localPort, forwardPort });
    return forwardPort;
  }

  /** A fresh socket starts with the host's whole window as credit. */
  openCredit(id: number): void {
    this.credit.set(id, this.session?.rxWindow ?? 0);
    this.finished.delete(id);
  }

  forget(id: number): void {
    this.credit.delete(id);
    this.finished.delete(id);
    this.waiting.delete(id);
  }

  private addCredit(id: number, bytes: number): void {
    if (!this.credit.has(id)) return;
    this.credit.set(id, (this.credit.get(id) ?? 0) + bytes);
    this.onReadable(id);
  }

  private reply(req: RequestMsg, body: unknown, err?: unknown): void {
    if (err === undefined && req.op === 'HELLO') {
      const flags = this.opts.reliable === false ? 0 : this.helloFlags;
      this.pushRaw({ kind: 'response', seq: req.seq, op: req.op, status: 0, body, flags } as Message);
      if (flags) {
        this.out.resetNumbering();
        this.link.enable();
      }
      return;
    }
    this.pushMessage(responseTo(req, body, err, this.opts.profile.errnoBase));
  }

  private emitEvent(msg: Message): boolean {
    (msg as { seq: number }).seq = this.eventSeq;
    this.eventSeq = (this.eventSeq + 1) & 0xffff;
    return this.pushMessage(msg);
  }

  /** Through the reliable link when it is on (numbered, retransmitted), else straight out. */
  private pushMessage(msg: Message): boolean {
    if (msg.op === 'BOOT') return this.pushRaw(msg);
    this.link.send(msg);
    return !this.outputBlocked;
  }

  private pushRaw(msg: Message): boolean {
    if (this.destroyed) return false;
    // Bodies built by this device are typed; skip zod on the hot data path.
    this.out.add(msg, encodeWire(msg, msg.op !== 'DATA', this.wireAlloc));
    if (!this.outputBlocked) this.flushOut();
    return !this.outputBlocked;
  }

  /** Host bytes held for an unfinished frame (fault and fuzz tests check it stays bounded). */
  get inputPending(): number {
    return this.decoder.pending;
  }

  /** The file store, if the board has one. */
  get files(): FileStore | undefined {
    return this.opts.files;
  }

  /** Largest `rest` field after the status in a response the host accepts (FILE_READ data). */
  get maxResponseData(): number {
    return (this.session?.hostMaxFrame ?? 1034) - FRAME_OVERHEAD - 2;
  }

  /** Payload one frame to the host can carry at most (its maxFrame). */
  private get frameLimit(): number {
    return (this.session?.hostMaxFrame ?? 1034) - FRAME_OVERHEAD - 1;
  }

  /** DATA payload per frame: the host's limit, smaller while the reliable link sees losses. */
  private get maxPayload(): number {
    return Math.min(this.frameLimit, this.link.link?.payloadLimit ?? this.frameLimit);
  }

  // SocketNotify: the socket table reports readiness; push what the credit allows.
  onReadable(id: number): void {
    const s = this.table.find(id);
    if (!s || !this.session || this.finished.has(id) || this.connectUnanswered.has(id)) return;
    if (!this.canPush) {
      this.waiting.add(id);
      return;
    }
    this.waiting.delete(id);
    if (s.kind === 'udp') this.pumpDatagrams(id);
    else this.pumpStream(id);
  }

  private pumpStream(id: number): void {
    const s = this.table.find(id);
    while (s?.kind === 'tcp' && this.canPush) {
      const credit = this.credit.get(id) ?? 0;
      if (s.buffered > 0 && credit === 0) return;
      const r = s.read(Math.min(credit, this.maxPayload));
      if (!r) return;
      if ('data' in r) {
        this.credit.set(id, credit - r.data.length);
        this.emitEvent({ kind: 'event', seq: 0, op: 'DATA', body: { sock: id, data: r.data } });
      } else {
        this.finished.add(id);
        if ('eof' in r) this.emitEvent({ kind: 'event', seq: 0, op: 'EOF', body: { sock: id } });
        else
          this.emitEvent({ kind: 'event', seq: 0, op: 'SOCKERR', body: { sock: id, status: this.errnoOf(r.error) } });
        return;
      }
    }
    if (!this.canPush) this.waiting.add(id);
  }

  private pumpDatagrams(id: number): void {
    const s = this.table.find(id);
    while (s?.kind === 'udp' && this.canPush) {
      const credit = this.credit.get(id) ?? 0;
      // A datagram larger than a frame is truncated (SPEC §4.4), so cap what we ask for.
      // Datagrams cannot be split: only the host's frame size limits them, never the link's
      // adaptive payload size (that would truncate a datagram because the line was noisy).
      const room = this.frameLimit - 19;
      const next = s.nextSize;
      if (next < 0 || Math.min(next, room) > credit) return;
      const d = s.readDgram(Number.MAX_SAFE_INTEGER);
      if (!d) return;
      const data = d.data.length > room ? d.data.subarray(0, room) : d.data;
      this.credit.set(id, credit - data.length);
      this.emitEvent({ kind: 'event', seq: 0, op: 'DGRAM', body: { sock: id, addr: d.addr, data } });
    }
    if (!this.canPush) this.waiting.add(id);
  }

  onConnected(id: number, error?: DeviceError['code']): void {
    if (!this.table.find(id)) return;
    if (this.connectUnanswered.has(id)) {
      this.connectUnanswered.set(id, error ?? 'ok');
      return;
    }
    const status = error ? this.errnoOf(error) : 0;
    this.emitEvent({ kind: 'event', seq: 0, op: 'CONNECTED', body: { sock: id, status } });
  }

  onAcceptable(id: number, pending: number): void {
    this.emitEvent({ kind: 'event', seq: 0, op: 'ACCEPTABLE', body: { sock: id, pending } });
  }

  errnoOf(code: DeviceError['code']): number {
    return fromLinuxErrno(deviceErrno(code), this.opts.profile.errnoBase);
  }
}

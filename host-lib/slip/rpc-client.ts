/**
 * The host end of the SLIP RPC link: pipelined requests matched to responses by sequence
 * number, unsolicited events handed to a listener, and a deadline on every request (a dead
 * coprocessor gives a clear error, never a hang). Bad frames are counted and reported; the
 * decoder resynchronises at the next END by itself.
 */
import type { Duplex } from 'node:stream';
import {
  ByteRing,
  type DecodedItem,
  type EventMsg,
  encodeWire,
  FLAG_RELIABLE,
  joinSmall,
  LinkDriver,
  type LinkOptions,
  type Message,
  MessageDecoder,
  type RequestBody,
  type RequestOp,
  type ResponseBody,
} from '../../firmware-protocol/index.js';

/** A failed response: status as the device sent it (device numbering; < 0 = resolver). */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The link is gone or the device did not answer in time; `code` is stable. */
export class LinkError extends Error {
  constructor(
    readonly code: 'ETIMEDOUT' | 'ECLOSED' | 'ECONNRESET',
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  op: RequestOp;
  resolve(body: unknown): void;
  reject(err: Error): void;
  /** When it fails with ETIMEDOUT (ms epoch), and the timeout it was given. */
  deadline: number;
  timeoutMs: number;
  /**
   * With the default timeout over the reliable link: when the request's frame left the line by the
   * link's model (the device could answer no sooner): estimated when it is made (behind the frames
   * held before it), then known when the link first sends it (see onSent). The deadline counts from
   * there plus how long the answer may wait behind the device's own frames, as that is known at the
   * deadline (see answerDue).
   */
  from?: number;
  /** The request as given to the link (no answer is due while the link holds it back). */
  msg?: Message;
}

export interface RpcClientOptions {
  /** Largest unescaped frame this host accepts. */
  maxFrame: number;
  /** Default deadline for a response, ms. */
  requestTimeoutMs: number;
  /** The same while the reliable link is on (default: requestTimeoutMs). */
  reliableTimeoutMs?: number;
  onEvent(ev: EventMsg): void;
  onBadFrame?(reason: string): void;
  onClose?(err?: Error): void;
  /** Ask for the reliable link of SPEC §7 in HELLO (default true). */
  reliable?: boolean;
  link?: Partial<LinkOptions>;
  /** The reliable link gave up: no acknowledgement after its retries. */
  onLinkDead?(): void;
  /**
   * The transport is done with a written array when it calls back (a serial port, a TCP socket: the
   * kernel has a copy): wire frames are then cut from a ring used again once written, instead of
   * fresh blocks (docs/performance.md item 32). Not for a transport that may pass the array on (the
   * in-process line, a trace tap).
   */
  reuseWireBytes?: boolean;
  /** Called with each transport chunk once it is decoded: nothing of it is kept (serial/read-pool.ts `lendReads`). */
  chunkDone?(chunk: Uint8Array): void;
}

/** The wire ring (reuseWireBytes): a flush in flight is rarely above 32 KiB, a burst of a window 64. */
const WIRE_RING_BYTES = 256 * 1024;

/** Frames written in one job below this size go to the transport as one write (see writeRaw). */
const JOIN_BELOW = 2048;
const RESOLVED = Promise.resolve();

export class RpcClient {
  private readonly decoder: MessageDecoder;
  private readonly pending = new Map<number, Pending>();
  /**
   * One timer for every request's deadline, set for the earliest (a setTimeout + clearTimeout per
   * request was a measurable share of a small request's round trip); cleared when none waits.
   */
  private deadlineTimer?: NodeJS.Timeout;
  private deadlineAt = 0;
  private seq = 0;
  private eventSeq = 0;
  private closed?: Error;
  badFrames = 0;
  private readonly inbox: Uint8Array[] = [];
  /** Wire frames written in the current job, sent together (see writeRaw). */
  private outbox: Uint8Array[] = [];
  /** The transport still holds our last write (see flushOutbox); frames wait for its callback. */
  private writeHeld = false;
  /** Where wire frames are cut from when the transport copies them (reuseWireBytes), else the shared blocks. */
  private readonly wire?: ByteRing;
  /** The wire ring's mark when the write the transport holds was made: released at its callback. */
  private heldMark = 0;
  private draining = false;
  /** When the last valid frame arrived (for the keep-alive). */
  lastRx = Date.now();
  /** Retransmission and ordering (SPEC §7), active once a HELLO granted it. */
  readonly reliable: LinkDriver;

  constructor(
    private readonly link: Duplex,
    private readonly opts: RpcClientOptions,
  ) {
    this.decoder = new MessageDecoder(opts.maxFrame);
    if (opts.reuseWireBytes) this.wire = new ByteRing(WIRE_RING_BYTES);
    this.reliable = new LinkDriver(
      (m) => this.writeRaw(m),
      () => {
        this.failAll(
          new LinkError('ETIMEDOUT', 'link to the coprocessor lost: no acknowledgement after retransmissions'),
        );
        opts.onLinkDead?.();
      },
      // At most 16 KiB of SEND payload unacknowledged on a slow line (round trip >= 10 ms): it would
      // otherwise queue its whole txWindow (64 KiB, 0.7 s at 921600) ahead of its acknowledgements
      // and CREDITs, the device's timer fires falsely and the echo drops to ~55 % each way.
      { maxBytes: 16 * 1024, ...opts.link },
    );
    this.reliable.onSent = this.onSent;
    link.on('data', (chunk: Uint8Array) => this.onData(chunk));
    link.on('error', (err: Error) => this.shutdown(err));
    link.on('close', () => this.shutdown(new LinkError('ECLOSED', 'the link to the coprocessor closed')));
  }

  /** Sends a request; resolves with the success body, rejects with StatusError or LinkError. */
  request<N extends RequestOp>(op: N, body: RequestBody<N>, timeout?: number): Promise<ResponseBody<N>> {
    if (this.closed) return Promise.reject(this.closed);
    const timeoutMs =
      timeout ??
      (this.reliable.enabled
        ? (this.opts.reliableTimeoutMs ?? this.opts.requestTimeoutMs)
        : this.opts.requestTimeoutMs);
    const seq = this.nextSeq();
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      this.pending.set(seq, { op, resolve: resolve as (b: unknown) => void, reject, deadline, timeoutMs });
      this.armDeadline(deadline);
      if (op === 'HELLO') {
        // HELLO is unnumbered and restarts the link: both ends renumber from 0 after it.
        this.reliable.disable();
        const flags = this.opts.reliable === false ? 0 : FLAG_RELIABLE;
        this.writeRaw({ kind: 'request', seq, op, body, flags } as Message);
        return;
      }
      const msg = { kind: 'request', seq, op, body } as Message;
      // An explicit timeout is its caller's schedule (the keep-alive's PING, HELLO): from now.
      const p = this.pending.get(seq);
      const fromLine = timeout === undefined && p !== undefined && this.reliable.enabled;
      if (fromLine) p.msg = msg;
      this.reliable.send(msg);
      if (!fromLine) return;
      p.from ??= this.reliable.clearsAt(); // set by onSent if it went out at once
      p.deadline = Math.max(p.deadline, this.answerDue(p, p.from));
    });
  }

  /** Sends an event (no response): CREDIT. */
  event(msg: Omit<EventMsg, 'seq'>): void {
    if (this.closed) return;
    const seq = this.eventSeq;
    this.eventSeq = (this.eventSeq + 1) & 0xffff;
    this.reliable.send({ ...msg, seq } as Message);
  }

  private armDeadline(at: number): void {
    if (this.deadlineTimer) {
      if (this.deadlineAt <= at) {
        this.deadlineTimer.ref();
        return;
      }
      clearTimeout(this.deadlineTimer);
    }
    this.deadlineAt = at;
    // setTimeout wraps above 2^31-1 ms: clamp, so a far deadline never fires at once.
    this.deadlineTimer = setTimeout(this.expire, Math.min(2 ** 31 - 1, Math.max(0, at - Date.now())));
  }

  /**
   * On a slow line a request may wait behind the frames before it, and its answer behind the device's
   * (an echo's DATA): 16 KiB of 0xC0 at 19200 is 17 s of line each way, and counted from the request
   * the last SENDs of a burst timed out although the device answered as soon as it could. So the
   * deadline counts from when the request had left the line, plus the wait behind the device's frames
   * as the link knows it now (they grew since: its DATA frames came later than the request).
   */
  private answerDue(p: Pending, from: number): number {
    return from + this.reliable.answerWaitMs + p.timeoutMs;
  }

  /**
   * The link sent the request's frame: its answer is due from when that leaves the line. The estimate
   * made with the request misses what went ahead of a held frame later (resent copies of earlier
   * frames overtake held ones): at 19200 two resends of 2 KiB put a SEND 2.3 s behind its estimate,
   * and its answer, queued behind the echo's DATA, came 0.65 s inside a 4 s deadline (and after it in
   * one run of three). Resends of the request's own frame do not move it: a device that stops
   * acknowledging still fails the request at its deadline.
   */
  private readonly onSent = (msg: Message, departAt: number): void => {
    if (msg.kind !== 'request') return;
    const p = this.pending.get(msg.seq);
    if (p?.msg === msg) p.from = departAt;
  };

  /**
   * Fails the requests whose deadline passed; sets the timer for the next one. A request the link
   * still holds back (its window full, or the line) has not been sent, so no answer is due yet; the
   * keep-alive and the link's liveness rule decide whether the device is there meanwhile.
   */
  private readonly expire = (): void => {
    this.deadlineTimer = undefined;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [seq, p] of this.pending) {
      if (p.deadline <= now && p.msg && this.reliable.holds(p.msg)) p.deadline = now + p.timeoutMs;
      if (p.deadline <= now && p.from !== undefined) p.deadline = Math.max(p.deadline, this.answerDue(p, p.from));
      if (p.deadline > now) next = Math.min(next, p.deadline);
      else {
        this.pending.delete(seq);
        p.reject(new LinkError('ETIMEDOUT', `coprocessor did not answer ${p.op} within ${p.timeoutMs} ms`));
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.armDeadline(next);
  };

  /**
   * Nothing waits: the timer may not hold the process open. It stays set (unref'd) for the next
   * request, so back-to-back requests set no timer at all; fired early, it just rescans.
   */
  private settled(): void {
    if (this.pending.size === 0) this.deadlineTimer?.unref();
  }

  private nextSeq(): number {
    // Skip numbers still waiting, so a slow request is never confused with a new one.
    do this.seq = (this.seq + 1) & 0xffff;
    while (this.pending.has(this.seq));
    return this.seq;
  }

  /**
   * Frames go out together at the end of the current job: a burst (a window of SENDs, a request
   * and its CREDIT) becomes one transport write, so the layers below run once per burst, not once
   * per frame (each stream write and each decoder pass has a fixed cost; on a pty or TCP it is a
   * syscall). Encoding stays synchronous, so a bad body still throws to the caller.
   */
  private writeRaw(msg: Message): void {
    if (this.closed) return;
    const wire = encodeWire(msg, msg.op !== 'SEND', this.wire);
    // A promise job, not queueMicrotask: Node wraps each of those in an async resource.
    if (this.outbox.length === 0 && !this.writeHeld) RESOLVED.then(this.flushOutbox);
    this.outbox.push(wire);
  }

  /**
   * While the transport still holds our last write (a serial port's completes a promise job later,
   * or when the fd is writable again if it was short), frames wait here and go with the next
   * write, instead of queueing in the stream, which joins queued writes with a copy
   * (serialport's `_writev`); a lone frame finds nothing in flight and goes at once. Small frames
   * are joined; a large one (a SEND) goes as it is unless it follows the last one in its block.
   */
  private readonly flushOutbox = (): void => {
    if (this.writeHeld || this.outbox.length === 0) return;
    const parts = this.outbox;
    this.outbox = [];
    if (this.link.destroyed) return;
    const writes = joinSmall(parts, JOIN_BELOW);
    // Everything cut from the ring so far is in this flush: done with once its last write is.
    const mark = this.wire?.mark ?? 0;
    for (let i = 0; i < writes.length - 1; i++) this.link.write(writes[i]);
    this.link.write(writes[writes.length - 1], this.written);
    // A transport that took the bytes at once (in-process, or nothing queued) is not held for.
    this.writeHeld = this.link.writableLength > 0;
    if (this.writeHeld) this.heldMark = mark;
    else this.wire?.release(mark);
  };

  private readonly written = (): void => {
    if (!this.writeHeld) return;
    this.writeHeld = false;
    // Stream writes complete in order: this one's callback means every earlier one is done too.
    this.wire?.release(this.heldMark);
    this.flushOutbox();
  };

  /**
   * Not re-entrant on purpose: handling a frame can write (an ACK, a CREDIT), and an in-process
   * link answers synchronously, so the next frames arrive while this one is still being handled.
   * They wait in `inbox`, which keeps deliveries in wire order.
   */
  private onData(chunk: Uint8Array): void {
    this.inbox.push(chunk);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let c = this.inbox.shift(); c; c = this.inbox.shift()) {
        for (const item of this.decoder.push(c)) this.onItem(item);
        this.opts.chunkDone?.(c);
      }
    } finally {
      this.draining = false;
    }
  }

  private onItem(item: DecodedItem): void {
    if (item.type === 'bad-frame') {
      this.badFrames++;
      this.opts.onBadFrame?.(item.reason);
      return;
    }
    this.lastRx = Date.now();
    const dl = this.reliable.receive(item.msg);
    for (const msg of dl) {
      if (msg.kind === 'event') this.opts.onEvent(msg as EventMsg);
      else if (msg.kind === 'response') this.onResponse(msg);
    }
  }

  private onResponse(msg: Extract<Message, { kind: 'response' }>): void {
    const p = this.pending.get(msg.seq);
    if (!p || p.op !== msg.op) {
      this.opts.onBadFrame?.(`unexpected response ${msg.op} seq ${msg.seq}`);
      return;
    }
    this.pending.delete(msg.seq);
    this.settled();
    if (msg.op === 'HELLO' && msg.status === 0) {
      if ((msg.flags ?? 0) & FLAG_RELIABLE) this.reliable.enable();
      else this.reliable.disable();
    }
    if (msg.status === 0 && 'body' in msg) p.resolve(msg.body);
    else p.reject(new StatusError(msg.status, 'message' in msg ? msg.message : ''));
  }

  /** Fails every pending request (link closed, or device restarted). */
  failAll(err: Error): void {
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(err);
    }
    this.settled();
  }

  private shutdown(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    this.reliable.disable();
    this.failAll(err);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.opts.onClose?.(err);
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    this.shutdown(new LinkError('ECLOSED', 'device closed'));
  }
}

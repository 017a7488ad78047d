/**
 * The reliable link of SPEC §7, as a pure state machine with explicit time (no timers, no I/O):
 * go-back-N over numbered frames, cumulative acknowledgements piggybacked on every frame,
 * adaptive retransmission timeout (RFC 6298 estimator with Karn's rule), bounded retries.
 * Both ends use it: the host around its RPC client, the device around its personality.
 *
 * The owner calls `send` for every outgoing message, `receive` for every incoming one, and
 * `tick(now)` at `nextDeadline()`; each returns the messages to put on the wire (already
 * carrying their link header) and, for `receive`, the message to deliver (if any).
 *
 * ```ts
 * const link = new LinkState();
 * const { wire } = link.send(msg, now);                // numbered, queued if the window is full
 * const { deliver, wire: acks } = link.receive(m, now); // in-order only; duplicates dropped
 * ```
 */
import type { LinkHeader, Message } from './frame.js';

export interface LinkOptions {
  /** Most numbered frames unacknowledged at once. */
  window: number;
  /** Retransmission timeout before any round trip was measured, ms. */
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
  /** Retransmission rounds without progress before the link is declared dead. */
  maxRetries: number;
  /** How long an acknowledgement may wait for a frame to ride on, ms. */
  ackDelayMs: number;
}

export const DEFAULT_LINK: LinkOptions = {
  window: 32,
  initialRtoMs: 500,
  minRtoMs: 60,
  maxRtoMs: 2000,
  maxRetries: 8,
  ackDelayMs: 5,
};

export interface LinkStats {
  sent: number;
  retransmitted: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
}

interface Outstanding {
  msg: Message;
  seq: number;
  sentAt: number;
  retransmitted: boolean;
}

/** a is before b in 16-bit sequence space. */
function before(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d >= 0x8000;
}

export class LinkState {
  readonly opts: LinkOptions;
  private nextSeq = 0;
  private expected = 0;
  private readonly unacked: Outstanding[] = [];
  private readonly queued: Message[] = [];
  private rtoAt: number | undefined;
  private ackAt: number | undefined;
  private retries = 0;
  private srtt: number | undefined;
  private rttvar = 0;
  private rto: number;
  private dead = false;
  readonly stats: LinkStats = { sent: 0, retransmitted: 0, received: 0, duplicates: 0, outOfOrder: 0 };

  constructor(opts: Partial<LinkOptions> = {}) {
    this.opts = { ...DEFAULT_LINK, ...opts };
    this.rto = this.opts.initialRtoMs;
  }

  /** The acknowledgement we give: the last sequence number received in order. */
  private get ack(): number {
    return (this.expected - 1) & 0xffff;
  }

  private header(seq: number, unnumbered = false): LinkHeader {
    return { seq, ack: this.ack, unnumbered };
  }

  /** Numbers `msg` and returns it for the wire, or queues it while the window is full. */
  send(msg: Message, now: number): { wire: Message[] } {
    if (this.unacked.length >= this.opts.window) {
      this.queued.push(msg);
      return { wire: [] };
    }
    return { wire: [this.transmit(msg, now)] };
  }

  private transmit(msg: Message, now: number): Message {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    const out = { ...msg, link: this.header(seq) } as Message;
    this.unacked.push({ msg, seq, sentAt: now, retransmitted: false });
    this.stats.sent++;
    this.ackAt = undefined; // the ack rides on this frame
    if (this.rtoAt === undefined) this.rtoAt = now + this.rto;
    return out;
  }

  /**
   * Takes one received message. Its ack releases our frames; a numbered frame is delivered only
   * if it is the next in order (a duplicate or a frame after a gap is dropped and answered with
   * an immediate acknowledgement, so the sender learns at once what is missing).
   */
  receive(msg: Message, now: number): { deliver?: Message; wire: Message[] } {
    const link = msg.link;
    if (!link) return { deliver: msg, wire: [] };
    const wire = this.onAck(link.ack, now);
    if (link.unnumbered) return { wire };
    if (link.seq !== this.expected) {
      if (before(link.seq, this.expected)) this.stats.duplicates++;
      else this.stats.outOfOrder++;
      wire.push(this.ackFrame());
      return { wire };
    }
    this.expected = (this.expected + 1) & 0xffff;
    this.stats.received++;
    if (this.ackAt === undefined) this.ackAt = now + this.opts.ackDelayMs;
    const { link: _drop, ...plain } = msg;
    return { deliver: plain as Message, wire };
  }

  private onAck(ack: number, now: number): Message[] {
    let progressed = false;
    while (this.unacked.length > 0 && !before(ack, (this.unacked[0] as Outstanding).seq)) {
      const done = this.unacked.shift() as Outstanding;
      if (!done.retransmitted) this.sampleRtt(now - done.sentAt);
      progressed = true;
    }
    if (!progressed) return [];
    this.retries = 0;
    this.rtoAt = this.unacked.length > 0 ? now + this.rto : undefined;
    const wire: Message[] = [];
    while (this.queued.length > 0 && this.unacked.length < this.opts.window) {
      wire.push(this.transmit(this.queued.shift() as Message, now));
    }
    return wire;
  }

  private sampleRtt(r: number): void {
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(this.opts.maxRtoMs, Math.max(this.opts.minRtoMs, this.srtt + 4 * this.rttvar));
  }

  private ackFrame(): Message {
    this.ackAt = undefined;
    return { kind: 'event', seq: 0, op: 'ACK', body: {}, link: this.header(0, true) } as Message;
  }

  /**
   * Runs due timers: a delayed acknowledgement, or a retransmission of every unacknowledged frame
   * (go-back-N) with the timeout doubled. `dead` turns true after maxRetries rounds without progress.
   */
  tick(now: number): { wire: Message[]; dead: boolean } {
    const wire: Message[] = [];
    if (this.rtoAt !== undefined && now >= this.rtoAt && this.unacked.length > 0) {
      this.retries++;
      if (this.retries > this.opts.maxRetries) this.dead = true;
      this.rto = Math.min(this.opts.maxRtoMs, this.rto * 2);
      for (const o of this.unacked) {
        o.retransmitted = true;
        o.sentAt = now;
        this.stats.retransmitted++;
        wire.push({ ...o.msg, link: this.header(o.seq) } as Message);
      }
      this.ackAt = undefined;
      this.rtoAt = now + this.rto;
    }
    if (this.ackAt !== undefined && now >= this.ackAt) wire.push(this.ackFrame());
    return { wire, dead: this.dead };
  }

  /** When tick() must run next (undefined = nothing pending). */
  nextDeadline(): number | undefined {
    if (this.rtoAt === undefined) return this.ackAt;
    if (this.ackAt === undefined) return this.rtoAt;
    return Math.min(this.rtoAt, this.ackAt);
  }

  /** Frames sent and not yet acknowledged, plus those waiting for the window. */
  get backlog(): number {
    return this.unacked.length + this.queued.length;
  }

  get isDead(): boolean {
    return this.dead;
  }

  get currentRtoMs(): number {
    return this.rto;
  }
}

/**
 * Runs a LinkState with real timers for one end of a link (host RPC client or device
 * personality). Off until `enable()` (after a HELLO that granted FLAG_RELIABLE); while off,
 * messages pass straight through, so an end without SPEC §7 support still works.
 */
import type { Message } from './frame.js';
import { LinkState } from './link.js';
import type { LinkOptions } from './link-options.js';

export class LinkDriver {
  private state?: LinkState;
  private timer?: ReturnType<typeof setTimeout>;
  /** When `timer` fires (ms epoch). */
  private timerAt = 0;

  /** Called (once per microtask) when acknowledgements freed room in the window (see `room`). */
  onRoom?: () => void;
  private roomPending = false;

  constructor(
    private readonly write: (msg: Message) => void,
    private readonly onDead: () => void,
    private opts: Partial<LinkOptions> = {},
  ) {}

  /** Frames that can be sent now without queueing (unbounded while the link is off). */
  get room(): number {
    return this.state ? this.state.room : Number.POSITIVE_INFINITY;
  }

  /** Called when a message is numbered and sent for the first time (see LinkState.onSent). */
  onSent?: (msg: Message, departAt: number) => void;

  /** Starts numbering from 0 (both ends do so right after the granting HELLO response). */
  enable(): void {
    this.stop();
    this.state = new LinkState(this.opts);
    if (this.onSent) this.state.onSent = this.onSent;
  }

  /** The line's speed changed (bytes per second; Infinity = not known): see LinkOptions.lineBytesPerSecond. */
  setLineRate(bytesPerSecond: number): void {
    this.opts = { ...this.opts, lineBytesPerSecond: bytesPerSecond };
    this.state?.line.setBaud(bytesPerSecond * 10);
  }

  /**
   * When the message sent last has left the line, ms epoch (now while off or the line unmodelled):
   * the other end can answer it no sooner, and its answer may wait `answerWaitMs` more behind that
   * end's frames (see LineModel.clearsAt, floorMs).
   */
  clearsAt(): number {
    const now = Date.now();
    return this.state ? this.state.line.clearsAt(now, this.state.queued) : now;
  }

  /** The link holds `msg` back (for its window or the line): it has not been sent yet. */
  holds(msg: Message): boolean {
    return this.state?.holds(msg) ?? false;
  }

  get answerWaitMs(): number {
    return this.state ? this.state.line.floorMs(this.state.opts.ackDelayMs) : 0;
  }

  /** Back to pass-through; pending retransmissions are dropped. */
  disable(): void {
    this.stop();
    this.state = undefined;
  }

  get enabled(): boolean {
    return this.state !== undefined;
  }

  get link(): LinkState | undefined {
    return this.state;
  }

  send(msg: Message): void {
    if (!this.state) {
      this.write(msg);
      return;
    }
    for (const m of this.state.send(msg, Date.now()).wire) this.write(m);
    this.arm();
  }

  /** Returns the messages to act on, in order (none for a duplicate, a frame after a gap, a pure ACK). */
  receive(msg: Message): Message[] {
    if (!this.state) return msg.link ? (msg.op === 'ACK' ? [] : [stripLink(msg)]) : [msg];
    if (!msg.link) return [msg]; // unnumbered traffic: BOOT, HELLO
    const state = this.state;
    const before = state.room;
    const r = state.receive(msg, Date.now());
    for (const m of r.wire) this.write(m);
    this.arm();
    this.roomAfter(before);
    return r.deliver;
  }

  /** Tells the owner (once per microtask) that the window gained room since it held `before`. */
  private roomAfter(before: number): void {
    const state = this.state;
    if (!state || state.room <= before || !this.onRoom || this.roomPending) return;
    this.roomPending = true;
    queueMicrotask(() => {
      this.roomPending = false;
      this.onRoom?.();
    });
  }

  /**
   * One timer per link, moved only when a deadline comes earlier than the one it is set for: the
   * deadlines move on every frame (each acknowledgement pushes the timeout back), and a
   * clearTimeout + setTimeout per frame on both ends was a measurable share of a bulk transfer.
   * A timer that fires before the current deadline just sets itself again.
   */
  private arm(): void {
    const at = this.state?.nextDeadline();
    if (at === undefined) return; // a timer still set finds nothing due and lapses
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const state = this.state;
    if (!state) return;
    const now = Date.now();
    const due = state.nextDeadline();
    if (due === undefined) return;
    if (due > now) {
      this.arm();
      return;
    }
    const before = state.room;
    const { wire, dead } = state.tick(now);
    if (dead) {
      this.disable();
      this.onDead();
      return;
    }
    for (const m of wire) this.write(m);
    this.arm();
    this.roomAfter(before); // the line cap's timer released a held frame (see LinkState.room)
  };

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function stripLink(msg: Message): Message {
  const { link: _l, ...plain } = msg;
  return plain as Message;
}

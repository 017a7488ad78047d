/**
 * What an acknowledgement we owe is for, and so whether it may wait for our next frame instead of
 * going out in an ACK frame of its own (docs/performance.md item 22). During an upload the device's
 * answers to our SENDs carry no payload: an ACK frame for each (17 bytes per 4 KiB SEND on the
 * upload's direction, 0.4 %) only stops the device's timer. Owed for frames with payload (DATA in a
 * download or an echo), it goes as before: those fill the other end's byte window (maxBytes), which
 * stalls until we acknowledge them. Pure state with explicit time, like link.ts.
 */
import type { Message } from './frame.js';
import { type LineModel, payloadOf, peerFrameMax } from './line-model.js';

/**
 * Longest frame of ours an acknowledgement may wait for, ms of line: waiting adds up to one such frame
 * to the ACK's way, beyond the two the other end's timeout floor counts (LineModel.floorMs), so it
 * must fit in that floor's allowance for late loops (LATE_MS, 50 ms). A 4 KiB frame takes 44.5 ms
 * at 921600; at 115200 (356 ms) the device's answers were resent when the ACK waited (item 22).
 */
export const WAIT_FRAME_MS = 50;

export class OwedAck {
  private frames = 0;
  private payload = 0;
  /** When the first of the frames owed arrived: the other end's timer for it runs from about then. */
  private owedSince = 0;
  /** Line bytes (payload with SLIP escapes, LineModel.bytesOf) of our last numbered frame: the next one's, as far as we know. */
  private lastSent = 0;
  /**
   * Our frames as the other end's timeout floor counts them (LineModel.peerFrame there: a decaying
   * maximum of what it received, nothing before the first): only frames it acknowledged, so a frame
   * larger than any it has seen (frames growing) never counts as if it had.
   */
  private shown = 0;

  constructor(
    private readonly opts: { window: number; ackDelayMs: number },
    private readonly line: LineModel,
    private readonly size: { readonly limit: number },
  ) {}

  /**
   * Frames were delivered: when the acknowledgement goes if no frame of ours carries it (`ackAt`: as
   * set before, else the delayed ACK's). Owed only for frames without payload while ours are in flight
   * (`inFlight`), it waits for our next frame (`next`, held for the line, or one like the last), sent
   * when the line frees for it (LinkState.release).
   */
  dueAt(
    deliver: readonly Message[],
    now: number,
    ackAt: number | undefined,
    next: Message | undefined,
    inFlight: number,
  ) {
    const due = ackAt ?? now + this.opts.ackDelayMs;
    if (this.frames === 0) this.owedSince = now;
    for (const m of deliver) {
      this.frames++;
      this.payload += payloadOf(m);
    }
    const frees = this.line.freesAt(this.size.limit);
    if (inFlight === 0 || frees === undefined) return due;
    const bytes = next ? this.line.bytesOf(next) : this.lastSent;
    if (!this.mayWait(bytes, this.line.arrivesAt(bytes, frees))) return due;
    return Math.max(due, frees + this.opts.ackDelayMs);
  }

  /** Whether the acknowledgement owed rides on our frame `msg`, sent `now` (else an ACK frame goes ahead of it). */
  rides(msg: Message, now: number): boolean {
    const bytes = this.line.bytesOf(msg);
    return this.line.frameMs(bytes) <= this.opts.ackDelayMs || this.mayWait(bytes, this.line.arrivesAt(bytes, now));
  }

  /** The other end acknowledged a frame of ours of `bytes` line bytes: it has seen it (see `shown`). */
  shownTo(bytes: number): void {
    this.shown = peerFrameMax(this.shown, bytes);
  }

  /**
   * A numbered frame of ours taking `bytes` of line left, carrying the acknowledgement. Counted since
   * then (not since a lone ACK frame: until our next frame the counts only err towards not waiting).
   */
  sent(bytes: number): void {
    this.frames = 0;
    this.payload = 0;
    this.lastSent = bytes;
  }

  /**
   * Only frames without payload are owed, fewer than half the other end's window of them, on a line
   * of known speed, and our frame (`bytes` of line, whole at `arrives`) takes at most WAIT_FRAME_MS
   * of line, or arrives before the other end's timer could fire (LineModel.peerWaitsMs: at 115200 a
   * 4 KiB SEND held for the answer, LineModel.answerHoldUntil, docs/performance.md item 26).
   */
  private mayWait(bytes: number, arrives: number): boolean {
    if (this.frames === 0 || this.payload > 0 || this.frames >= this.opts.window / 2) return false;
    const ms = this.line.frameMs(bytes);
    if (ms <= 0) return false;
    return ms <= WAIT_FRAME_MS || arrives - this.owedSince <= this.line.peerWaitsMs(this.shown);
  }
}

/**
 * The reliable link's model of a serial line of known speed (LinkOptions.lineBytesPerSecond): frames
 * leave one after another at that speed, so the sender knows when each left the line, how much of
 * its own is still queued below it, and how long an acknowledgement may wait behind the other end's
 * frames. Pure arithmetic with explicit time, like link.ts.
 *
 * ```ts
 * const line = new LineModel(11_520);          // 115200 baud, 8N1
 * const leaves = line.depart(1024, now);       // now + 91 ms on an idle line
 * line.queuedMs(now);                          // our bytes still ahead on the line, ms
 * ```
 */

/** Header, CRC and END of a frame, roughly (an ACK frame is about this). */
const FRAME_WIRE_BYTES = 16;
/**
 * Line time a sender may keep queued beyond one frame: a frame's line time alone (11 ms for 1 KiB
 * at 921600) left the line idle whenever a read loop or timer between the ends was late (measured
 * over a pty at 921600: 63 % upload), ms.
 */
const QUEUE_MS = 30;
/**
 * What the loops between two ends (pty read polls, pacer ticks, timers on a loaded machine) may add to
 * a turnaround beyond what the RTT samples saw, ms: departure-based samples are a few ms, and with
 * only the line's own floor, paced uploads at load 7 still saw 1-5 false timeouts.
 */
const LATE_MS = 50;
/** How far ahead of the model an acknowledgement may come on a paced line (pacer burst, timer ticks), ms. */
export const LINE_SLACK_MS = 20;

export class LineModel {
  /** When everything written so far has left the line. */
  private freeAt = 0;
  private rate: number;
  /** False once an acknowledgement proved the line faster than its stated speed (see pullBack). */
  trusted: boolean;
  /** Payload of the other end's recent frames (a decaying maximum), for floorMs. */
  private peerFrameBytes = 0;

  constructor(bytesPerSecond: number) {
    this.rate = bytesPerSecond;
    this.trusted = Number.isFinite(bytesPerSecond);
  }

  /** The line's speed changed (the owner switched the baud rate); Infinity = not known. */
  setRate(bytesPerSecond: number): void {
    this.rate = bytesPerSecond;
    this.trusted = Number.isFinite(bytesPerSecond);
  }

  /** Puts a frame with `payload` bytes on the line; returns when its last byte leaves. */
  depart(payload: number, now: number): number {
    this.freeAt = Math.max(now, this.freeAt) + ((payload + FRAME_WIRE_BYTES) * 1000) / this.rate;
    return this.freeAt;
  }

  /** Line time of a frame with `payload` bytes, ms (0 while the speed is not known or not trusted). */
  frameMs(payload: number): number {
    return this.trusted ? ((payload + FRAME_WIRE_BYTES) * 1000) / this.rate : 0;
  }

  /** Payload that fits in `ms` of line with a frame's overhead (Infinity while not known or trusted). */
  bytesIn(ms: number): number {
    return this.trusted ? Math.floor((this.rate * ms) / 1000) - FRAME_WIRE_BYTES : Number.POSITIVE_INFINITY;
  }

  /**
   * An acknowledgement came `ms` before the model had the frame leave: the line is faster than
   * stated (a pty ignores baud). The model moves back by that much (the caller moves its frames'
   * departures too), so a wrong speed never puts timeouts far in the future (an unpaced 32 MiB
   * upload would end 6 minutes ahead); beyond a paced line's slack, the speed is dropped.
   */
  pullBack(ms: number): void {
    this.freeAt -= ms;
    if (ms > LINE_SLACK_MS) this.trusted = false;
  }

  /** A numbered frame with `payload` bytes arrived from the other end. */
  peerFrame(payload: number): void {
    this.peerFrameBytes = Math.max(payload, this.peerFrameBytes * 0.99);
  }

  /**
   * On a trusted line, at most one frame (or QUEUE_MS) waits behind the one being sent: what is queued
   * below the link cannot be overtaken, and the other end's timer counts on our acknowledgements
   * (they ride on these frames) arriving within two of our frames (see floorMs).
   */
  full(now: number, payloadLimit: number): boolean {
    return this.trusted && this.freeAt - now > Math.max(this.frameMs(payloadLimit), QUEUE_MS);
  }

  /** When `full` turns false again (undefined: it never holds frames). */
  freesAt(payloadLimit: number): number | undefined {
    return this.trusted ? this.freeAt - Math.max(this.frameMs(payloadLimit), QUEUE_MS) : undefined;
  }

  /**
   * Least timeout after a frame left the line: the acknowledgement rides on the other end's next
   * frame, which may wait behind one of its frames being sent and one queued (see full). The idle
   * handshake teaches an RTO of 20-80 ms; at 115200 one 1 KiB frame is 89 ms of line, so without
   * this floor the first frames of every transfer timed out falsely (measured: 2-6 resends per
   * paced upload, each halving the frame size).
   */
  floorMs(ackDelayMs: number): number {
    if (!this.trusted) return 0;
    return 2 * this.frameMs(this.peerFrameBytes) + QUEUE_MS + LATE_MS + ackDelayMs;
  }
}

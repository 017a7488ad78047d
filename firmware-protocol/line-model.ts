/**
 * The reliable link's model of its serial line (LinkOptions.lineBytesPerSecond / lineRate): frames
 * leave one after another at the line's speed, so the sender knows when each left the line, how much
 * of its own is still queued below it, and how long an acknowledgement may wait behind the other
 * end's frames. The speed is the one the owner gave (a serial port's baud rate), or, where it gave
 * none but asked to learn it (socket://), the fastest delivery measured from acknowledgements
 * (line-rate.ts). Frames count as the bytes they take on the line: SLIP escaping doubles every
 * END and ESC byte (16 KiB of 0xC0 are 32 KiB of line). Pure arithmetic with explicit time, like link.ts.
 *
 * ```ts
 * const line = new LineModel(new LineRate(115200), false);
 * const leaves = line.depart(1024, now);       // now + 91 ms on an idle line
 * line.full(now, 1024);                       // more than a frame of ours still queued on the line?
 * ```
 */

import { indexOfByte } from './bytes.js';
import type { Message } from './frame.js';
import { DeliveryMeter, LineRate } from './line-rate.js';
import { SLIP_END, SLIP_ESC } from './slip.js';

export type { LineRate };

/** Header, CRC and END of a frame, roughly (an ACK frame is about this). */
const FRAME_WIRE_BYTES = 16;
/**
 * Line time a sender may keep queued beyond one frame: a frame's line time alone (11 ms for 1 KiB
 * at 921600) left the line idle whenever a read loop or timer between the ends was late (measured
 * over a pty at 921600: 63 % upload), ms.
 */
const QUEUE_MS = 30;
/**
 * Longest time a long frame of ours waits in the link for the other end's answer to the frame before
 * the one on the line, ms (see answerHoldUntil): at most this, and never so long that less than
 * 2 x QUEUE_MS of line stays queued below it.
 */
const ANSWER_HOLD_MS = 100;
/**
 * What the loops between two ends (pty read polls, pacer ticks, timers on a loaded machine) may add to
 * a turnaround beyond what the RTT samples saw, ms: departure-based samples are a few ms, and with
 * only the line's own floor, paced uploads at load 7 still saw 1-5 false timeouts.
 */
const LATE_MS = 50;
/** How far ahead of the model an acknowledgement may come on a paced line (pacer burst, timer ticks), ms. */
export const LINE_SLACK_MS = 20;
/**
 * A learnt speed at least this fast is no serial line (in-process, TCP to an unpaced emulator):
 * the model is off there, as for an unknown speed, bytes/s (10 Mbaud; UARTs stop near 5).
 */
export const FASTEST_MODELLED = 1_000_000;

/** Payload bytes a message carries (DATA/SEND/... `data`). */
export function payloadOf(msg: Message): number {
  return payloadData(msg)?.length ?? 0;
}

function payloadData(msg: Message): Uint8Array | undefined {
  return (msg as { body?: { data?: Uint8Array } }).body?.data;
}

/**
 * Escapes counted per payload: a held frame is counted again for every request sent behind it
 * (clearsAt), and again when it is sent and if it is resent.
 */
const escapeCounts = new WeakMap<Uint8Array, number>();

function escapesOf(data: Uint8Array): number {
  let n = escapeCounts.get(data);
  if (n === undefined) {
    n = escapedBytes(data);
    escapeCounts.set(data, n);
  }
  return n;
}

/** How many bytes of `data` SLIP escapes (END and ESC each take two on the line). */
export function escapedBytes(data: Uint8Array): number {
  let n = 0;
  for (let i = indexOfByte(data, SLIP_END); i !== -1; i = indexOfByte(data, SLIP_END, i + 1)) n++;
  for (let i = indexOfByte(data, SLIP_ESC); i !== -1; i = indexOfByte(data, SLIP_ESC, i + 1)) n++;
  return n;
}

/**
 * The other end's frame size as floorMs counts it: a maximum that decays by 1 % per frame, so one long
 * frame keeps the floor up for a while and a run of short ones brings it down. OwedAck (ack-ride.ts)
 * tracks our frames by the same rule to know the floor the other end arms.
 */
export function peerFrameMax(previous: number, bytes: number): number {
  return Math.max(bytes, previous * 0.99);
}

export class LineModel {
  /** When everything written so far has left the line. */
  private freeAt = 0;
  /** When the last numbered frame of ours started on the line, and its line time (answerHoldUntil). */
  private lastStart = 0;
  private lastMs = 0;
  /** A configured speed proved wrong: the line is faster (see pullBack). */
  private disproved = false;
  /** Payload of the other end's recent frames (a decaying maximum), for floorMs. */
  private peerFrameBytes = 0;
  /** Measures deliveries while the speed is being learnt. */
  private readonly meter?: DeliveryMeter;

  /** `learn`: with no configured speed, learn it from acknowledgements (else the model stays off). */
  constructor(
    private readonly rate: LineRate,
    private readonly learn: boolean,
  ) {
    if (learn) this.meter = new DeliveryMeter(rate);
  }

  /**
   * The model for LinkOptions: the owner's `rate` (learning what it does not configure), else
   * `bytesPerSecond` as configured (Infinity: not known, and not learnt).
   */
  static of(rate: LineRate | undefined, bytesPerSecond: number): LineModel {
    if (rate) return new LineModel(rate, true);
    return new LineModel(new LineRate(Number.isFinite(bytesPerSecond) ? bytesPerSecond * 10 : undefined), false);
  }

  /** The line's speed changed (the owner switched the baud rate). */
  setBaud(baudRate: number): void {
    this.rate.setBaud(baudRate);
    this.disproved = false;
  }

  /**
   * The model is used: a configured speed no acknowledgement disproved, or a learnt one slow enough
   * to be a serial line. A learnt speed is never faster than the line (line-rate.ts), so it can only
   * make the model wait longer than the line does, never time out sooner.
   */
  get trusted(): boolean {
    if (this.rate.configured) return !this.disproved;
    return this.learning && this.rate.measured > 0;
  }

  /** Still learning: the speed is unknown and nothing measured proved the line faster than a UART. */
  private get learning(): boolean {
    return this.learn && !this.rate.configured && this.rate.measured < FASTEST_MODELLED;
  }

  /** Line time counts (a configured speed is timed even when disproved: pullBack corrects it). */
  private get timed(): boolean {
    return this.rate.configured || this.trusted;
  }

  /**
   * What a message's payload takes on the line, bytes: plus SLIP's escapes while the line is
   * modelled or its speed learnt (elsewhere the scan would only cost).
   */
  bytesOf(msg: Message): number {
    const data = payloadData(msg);
    if (!data) return 0;
    return this.trusted || this.learning ? data.length + escapesOf(data) : data.length;
  }

  /** Puts a frame with `bytes` of payload (as bytesOf counts it) on the line; returns when its last byte leaves. */
  depart(bytes: number, now: number): number {
    const ms = this.timed ? ((bytes + FRAME_WIRE_BYTES) * 1000) / this.rate.bytesPerSecond : 0;
    this.freeAt = Math.max(now, this.freeAt) + ms;
    return this.freeAt;
  }

  /**
   * A numbered frame carrying `msg` goes on the line at `now` (`idle`: none of ours unacknowledged):
   * its line bytes, its offset for `acked`, and when it leaves the line.
   */
  send(msg: Message, now: number, idle: boolean): { line: number; end: number; departAt: number } {
    const line = this.bytesOf(msg);
    const end = this.wrote(line, now, idle);
    this.lastStart = Math.max(now, this.freeAt);
    const departAt = this.depart(line, now);
    this.lastMs = departAt - this.lastStart;
    return { line, end, departAt };
  }

  /**
   * A numbered frame of `bytes` was written at `now`; `idle` = none of ours was unacknowledged.
   * Returns its offset for `acked` (0 when nothing is being learnt).
   */
  wrote(bytes: number, now: number, idle: boolean): number {
    return this.meter && this.learning ? this.meter.wrote(bytes + FRAME_WIRE_BYTES, now, idle) : 0;
  }

  /** The frames up to the one `wrote` gave `end` are acknowledged: a delivery measured. */
  acked(end: number, now: number): void {
    if (end > 0 && this.learning) this.meter?.acked(end, now);
  }

  /** Line time of a frame with `bytes` of payload, ms (0 while the speed is not known or not trusted). */
  frameMs(bytes: number): number {
    return this.trusted ? ((bytes + FRAME_WIRE_BYTES) * 1000) / this.rate.bytesPerSecond : 0;
  }

  /** Payload that fits in `ms` of line with a frame's overhead (Infinity while not known or trusted). */
  bytesIn(ms: number): number {
    return this.trusted
      ? Math.floor((this.rate.bytesPerSecond * ms) / 1000) - FRAME_WIRE_BYTES
      : Number.POSITIVE_INFINITY;
  }

  /**
   * An acknowledgement came `ms` before the model had the frame leave: the line is faster than
   * modelled. The model moves back by that much (the caller moves its frames' departures too), so a
   * wrong speed never puts timeouts far in the future (an unpaced 32 MiB upload would end 6 minutes
   * ahead). A configured speed beyond a paced line's slack is dropped (a pty ignores baud); a learnt
   * one is only a lower bound, and the same acknowledgement measures the faster line.
   */
  pullBack(ms: number): void {
    this.freeAt -= ms;
    this.lastStart -= ms;
    if (ms > LINE_SLACK_MS && this.rate.configured) this.disproved = true;
  }

  /** A numbered frame with `bytes` of payload (as bytesOf counts it) arrived from the other end. */
  peerFrame(bytes: number): void {
    this.peerFrameBytes = peerFrameMax(this.peerFrameBytes, bytes);
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
   * Until when our next frame may wait for the other end's answer to the frame before the one on
   * the line (LinkState.fits), if that one is long: the answer arrives when the frame before ends on
   * the line, which is when the one on the line starts and `full` lets the next go, so the next
   * missed it by a few ms and its acknowledgement rode only on the frame after (three frames late,
   * after the other end's timeout floor) or went in an ACK frame of its own: 16 bytes per SEND at
   * 115200 (docs/performance.md item 26). Undefined: no wait (a short frame, no model, or a speed
   * only learnt: see peerWaitsMs).
   */
  answerHoldUntil(): number | undefined {
    if (!this.trusted || !this.rate.configured) return undefined;
    const hold = Math.min(ANSWER_HOLD_MS, this.lastMs - 2 * QUEUE_MS);
    return hold > 0 ? this.lastStart + hold : undefined;
  }

  /** When a frame of `bytes` payload written now or when the line frees would have arrived whole (trusted line). */
  arrivesAt(bytes: number, now: number): number {
    return Math.max(now, this.freeAt) + this.frameMs(bytes);
  }

  /**
   * The least timeout the other end arms for its frames (floorMs there, with no delay), as far as our
   * frames of `ours` line bytes set it, less what it allows for late loops: an acknowledgement that
   * arrives by then, counted from when its frame arrived here, does not make it resend. 0 unless the
   * speed is configured: a learnt one is only a bound, and the other end's floor counts the true one.
   */
  peerWaitsMs(ours: number): number {
    return this.trusted && this.rate.configured ? 2 * this.frameMs(ours) + QUEUE_MS : 0;
  }

  /**
   * When a frame sent last, behind the frames `held` back for the line, has left the line: the
   * other end can answer it no sooner (and its answer may then wait floorMs behind that end's own
   * frames). Behind 16 KiB of 0xC0 at 19200 (17 s of line) a SEND's answer cannot come sooner, so
   * host-lib's rpc-client counts an answer's deadline from here. `now` while the line is not modelled.
   */
  clearsAt(now: number, held: readonly Message[]): number {
    if (!this.trusted) return now;
    let bytes = 0;
    for (const m of held) bytes += this.bytesOf(m) + FRAME_WIRE_BYTES;
    return Math.max(now, this.freeAt) + (bytes * 1000) / this.rate.bytesPerSecond;
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

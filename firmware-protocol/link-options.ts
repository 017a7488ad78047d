/**
 * The reliable link's options and counters (link.ts, SPEC §7): what each option is for, and the
 * defaults both ends start from.
 */
import type { LineRate } from './line-model.js';

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
  /**
   * Most payload bytes (DATA/SEND/... `data`) unacknowledged at once; a frame always goes when
   * nothing is. Keeps the queue in front of a slow line short, so an acknowledgement or CREDIT
   * sent after a burst does not wait behind all of it (the other end's timer would fire falsely).
   */
  maxBytes: number;
  /**
   * maxBytes applies only while the smoothed round trip is at least this long, ms: on a fast link
   * (in-process, unpaced pty or TCP) nothing queues, and the cap would only cost throughput
   * (measured in-process: 62 % of SENDs waited for it).
   */
  maxBytesAboveRttMs: number;
  /**
   * The line's speed in bytes per second when the owner knows it (a UART's baud / 10), else
   * Infinity. The link then models the serial line: a frame departs once everything written before
   * it has, RTT is measured from its departure, and its timeout runs from there. Without that, a
   * 1 KiB frame at 115200 (89 ms of line) timed out under an RTO learnt from the idle handshake
   * (40-80 ms), and frames queued behind 16 KiB of others timed out or made srtt count the queue.
   */
  lineBytesPerSecond: number;
  /**
   * The line's speed as the owner knows or has measured it, kept across link restarts (replaces
   * lineBytesPerSecond). With no baud rate configured in it the link learns the speed from its
   * acknowledgements (line-rate.ts), as over socket://, where the host is never told it: without
   * that, 8 KiB of 0xC0 echoed over a 19200 line behind socket:// took over 16 s for 8.5 s of
   * line time (false timeouts), and requests timed out.
   */
  lineRate?: LineRate;
}

export const DEFAULT_LINK: LinkOptions = {
  window: 32,
  initialRtoMs: 1000,
  minRtoMs: 20,
  maxRtoMs: 2000,
  maxRetries: 8,
  ackDelayMs: 5,
  maxBytes: Number.POSITIVE_INFINITY,
  maxBytesAboveRttMs: 10,
  lineBytesPerSecond: Number.POSITIVE_INFINITY,
};

export interface LinkStats {
  sent: number;
  retransmitted: number;
  fastRetransmits: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  /** Timeouts found false afterwards (the first copy was acknowledged; see checkSpurious). */
  spuriousTimeouts: number;
}

/**
 * The record of every injected fault, and the seeded random streams the faults draw from.
 *
 * Positions are byte offsets where there are bytes (the line, a TCP connection) and datagram
 * numbers for UDP, never clock times, so two runs of one scenario with one seed can be compared
 * entry by entry (`expect(run2.trace()).toEqual(run1.trace())`).
 */
import { type Random, seededRandom } from '../random.js';

/** Where a fault happened: a line direction, the device, or the network. */
export type FaultPlace = 'hostToDevice' | 'deviceToHost' | 'device' | 'network';

export type FaultKind =
  | 'corrupt'
  | 'drop'
  | 'insert'
  | 'stall'
  | 'reboot'
  | 'hang'
  | 'resume'
  | 'out-of-sockets'
  | 'out-of-memory'
  | 'rst'
  | 'blackhole'
  | 'udp-loss'
  | 'udp-duplicate'
  | 'udp-reorder';

/**
 * One injected fault.
 *
 * @example { dir: 'hostToDevice', offset: 10233, kind: 'corrupt', count: 1, bytes: [0x5a] }  // byte 10233 XOR 5a
 */
export interface FaultEvent {
  dir: FaultPlace;
  kind: FaultKind;
  /** Byte offset in the line direction / the TCP connection (towards the device); datagram number for UDP. */
  offset?: number;
  /** Bytes affected (a burst), or switch state for on/off faults (1 on, 0 off). */
  count?: number;
  /** XOR masks of a corruption, or the inserted bytes. */
  bytes?: number[];
  /** Duration (stall, hang) or the configured time of a time-triggered fault. */
  ms?: number;
  /** Scheduled time (ms after the emulator started) for time-triggered faults. */
  atMs?: number;
  /** Remote host (network faults): its name in the scenario, or its address. */
  host?: string;
  /** Network faults: 'in' = towards the device, 'out' = from it. */
  flow?: 'in' | 'out';
  /** Who asked: the scenario's random process, a scenario trigger, or the in-process API. */
  source: 'random' | 'scenario' | 'api';
}

/** Most entries kept; past it the oldest are dropped and counted (a long lossy run stays small). */
const MAX_ENTRIES = 100_000;

/** An append-only fault log shared by every injector of one emulator. */
export class FaultTrace {
  private entries: FaultEvent[] = [];
  /** Entries dropped from the front once MAX_ENTRIES was reached. */
  discarded = 0;
  private readonly counts = new Map<FaultKind, number>();

  constructor(private readonly onFault?: (e: FaultEvent) => void) {}

  readonly record = (e: FaultEvent): void => {
    if (this.entries.length >= MAX_ENTRIES) {
      this.entries = this.entries.slice(MAX_ENTRIES / 2);
      this.discarded += MAX_ENTRIES / 2;
    }
    this.entries.push(e);
    this.counts.set(e.kind, (this.counts.get(e.kind) ?? 0) + 1);
    this.onFault?.(e);
  };

  /** A copy of the entries in the order the faults happened. */
  list(): FaultEvent[] {
    return this.entries.slice();
  }

  /** Faults per kind so far (including discarded entries). */
  summary(): Partial<Record<FaultKind, number>> {
    return Object.fromEntries(this.counts);
  }
}

/**
 * An independent seeded stream split off `root`: each injector draws from its own, so the
 * faults of one direction do not depend on how traffic elsewhere interleaved in time.
 */
export function forkRandom(root: Random): Random {
  return seededRandom(Math.floor(root.next() * 2 ** 32));
}

/**
 * Clean bytes before the next fault, for a per-byte probability `p` (geometric distribution):
 * one draw per fault instead of one per byte.
 */
export function geometricGap(random: Random, p: number): number {
  if (!(p > 0)) return Number.POSITIVE_INFINITY;
  if (p >= 1) return 0;
  return Math.floor(Math.log(1 - random.next()) / Math.log1p(-p));
}

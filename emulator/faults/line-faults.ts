/**
 * The fault decisions of one direction of the serial line, as a pure push-style class: bytes in,
 * actions out (data with a delay, or a trigger at an exact byte offset). No timers, no I/O; the
 * Duplex in faulty-line.ts carries the actions out.
 *
 * Faults are placed by geometric gaps — one random draw per fault, never one per byte — so clean
 * runs pass through as subarrays of the input without a copy. Positions depend only on the byte
 * stream and the seed, not on how it was chunked: feeding the same bytes in any chunking gives
 * the same output bytes and the same trace.
 *
 * ```ts
 * const f = new LineFaults('hostToDevice', { corrupt: 1e-3 }, seededRandom(1), (e) => trace.push(e));
 * f.push(bytes);  // [{ type: 'data', bytes: <bytes with ~1 in 1000 flipped>, delayMs: 0 }]
 * ```
 */
import { concatBytes } from '../../firmware-protocol/index.js';
import type { Random } from '../random.js';
import type { LineConfig, LineDir } from './scenario.js';
import { type FaultEvent, forkRandom, geometricGap } from './trace.js';

/** Something to do at an exact byte offset of the stream, in order with the data. */
export type LineTrigger =
  | { kind: 'stall'; ms: number }
  | { kind: 'reboot' }
  | { kind: 'hang'; forMs?: number }
  | { kind: 'call'; run: () => void };

export type LineAction =
  | { type: 'data'; bytes: Uint8Array; delayMs: number }
  | { type: 'trigger'; trigger: LineTrigger };

interface Mark {
  offset: number;
  trigger: LineTrigger;
}

export class LineFaults {
  /** Input bytes seen so far (the offset of the next byte). */
  offset = 0;
  private config: LineConfig;
  private readonly jitter: Random;
  private nextCorrupt = 0;
  private nextDrop = 0;
  private nextInsert = 0;
  /** Bytes of the current drop burst still to swallow (bursts span chunks). */
  private dropLeft = 0;
  /** XOR masks for the next bytes (a corruption burst, or corruptNext). */
  private masks: number[] = [];
  private marks: Mark[] = [];

  constructor(
    readonly dir: LineDir,
    config: LineConfig,
    private readonly random: Random,
    private readonly record: (e: FaultEvent) => void,
  ) {
    this.jitter = forkRandom(random);
    this.config = {};
    this.configure(config);
  }

  /** Current settings (rates, burst, latency). */
  get settings(): Readonly<LineConfig> {
    return this.config;
  }

  /**
   * Changes the settings from the current offset on (fields not given keep their value).
   * Stalls with `atByte` are scheduled; `atMs` stalls are the caller's (it has the clock).
   */
  configure(change: LineConfig): void {
    this.config = { ...this.config, ...change };
    const burst = this.burst;
    this.nextCorrupt = this.offset + geometricGap(this.random, this.rate('corrupt') / burst);
    this.nextDrop = this.offset + geometricGap(this.random, this.rate('drop') / burst);
    this.nextInsert = this.offset + geometricGap(this.random, this.rate('insert') / burst);
    for (const s of change.stalls ?? []) {
      if (s.atByte !== undefined) this.at(s.atByte, { kind: 'stall', ms: s.forMs });
    }
  }

  /** Runs `trigger` once the stream reaches `offset` (after byte offset-1, before byte offset). */
  at(offset: number, trigger: LineTrigger): void {
    const i = this.marks.findIndex((m) => m.offset > offset);
    this.marks.splice(i < 0 ? this.marks.length : i, 0, { offset, trigger });
  }

  /** Corrupts the next `n` bytes (each XORed with a random non-zero mask). */
  corruptNext(n: number): void {
    // They land after what is already decided for the next bytes (a drop burst, earlier masks).
    const offset = this.offset + this.dropLeft + this.masks.length;
    const bytes = this.drawMasks(n);
    this.masks.push(...bytes);
    this.record({ dir: this.dir, kind: 'corrupt', offset, count: n, bytes, source: 'api' });
  }

  /** Feeds input bytes; returns what to deliver (and when) and what to trigger, in order. */
  push(chunk: Uint8Array): LineAction[] {
    const out: LineAction[] = [];
    const parts: Uint8Array[] = [];
    const flush = (): void => {
      if (parts.length === 0) return;
      out.push({ type: 'data', bytes: concatBytes(parts), delayMs: this.delay() });
      parts.length = 0;
    };
    let i = 0;
    for (;;) {
      const mark = this.marks[0];
      if (mark && mark.offset <= this.offset) {
        this.marks.shift();
        flush();
        this.noteTrigger(mark.trigger);
        out.push({ type: 'trigger', trigger: mark.trigger });
        continue;
      }
      if (i >= chunk.length) break;
      const room = Math.min(chunk.length - i, (mark?.offset ?? Number.POSITIVE_INFINITY) - this.offset);
      const k = this.step(chunk, i, room, parts);
      i += k;
      this.offset += k;
    }
    flush();
    return out;
  }

  /** Handles what starts at the current offset; returns how many input bytes it consumed. */
  private step(chunk: Uint8Array, i: number, room: number, parts: Uint8Array[]): number {
    if (this.dropLeft > 0) {
      const k = Math.min(this.dropLeft, room);
      this.dropLeft -= k;
      return k;
    }
    if (this.masks.length > 0) {
      const k = Math.min(this.masks.length, room);
      const c = chunk.slice(i, i + k);
      for (let j = 0; j < k; j++) c[j] = (c[j] as number) ^ (this.masks[j] as number);
      this.masks.splice(0, k);
      parts.push(c);
      return k;
    }
    if (this.startFault(parts)) return 0;
    const next = Math.min(this.nextInsert, this.nextDrop, this.nextCorrupt);
    const k = Math.min(room, next - this.offset);
    parts.push(k === chunk.length ? chunk : chunk.subarray(i, i + k));
    return k;
  }

  /** Starts the insert, drop or corruption due at this offset (in that order), if any. */
  private startFault(parts: Uint8Array[]): boolean {
    const a = this.offset;
    const burst = this.burst;
    // A fault that fell inside an earlier burst lands on the first byte after it.
    this.nextInsert = Math.max(this.nextInsert, a);
    this.nextDrop = Math.max(this.nextDrop, a);
    this.nextCorrupt = Math.max(this.nextCorrupt, a);
    if (this.nextInsert === a) {
      const bytes = this.random.bytes(burst);
      parts.push(bytes);
      this.record({ dir: this.dir, kind: 'insert', offset: a, count: burst, bytes: [...bytes], source: 'random' });
      this.nextInsert = a + 1 + geometricGap(this.random, this.rate('insert') / burst);
      return true;
    }
    if (this.nextDrop === a) {
      this.dropLeft = burst;
      this.record({ dir: this.dir, kind: 'drop', offset: a, count: burst, source: 'random' });
      this.nextDrop = a + burst + geometricGap(this.random, this.rate('drop') / burst);
      return true;
    }
    if (this.nextCorrupt === a) {
      const bytes = this.drawMasks(burst);
      this.masks.push(...bytes);
      this.record({ dir: this.dir, kind: 'corrupt', offset: a, count: burst, bytes, source: 'random' });
      this.nextCorrupt = a + burst + geometricGap(this.random, this.rate('corrupt') / burst);
      return true;
    }
    return false;
  }

  private noteTrigger(t: LineTrigger): void {
    if (t.kind === 'call') return;
    const ms = t.kind === 'stall' ? t.ms : t.kind === 'hang' ? t.forMs : undefined;
    this.record({
      dir: this.dir,
      kind: t.kind,
      offset: this.offset,
      ...(ms === undefined ? {} : { ms }),
      source: 'scenario',
    });
  }

  /** Non-zero XOR masks, so a corrupted byte always changes. */
  private drawMasks(n: number): number[] {
    return Array.from({ length: n }, () => 1 + Math.floor(this.random.next() * 255));
  }

  /** Per-byte rate of fault *events* is rate/burst, so `rate` stays the fraction of bytes hit. */
  private rate(kind: 'corrupt' | 'drop' | 'insert'): number {
    return this.config[kind] ?? 0;
  }

  private get burst(): number {
    return this.config.burst ?? 1;
  }

  private delay(): number {
    const { latencyMs = 0, jitterMs = 0 } = this.config;
    return jitterMs > 0 ? latencyMs + this.jitter.next() * jitterMs : latencyMs;
  }
}

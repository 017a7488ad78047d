/**
 * How fast a serial line carries bytes, as both host drivers plan with it: the baud rate the port
 * was opened with (or switched to), else the fastest delivery measured so far, else a fallback.
 * The ESP-AT driver sizes its CIPSENDs by it (host-lib/at/line-rate.ts); the reliable link models
 * the line with it (line-model.ts), so over socket:// (raw TCP to a board, or a ser2net-style
 * bridge) the host learns a speed it is never told.
 *
 * A measurement is `bytes` written at one moment and proved received `ms` later (an ESP-AT
 * `Recv N bytes`; an acknowledgement of the link's frames, see DeliveryMeter). The far end cannot
 * have received them sooner than the line carries them, so bytes / ms never exceeds the line's
 * rate, however late the proof comes (a loaded host, a slow bridge): at worst the line is planned
 * slower than it is.
 *
 * ```ts
 * const rate = new LineRate();        // socket://: nothing known
 * rate.bytesPerSecond;                // 960 (9600 baud, the fallback)
 * rate.delivered(691, 360);           // 691 bytes confirmed 0.36 s after they were written
 * rate.bytesPerSecond;                // 1919 (19200 baud)
 * ```
 */

/** The slowest line planned for while its speed is unknown, bits/s (ESP-AT's slowest common setting). */
export const SLOWEST_BAUD = 9600;

export class LineRate {
  /** From the baud rate, bytes/s (10 bits a byte on the line); 0 = unknown. */
  private configuredRate: number;
  /** Fastest delivery measured, bytes/s (0 = none yet). */
  private measuredRate = 0;

  constructor(baudRate?: number) {
    this.configuredRate = baudRate ? baudRate / 10 : 0;
  }

  /** The line now runs at `baudRate` (a new port speed); what was measured before no longer holds. */
  setBaud(baudRate: number): void {
    this.configuredRate = baudRate / 10;
    this.measuredRate = 0;
  }

  /** The owner told us the speed (a serial port's baud rate). */
  get configured(): boolean {
    return this.configuredRate > 0;
  }

  /** The fastest delivery measured so far, bytes/s (0 = none yet). */
  get measured(): number {
    return this.measuredRate;
  }

  /** The rate planned with, bytes/s: configured, else measured, else the slowest plausible. */
  get bytesPerSecond(): number {
    return this.configuredRate || this.measuredRate || SLOWEST_BAUD / 10;
  }

  /** `bytes` written at once were proved received `ms` later. */
  delivered(bytes: number, ms: number): void {
    if (bytes <= 0) return;
    this.measuredRate = Math.max(this.measuredRate, (bytes * 1000) / Math.max(1, ms));
  }

  /** How long `bytes` take on the line at the planned rate, ms. */
  lineMs(bytes: number): number {
    return Math.ceil((bytes * 1000) / this.bytesPerSecond);
  }
}

/**
 * Measures how fast a link's frames reach the other end, from its acknowledgements: within a
 * busy period (from a frame written while none was unacknowledged until all are acknowledged
 * again) every byte written was received by the time the acknowledgement covering it arrives.
 * So (bytes written since the period began, up to the frame acknowledged) / (time since it began)
 * is a delivery the line managed at least, and over a bulk transfer it approaches the line's rate
 * (one frame's acknowledgement delay over seconds). Resent copies are not counted (their first
 * copy may be the one acknowledged): that only makes a measurement lower.
 *
 * ```ts
 * const meter = new DeliveryMeter(rate);
 * const end = meter.wrote(2080, t0, true);   // a frame of 2,080 line bytes, nothing unacknowledged before
 * meter.acked(end, t0 + 1100);               // rate.delivered(2080, 1100): 1,891 bytes/s at least
 * ```
 */
export class DeliveryMeter {
  /** When the current busy period began (undefined: idle). */
  private since: number | undefined;
  /** Line bytes written since it began. */
  private written = 0;

  constructor(private readonly rate: LineRate) {}

  /**
   * A frame of `bytes` on the line at `now`; `idle` = nothing of ours was unacknowledged before
   * it (a new busy period begins). Returns its end offset in the period, for `acked`.
   */
  wrote(bytes: number, now: number, idle: boolean): number {
    if (idle || this.since === undefined) {
      this.since = now;
      this.written = 0;
    }
    this.written += bytes;
    return this.written;
  }

  /** The frame that ended at offset `end` of the current period is acknowledged at `now`. */
  acked(end: number, now: number): void {
    if (this.since !== undefined && end <= this.written) this.rate.delivered(end, now - this.since);
  }

  /** Everything is acknowledged: the next frame begins a new period. */
  idle(): void {
    this.since = undefined;
  }
}

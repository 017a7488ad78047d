/**
 * How fast the line carries bytes to the module. Inside an AT+CIPSEND (from its `>` to
 * `Recv N bytes`) the module is silent while the payload is on the line and no liveness probe can
 * go out, so that silence is allowed the payload's line time (liveness.ts); each payload is kept
 * small enough that this line time stays within {@link SEND_LINE_BUDGET_MS}, so a board that
 * really went silent there is still noticed within 3 s (ARCHITECTURE §9).
 *
 * The rate planned with: the baud rate the port was opened with (a serial port) or set since
 * (AT+UART_CUR); else, as over socket:// where the host knows no baud rate, the fastest delivery
 * measured so far; else the slowest plausible line ({@link SLOWEST_BAUD}). A measurement is
 * `Recv N bytes` (or `SEND OK`) arriving `ms` after the N-byte payload was written: the module
 * cannot have received N bytes sooner than the line carries them, so N / ms never exceeds the line
 * rate, however late the answer (a loaded host, a slow bridge) — at worst it is planned too slow:
 *
 * ```text
 * 19200 baud behind socket://, nothing measured:  CIPSEND of 480 B (0.5 s at 9600)  → Recv after 0.26 s
 * measured 1,870 B/s:                              CIPSEND of 935 B (0.5 s)           → ...
 * ```
 */

/** The slowest line planned for while its speed is unknown, bits/s (ESP-AT's slowest common setting). */
export const SLOWEST_BAUD = 9600;
/**
 * Line time one AT+CIPSEND payload may take at the planned rate, ms. The silence allowed inside
 * it is the probe's 2 s plus this, so a board gone silent there is declared lost within 2.6 s, as
 * an idle one is (8 KiB at 115200 would be 711 ms: 5,760 bytes go instead, 1 % more overhead).
 */
export const SEND_LINE_BUDGET_MS = 500;
/** Never smaller payloads than this (the command's own bytes would dominate). */
export const MIN_SEND = 256;

export class LineRate {
  /** From the baud rate, bytes/s (10 bits a byte on the line); 0 = unknown. */
  private configured: number;
  /** Fastest delivery measured, bytes/s (0 = none yet). */
  private measured = 0;

  constructor(baudRate?: number) {
    this.configured = baudRate ? baudRate / 10 : 0;
  }

  /** The line now runs at `baudRate` (AT+UART_CUR); what was measured before no longer holds. */
  setBaud(baudRate: number): void {
    this.configured = baudRate / 10;
    this.measured = 0;
  }

  /** The rate planned with, bytes/s: configured, else measured, else the slowest plausible. */
  get bytesPerSecond(): number {
    return this.configured || this.measured || SLOWEST_BAUD / 10;
  }

  /** `bytes` written at once were confirmed by the module `ms` later. */
  delivered(bytes: number, ms: number): void {
    if (bytes <= 0) return;
    this.measured = Math.max(this.measured, (bytes * 1000) / Math.max(1, ms));
  }

  /** How long `bytes` take on the line at the planned rate, ms. */
  lineMs(bytes: number): number {
    return Math.ceil((bytes * 1000) / this.bytesPerSecond);
  }

  /** The largest AT+CIPSEND payload, at most `max`, whose line time fits the budget. */
  sendSize(max: number): number {
    const fits = Math.floor((this.bytesPerSecond * SEND_LINE_BUDGET_MS) / 1000);
    return Math.min(max, Math.max(MIN_SEND, fits));
  }
}

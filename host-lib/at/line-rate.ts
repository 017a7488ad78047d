/**
 * How the ESP-AT driver sizes its payloads by the line's speed. Inside an AT+CIPSEND (from its `>`
 * to `Recv N bytes`) the module is silent while the payload is on the line and no liveness probe can
 * go out, so that silence is allowed the payload's line time (liveness.ts); each payload is kept
 * small enough that this line time stays within {@link SEND_LINE_BUDGET_MS}, so a board that
 * really went silent there is still noticed within 3 s (ARCHITECTURE §9).
 *
 * The speed is firmware-protocol's LineRate (line-rate.ts there; the SLIP link learns with it too):
 * the baud rate the port was opened with (a serial port) or set since (AT+UART_CUR); else, as over
 * socket:// where the host knows no baud rate, the fastest delivery measured so far, a measurement
 * being `Recv N bytes` (or `SEND OK`) arriving `ms` after the N-byte payload was written; else
 * the slowest plausible line (SLOWEST_BAUD, 9600):
 *
 * ```text
 * 19200 baud behind socket://, nothing measured:  CIPSEND of 480 B (0.5 s at 9600)  → Recv after 0.26 s
 * measured 1,870 B/s:                              CIPSEND of 935 B (0.5 s)           → ...
 * ```
 */
import type { LineRate } from '../../firmware-protocol/index.js';

/**
 * Line time one AT+CIPSEND payload may take at the planned rate, ms. The silence allowed inside
 * it is the probe's 2 s plus this, so a board gone silent there is declared lost within 2.6 s, as
 * an idle one is (8 KiB at 115200 would be 711 ms: 5,760 bytes go instead, 1 % more overhead).
 */
export const SEND_LINE_BUDGET_MS = 500;
/** Never smaller payloads than this (the command's own bytes would dominate). */
export const MIN_SEND = 256;

/** The largest AT+CIPSEND payload, at most `max`, whose line time fits the budget at `rate`. */
export function sendSize(rate: LineRate, max: number): number {
  const fits = Math.floor((rate.bytesPerSecond * SEND_LINE_BUDGET_MS) / 1000);
  return Math.min(max, Math.max(MIN_SEND, fits));
}

/**
 * What the AT command channel (channel.ts) runs and how it reads the replies: a command, its
 * reply, the queued job, the channel's options, and the tables that sort each parsed line into
 * "part of the running command's reply", "the end of it", or "a URC".
 */
import { at } from '../../firmware-protocol/index.js';

type AtMessage = at.AtMessage;

/** One command to run. */
export interface AtCommand {
  readonly name: at.CommandName;
  readonly form: at.AtForm;
  readonly params?: readonly at.ParamInput[];
  /** Raw bytes written after the `>` prompt (CIPSEND). */
  readonly payload?: Uint8Array;
  /** Overrides the table's deadline, ms. */
  readonly timeoutMs?: number;
  /** errno-map key when it differs from the name, e.g. `CIPSTART:UDP`. */
  readonly context?: string;
  /** Start-up command: runs while the channel holds other work back. */
  readonly init?: boolean;
  /** Accept the final OK only after a reply line like this (resync probes, AT+GMR at start-up). */
  readonly needLine?: (m: AtMessage) => boolean;
  /** Resend on `busy p...` (default true). */
  readonly retryBusy?: boolean;
  /**
   * Checked when the command's turn comes: true drops it unsent (EBADF). A CIPSTART queued
   * behind another one is worthless once its socket was closed, and would block the module.
   */
  readonly cancelled?: () => boolean;
}

/** The reply lines of a command, in order, without its final result. */
export interface AtReply {
  readonly lines: readonly AtMessage[];
}

/** The info lines of a reply with the given prefix: `infoLines(r, '+CIPDOMAIN')`. */
export function infoLines(reply: AtReply, prefix: string): at.AtMessageOf<'info'>[] {
  return reply.lines.filter((m): m is at.AtMessageOf<'info'> => m.type === 'info' && m.prefix === prefix);
}

/** A queued command with its completion. */
export interface AtJob {
  readonly cmd: AtCommand;
  resolve(reply: AtReply): void;
  /** OSError (errno-map.ts), or the encoder's TypeError for a bad parameter. */
  reject(err: Error): void;
  /** Sees each reply line as it is parsed (a read delivers its bytes at once). */
  onLine?(m: AtMessage): void;
}

export interface AtChannelOptions {
  /** Every URC, in stream order. */
  onUrc(m: AtMessage): void;
  /** Reply-type lines that arrived with no command in flight (logged, never fatal). */
  onStray?(m: AtMessage): void;
  /** Background work (reads, sends) to run when the channel is free; alternates with queued commands. */
  background?(): AtJob | undefined;
  /** Resends on `busy p...` before giving up (default 8). */
  busyRetries?: number;
  /**
   * First busy backoff, ms, doubled per attempt up to 1 s (default 100): a resend waits until
   * the device has been silent this long, longer than a reply that a stray busy preceded takes
   * to start (USB-serial adapters alone may hold bytes for 16 ms).
   */
  busyBackoffMs?: number;
  /** How long a `SEND FAIL` waits for a `SEND OK` of the same send that overrules it, ms (default 500). */
  sendFailGraceMs?: number;
  /** The module confirmed a `bytes` payload `ms` after it was written: a measure of the line's speed (line-rate.ts). */
  onDelivered?(bytes: number, ms: number): void;
}

/** Message types that are never part of a command's reply. */
export const URC_TYPES: ReadonlySet<AtMessage['type']> = new Set([
  'ipd',
  'ipd-notify',
  'connect',
  'closed',
  'connect-fail',
  'link-conn',
  'wifi',
  'ready',
  'max-conn',
  'force-restart',
  'unknown',
  'overflow',
]);

/** The lines that end a command, and how. */
export const FINAL_RESULTS: ReadonlyMap<AtMessage['type'], 'ok' | 'error' | 'send-fail'> = new Map([
  ['ok', 'ok'],
  ['send-ok', 'ok'],
  ['error', 'error'],
  ['send-fail', 'send-fail'],
  ['send-cancelled', 'send-fail'],
]);

/** Sent by every command that can fail with `+ERRNO:` detail (AT+SYSLOG=1). */
export const ALWAYS_EXPECTED = ['+ERRNO'];

/** `ERR CODE:0x010b0000`: the line before `busy p...`, which belongs to the busy, not to the reply. */
export const isBusyCode = (m: AtMessage) =>
  m.type === 'err-code' && ((m.code >>> 16) & 0xff) === at.AT_ERROR_SUBCATEGORY.busy;

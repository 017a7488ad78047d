/**
 * ESP-AT's error code scheme (esp-at.md §7) and the reasons a command line is rejected.
 *
 * `ERR CODE:0x<8 hex>` is `[category:8][subcategory:8][extension:16]` with category 0x01;
 * with `AT+SYSLOG=1` the firmware prints it on the line before `ERROR` / `busy p...`:
 * `ERR CODE:0x01090000\r\n\r\nERROR\r\n` answers an unknown command.
 */

import type { AtForm } from './form.js';

/** Subcategory byte of an `ERR CODE:` value, one entry per documented meaning. */
export const AT_ERROR_SUBCATEGORY = {
  ok: 0x00,
  common: 0x01,
  noTerminator: 0x02,
  noAtPrefix: 0x03,
  paramLength: 0x04,
  paramType: 0x05,
  paramCount: 0x06,
  paramInvalid: 0x07,
  paramParse: 0x08,
  unsupported: 0x09,
  execFailed: 0x0a,
  busy: 0x0b,
  wrongForm: 0x0c,
} as const;

export type AtErrorSubcategory = keyof typeof AT_ERROR_SUBCATEGORY;

/** Category byte of every ESP-AT error code (`ESP_AT_MODULE_NUM`). */
export const ESP_AT_MODULE = 0x01;

/** Why the command parser rejected a line; `name`/`index` say where, for the extension field. */
export type BadReason =
  | { readonly code: 'empty-line' }
  | { readonly code: 'no-terminator' }
  | { readonly code: 'too-long'; readonly limit: number }
  | { readonly code: 'no-at-prefix' }
  | { readonly code: 'unknown-command'; readonly name: string }
  | { readonly code: 'wrong-form'; readonly name: string; readonly form: AtForm }
  | { readonly code: 'param-count'; readonly name: string; readonly expected: number; readonly given: number }
  | { readonly code: 'param-parse'; readonly name: string; readonly index: number }
  | ParamProblem<'param-type', { readonly expected: 'int' | 'string' }>
  | ParamProblem<'param-length', { readonly max: number }>
  | ParamProblem<'param-invalid', { readonly detail: string }>;

type ParamProblem<C extends string, X> = {
  readonly code: C;
  readonly name: string;
  readonly index: number;
  readonly param: string;
} & X;

/** Which subcategory each rejection maps to (the "one table" for §7). */
export const BAD_REASON_SUBCATEGORY: { readonly [K in BadReason['code']]: AtErrorSubcategory } = {
  'empty-line': 'noAtPrefix',
  'no-terminator': 'noTerminator',
  // A line that fills the 256-byte command buffer never shows its terminator to the firmware.
  'too-long': 'noTerminator',
  'no-at-prefix': 'noAtPrefix',
  'unknown-command': 'unsupported',
  'wrong-form': 'wrongForm',
  'param-count': 'paramCount',
  'param-parse': 'paramParse',
  'param-type': 'paramType',
  'param-length': 'paramLength',
  'param-invalid': 'paramInvalid',
};

/** Builds a 32-bit code: `errCode('paramInvalid', 1)` → 0x01070001. */
export function errCode(sub: AtErrorSubcategory, extension = 0): number {
  return ((ESP_AT_MODULE << 24) | (AT_ERROR_SUBCATEGORY[sub] << 16) | (extension & 0xffff)) >>> 0;
}

/**
 * The code the firmware reports for a rejected line; the extension is the parameter index,
 * or `(expected << 8) | given` for a count mismatch: `AT+CIPMUX=1,2` → 0x01060102.
 */
export function errCodeForReason(reason: BadReason): number {
  const sub = BAD_REASON_SUBCATEGORY[reason.code];
  if (reason.code === 'param-count') return errCode(sub, ((reason.expected & 0xff) << 8) | (reason.given & 0xff));
  if ('index' in reason) return errCode(sub, reason.index);
  return errCode(sub);
}

/** The line text without CRLF: `formatErrCode(0x01090000)` → `ERR CODE:0x01090000`. */
export function formatErrCode(code: number): string {
  return `ERR CODE:0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/** A readable sentence naming the command and parameter, e.g. for logs and thrown errors. */
export function describeBadReason(reason: BadReason): string {
  switch (reason.code) {
    case 'empty-line':
      return 'empty command line';
    case 'no-terminator':
      return 'command line not terminated by CR LF';
    case 'too-long':
      return `command line longer than ${reason.limit} bytes`;
    case 'no-at-prefix':
      return 'command line does not start with "AT"';
    case 'unknown-command':
      return `unknown command ${wire(reason.name)}`;
    case 'wrong-form':
      return `${wire(reason.name)} has no ${reason.form} form`;
    case 'param-count':
      return `${wire(reason.name)} takes ${reason.expected} parameters, got ${reason.given}`;
    case 'param-parse':
      return `${wire(reason.name)}: parameter ${reason.index + 1} cannot be parsed`;
    case 'param-type':
      return `${paramLabel(reason)} must be ${reason.expected === 'int' ? 'an integer' : 'a quoted string'}`;
    case 'param-length':
      return `${paramLabel(reason)} must be at most ${reason.max} bytes`;
    case 'param-invalid':
      return `${paramLabel(reason)} ${reason.detail}`;
  }
}

/** Basic commands (`AT`, `ATE0`, `ATE1`) are named as written; the rest lack their `AT+`. */
function wire(name: string): string {
  return /^AT(E\d)?$/.test(name) ? name : `AT+${name}`;
}

function paramLabel(r: { name: string; index: number; param: string }): string {
  return `${wire(r.name)}: parameter ${r.index + 1} <${r.param}>`;
}

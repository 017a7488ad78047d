/**
 * How an ESP-AT failure becomes an OSError — the one table for it. ESP-AT reports almost every
 * failure as a bare `\r\nERROR\r\n`; what it means depends on the command that failed, so the
 * table is keyed by command (or a finer context such as `CIPSTART:UDP`). With `AT+SYSLOG=1` an
 * `ERR CODE:0x010X0000` line comes first, and its subcategory overrides the command's default
 * when it names a cause that is not the command's own (a bad parameter, an unsupported command).
 *
 * | failure                                   | errno                 | why                                  |
 * |-------------------------------------------|-----------------------|--------------------------------------|
 * | no reply before the command's deadline    | ETIMEDOUT             | the device is stuck or gone          |
 * | `busy p...` on every retry                | ETIMEDOUT             | a long command never finished        |
 * | `ready` while a command runs              | ECONNRESET            | the coprocessor restarted            |
 * | the serial link closed                    | EIO                   |                                      |
 * | the module stopped answering (liveness)   | ETIMEDOUT             | silent, hung, or talking nonsense    |
 * | dropped unsent (its socket was closed)    | EBADF                 | a queued CIPSTART nobody wants       |
 * | ERR CODE subcategory 0x04–0x08 (params)   | EINVAL                | the firmware rejected a parameter    |
 * | ERR CODE subcategory 0x09 / 0x0C          | EOPNOTSUPP            | command or form not in this firmware |
 * | CIPSTART (TCP/SSL) ERROR / CONNECT FAIL   | ECONNREFUSED          | lwIP detail is not reported          |
 * | CIPSTART (TCP) ERROR once its `<timeout>` ran out | ETIMEDOUT     | the peer never answered ({@link connectTimedOut}) |
 * | CIPSTART ALREADY CONNECTED                | EISCONN               | link id taken                        |
 * | CIPSTART (UDP) ERROR                      | EADDRINUSE            | local port taken is the usual cause  |
 * | CIPSTART (SSL) ERROR                      | 450 (ESECGENERAL)     | TCP or TLS: ESP-AT does not say      |
 * | CIPSEND ERROR (link down)                 | EPIPE                 | send on a link that is gone          |
 * | CIPSEND SEND FAIL                         | ECONNRESET            | data not handed to lwIP: stream lost |
 * | CIPDOMAIN ERROR                           | -2 (EAI_NONAME)       | MicroPython's getaddrinfo convention |
 * | CIPSERVER ERROR                           | EADDRINUSE            | port taken, or a server already runs |
 * | CWJAP `+CWJAP:1/2/3/4`                    | ETIMEDOUT/EACCES/ENOENT/ECONNREFUSED | documented join codes |
 * | anything else                             | EIO                   |                                      |
 */
import { at, errno as E, type ErrnoName, tlsErrno } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';

/** What went wrong with one command, before it is given an errno. */
export type AtFailure =
  | { readonly kind: 'error'; readonly replies: readonly at.AtMessage[] }
  | { readonly kind: 'send-fail'; readonly replies: readonly at.AtMessage[] }
  | { readonly kind: 'timeout'; readonly ms: number }
  | { readonly kind: 'busy'; readonly attempts: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'link-closed'; readonly detail: string }
  | { readonly kind: 'lost'; readonly errno: number; readonly detail: string };

interface ContextRule {
  /** errno for a plain ERROR. */
  readonly error: number;
  /** Text for the OSError. */
  readonly text: string;
  /** errno for SEND FAIL (prompt commands only). */
  readonly sendFail?: number;
  /** A finer answer from the reply lines (e.g. `+CWJAP:2`), or undefined to use `error`. */
  readonly refine?: (replies: readonly at.AtMessage[]) => { errno: number; text: string } | undefined;
}

/** `+CWJAP:<code>` (esp-at.md §2): 1 timeout, 2 wrong password, 3 AP not found, 4 failed. */
const CWJAP_CODES: Readonly<Record<number, [ErrnoName, string]>> = {
  1: ['ETIMEDOUT', 'joining the access point timed out'],
  2: ['EACCES', 'wrong Wi-Fi password'],
  3: ['ENOENT', 'access point not found'],
  4: ['ECONNREFUSED', 'the access point refused the connection'],
};

/** Resolver failure as MicroPython reports it: OSError(-2). */
export const EAI_NONAME = -2;

/** The table: one row per command (or `COMMAND:variant`) whose ERROR means something specific. */
export const AT_ERRNO: Readonly<Record<string, ContextRule>> = {
  CIPSTART: {
    error: E.ECONNREFUSED,
    text: 'connection refused or unreachable (AT+CIPSTART failed)',
    refine: (r) =>
      r.some((m) => m.type === 'already-connected') ? { errno: E.EISCONN, text: 'link already connected' } : undefined,
  },
  'CIPSTART:UDP': { error: E.EADDRINUSE, text: 'AT+CIPSTART "UDP" failed (local port in use?)' },
  'CIPSTART:SSL': {
    error: tlsErrno.ESECGENERAL,
    text: 'AT+CIPSTART "SSL" failed: refused, or the TLS handshake or certificate check failed (ESP-AT does not say which)',
  },
  CIPSEND: { error: E.EPIPE, text: 'the link is down (AT+CIPSEND failed)', sendFail: E.ECONNRESET },
  CIPDOMAIN: { error: EAI_NONAME, text: 'name not known (AT+CIPDOMAIN failed)' },
  CIPSERVER: { error: E.EADDRINUSE, text: 'AT+CIPSERVER failed (port in use, or a server already runs)' },
  CIPCLOSE: { error: E.EBADF, text: 'link not open (AT+CIPCLOSE failed)' },
  CWJAP: {
    error: E.ECONNREFUSED,
    text: 'could not join the access point',
    refine: (r) => {
      const line = r.find((m) => m.type === 'info' && m.prefix === '+CWJAP');
      const code = line?.type === 'info' ? line.fields[0] : undefined;
      const row = typeof code === 'number' ? CWJAP_CODES[code] : undefined;
      return row && { errno: E[row[0]], text: row[1] };
    },
  },
};

const SUBCATEGORY_ERRNO: Readonly<Partial<Record<number, number>>> = {
  [at.AT_ERROR_SUBCATEGORY.paramLength]: E.EINVAL,
  [at.AT_ERROR_SUBCATEGORY.paramType]: E.EINVAL,
  [at.AT_ERROR_SUBCATEGORY.paramCount]: E.EINVAL,
  [at.AT_ERROR_SUBCATEGORY.paramInvalid]: E.EINVAL,
  [at.AT_ERROR_SUBCATEGORY.paramParse]: E.EINVAL,
  [at.AT_ERROR_SUBCATEGORY.unsupported]: E.EOPNOTSUPP,
  [at.AT_ERROR_SUBCATEGORY.wrongForm]: E.EOPNOTSUPP,
};

/**
 * The OSError for a failed command. `context` is the command name, or `NAME:variant`
 * falling back to `NAME`.
 *
 * @example
 * atOSError('CIPDOMAIN', { kind: 'error', replies: [] }).errno;          // -2
 * atOSError('CIPSEND', { kind: 'send-fail', replies: [] }).errno;        // 104 (ECONNRESET)
 * atOSError('CIPMUX', { kind: 'error', replies: [{ type: 'err-code', code: 0x01070000 }] }).errno; // 22
 */
export function atOSError(context: string, failure: AtFailure): OSError {
  const name = context.split(':')[0]!;
  const what = at.findCommand(name) ? at.commandText(name as at.CommandName) : name;
  switch (failure.kind) {
    case 'timeout':
      return new OSError(E.ETIMEDOUT, `${what}: no answer within ${failure.ms} ms`);
    case 'busy':
      return new OSError(E.ETIMEDOUT, `${what}: coprocessor still busy after ${failure.attempts} attempts`);
    case 'reset':
      return new OSError(E.ECONNRESET, 'coprocessor restarted');
    case 'link-closed':
      return new OSError(E.EIO, `${what}: ${failure.detail}`);
    case 'lost':
      return new OSError(failure.errno, `${what}: ${failure.detail}`);
    case 'cancelled':
      return new OSError(E.EBADF, `${what}: not sent, its socket was closed`);
    case 'send-fail':
    case 'error':
      return replyError(context, what, failure);
  }
}

function replyError(context: string, what: string, failure: Extract<AtFailure, { replies: unknown }>): OSError {
  const rule = AT_ERRNO[context] ?? AT_ERRNO[context.split(':')[0]!];
  if (failure.kind === 'send-fail') return new OSError(rule?.sendFail ?? E.EIO, `${what}: SEND FAIL`);
  const code = failure.replies.find((m) => m.type === 'err-code')?.code;
  const bySub = code === undefined ? undefined : SUBCATEGORY_ERRNO[(code >>> 16) & 0xff];
  if (bySub !== undefined) return new OSError(bySub, `${what} rejected (ERR CODE:0x${code!.toString(16)})`);
  const refined = rule?.refine?.(failure.replies);
  if (refined) return new OSError(refined.errno, refined.text);
  return new OSError(rule?.error ?? E.EIO, rule?.text ?? `${what} failed`);
}

/** Firmware without CIPSTART's `<timeout>` (before v4.1): lwIP gives up its SYN retries after this long, or more. */
const LWIP_GIVE_UP_MS = 5000;

/**
 * ESP-AT answers a connect to a peer that never answers with the same bare ERROR as a refused
 * one; only the time tells them apart. A refusal (an RST) comes within a round trip; an ERROR
 * that comes once the `<timeout>` we gave has (nearly) run out, or on firmware without one after
 * lwIP's SYN retries, is a timeout.
 *
 * @example connectTimedOut(new OSError(111), 20_010, 20_000)?.errno  // 110 (ETIMEDOUT)
 */
export function connectTimedOut(err: OSError, elapsedMs: number, timeoutMs: number | undefined): OSError | undefined {
  if (err.errno !== E.ECONNREFUSED) return undefined;
  const limit = timeoutMs === undefined ? LWIP_GIVE_UP_MS : timeoutMs * 0.9;
  if (elapsedMs < limit) return undefined;
  return new OSError(E.ETIMEDOUT, `connect timed out: no answer within ${Math.round(elapsedMs)} ms (AT+CIPSTART)`);
}

/**
 * Why a link could not be opened, as the OSError users get from `openDevice`: an errno they can
 * test (ENOENT, EACCES, EBUSY, ENOTTY, ECONNREFUSED, ETIMEDOUT, ...) and a message that names
 * the locator, whichever layer failed (net, serialport's C++ binding, the RFC 2217 session).
 *
 * ```ts
 * await openDevice('socket://127.0.0.1:1');
 * // OSError: [Errno 111] ECONNREFUSED: cannot open socket://127.0.0.1:1: connection refused
 * ```
 */
import { errno as E, type ErrnoName, errnoText } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';

/** serialport's binding reports strerror() text, not a code: the texts it is known to give. */
const STRERROR: [RegExp, ErrnoName][] = [
  [/no such file or directory/i, 'ENOENT'],
  [/permission denied/i, 'EACCES'],
  [/cannot lock port|resource temporarily unavailable|resource busy/i, 'EBUSY'],
  [/inappropriate ioctl/i, 'ENOTTY'],
  [/is a directory/i, 'EISDIR'],
  [/not a directory/i, 'ENOTDIR'],
  [/no such device/i, 'ENODEV'],
  [/timed out/i, 'ETIMEDOUT'],
];

/** getaddrinfo failures: MicroPython's resolver code (negative, like EAI_NONAME = -2). */
const RESOLVER_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);

function isErrnoName(code: unknown): code is ErrnoName {
  return typeof code === 'string' && Object.hasOwn(E, code);
}

/** The errno of an open failure: Node's `code`, an errno name in the text, or serialport's strerror text. */
function errnoOf(err: Error & { code?: unknown }): number {
  if (err instanceof OSError) return err.errno;
  if (typeof err.code === 'string' && RESOLVER_FAILURES.has(err.code)) return -2;
  if (isErrnoName(err.code)) return E[err.code];
  const named = /\b(E[A-Z]{3,})\b/.exec(err.message)?.[1];
  if (isErrnoName(named)) return E[named];
  if (named && RESOLVER_FAILURES.has(named)) return -2;
  const known = STRERROR.find(([re]) => re.test(err.message));
  return known ? E[known[1]] : E.EIO;
}

/**
 * `cannot open LOCATOR: what happened` as an OSError. A system error is said by its errno text;
 * anything else (a timeout, a refused RFC 2217 negotiation) keeps its own words.
 */
export function openFailure(locator: string, cause: unknown): OSError {
  const err = cause instanceof Error ? cause : new Error(String(cause));
  const n = errnoOf(err);
  const own = err instanceof OSError ? err.args[1] : err.message;
  const systemError = !(err instanceof OSError) && n !== E.EIO && n !== E.ETIMEDOUT;
  const detail = systemError ? (n < 0 ? 'name resolution failed' : errnoText(n)) : own;
  const text = !systemError && own.includes(locator) ? own : `cannot open ${locator}: ${detail}`;
  const failure = new OSError(n, text);
  failure.cause = err;
  return failure;
}

/** A handshake failure after the link opened (`[Errno 110] ETIMEDOUT: socket://…: no hello`), naming the locator. */
export function namingLocator(locator: string, err: unknown): unknown {
  if (!(err instanceof OSError) || err.message.includes(locator)) return err;
  const named = new OSError(err.errno, `${locator}: ${err.args[1]}`);
  named.cause = err;
  return named;
}

/**
 * MicroPython's error model at the API boundary: OSError with `.errno` in Linux/MicroPython
 * numbering and `.args = [errno, text]`. Internal layers carry errno numbers; this is the one
 * place they become user-facing errors.
 */
import { errno as E, type ErrnoName, errnoName, errnoText } from '../firmware-protocol/index.js';

/**
 * ```ts
 * try { await s.recv(10); } catch (e) { if (e instanceof OSError && e.errno === errno.EAGAIN) ... }
 * ```
 */
export class OSError extends Error {
  readonly errno: number;
  readonly args: [number, string];
  /** Symbolic name (e.g. 'ETIMEDOUT') for logs and tests; undefined for resolver codes. */
  readonly code?: string;

  constructor(errno: number, text?: string) {
    const name = errnoName(errno);
    const detail = text ?? (errno < 0 ? 'name resolution failed' : errnoText(errno));
    super(`[Errno ${errno}] ${name ? `${name}: ` : ''}${detail}`);
    this.name = 'OSError';
    this.errno = errno;
    this.args = [errno, detail];
    this.code = name;
  }
}

/** OSError from a symbolic name: `osError('EAGAIN')`. */
export function osError(name: ErrnoName, text?: string): OSError {
  return new OSError(E[name], text);
}

/** A bad argument, named in the message (MicroPython raises TypeError/ValueError). */
export function badArg(kind: 'TypeError' | 'ValueError', arg: string, why: string): Error {
  const err = kind === 'TypeError' ? new TypeError(`${arg}: ${why}`) : new RangeError(`${arg}: ${why}`);
  if (kind === 'ValueError') err.name = 'ValueError';
  return err;
}

/**
 * What drivers throw for "would block". Created once: EAGAIN is control flow between a driver
 * and the socket layer (thrown on every empty poll), and a fresh Error's stack trace costs more
 * than the data path. The socket layer raises a fresh OSError(EAGAIN) to users.
 */
export const WOULD_BLOCK: OSError = (() => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const e = new OSError(E.EAGAIN);
  Error.stackTraceLimit = limit;
  return e;
})();

/**
 * Errors of the virtual network. Inside the emulator errors carry a stable string `code`;
 * the socket table turns them into errno numbers at its boundary (STYLE lesson 5).
 */

/** Every failure the network reports. Names match the errno a BSD stack would give. */
export type NetErrorCode =
  | 'ECONNREFUSED'
  | 'EHOSTUNREACH'
  | 'ETIMEDOUT'
  | 'ECONNRESET'
  | 'EADDRINUSE'
  | 'EINVAL'
  | 'ENOENT';

/**
 * A network failure with a stable code.
 *
 * @example
 * try { await net.connectTcp('10.77.0.99', 80); }
 * catch (e) { if (e instanceof NetError && e.code === 'ECONNREFUSED') retryLater(); }
 */
export class NetError extends Error {
  readonly code: NetErrorCode;
  /** True when the operation was cancelled by its AbortSignal rather than failing by itself. */
  readonly cancelled: boolean;

  constructor(code: NetErrorCode, message: string, options?: { cause?: unknown; cancelled?: boolean }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = options?.cancelled ? 'AbortError' : 'NetError';
    this.code = code;
    this.cancelled = options?.cancelled ?? false;
  }
}

/**
 * The error a cancelled connect rejects with: ETIMEDOUT, because the socket table aborts a
 * connect when its deadline passes, named 'AbortError' and marked `cancelled` so callers can
 * tell it from a network-side timeout.
 */
export function abortedError(signal: AbortSignal): NetError {
  return new NetError('ETIMEDOUT', 'connect aborted', { cause: signal.reason, cancelled: true });
}

// Node system error codes (from node:net / node:dgram / node:dns) mapped to ours.
const NODE_CODES: Readonly<Record<string, NetErrorCode>> = {
  ECONNREFUSED: 'ECONNREFUSED',
  ECONNRESET: 'ECONNRESET',
  ECONNABORTED: 'ECONNRESET',
  EPIPE: 'ECONNRESET',
  ETIMEDOUT: 'ETIMEDOUT',
  EHOSTUNREACH: 'EHOSTUNREACH',
  ENETUNREACH: 'EHOSTUNREACH',
  ENETDOWN: 'EHOSTUNREACH',
  EHOSTDOWN: 'EHOSTUNREACH',
  EADDRINUSE: 'EADDRINUSE',
  EADDRNOTAVAIL: 'EINVAL',
  EINVAL: 'EINVAL',
  ENOTFOUND: 'ENOENT',
  ENODATA: 'ENOENT',
  EAI_AGAIN: 'ENOENT',
  EAI_FAIL: 'ENOENT',
};

/**
 * Converts anything thrown by Node's real sockets into a NetError; `fallback` is used for
 * codes with no better match (e.g. ECONNRESET for a failure during data transfer).
 *
 * @example toNetError(Object.assign(new Error('x'), { code: 'EPIPE' }), 'ECONNRESET').code === 'ECONNRESET'
 */
export function toNetError(err: unknown, fallback: NetErrorCode): NetError {
  if (err instanceof NetError) return err;
  const nodeCode = (err as { code?: unknown } | null)?.code;
  const code = typeof nodeCode === 'string' ? (NODE_CODES[nodeCode] ?? fallback) : fallback;
  const message = err instanceof Error ? err.message : String(err);
  return new NetError(code, message, { cause: err });
}

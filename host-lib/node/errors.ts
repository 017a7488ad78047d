/**
 * Errors in Node's shape for the Node-native sockets: `code` ('ECONNREFUSED'), `errno` as Node
 * gives it (negative: -111 on Linux, so util.getSystemErrorName(err.errno) names it), `syscall`,
 * `address`, `port`, and the original OSError as `cause`. A resolver failure is Node's ENOTFOUND.
 *
 * ```ts
 * sock.on('error', (e) => { if (e.code === 'ECONNREFUSED') retryLater(); });
 * ```
 */
import { OSError } from '../errors.js';

/** libuv's EAI_NONAME, which Node reports for a name that does not resolve. */
const UV_EAI_NONAME = -3008;

export interface NodeSocketError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** An OSError (or anything else thrown below) as the error Node's net would raise for `syscall`. */
export function nodeError(err: unknown, syscall: string, address?: string, port?: number): Error {
  if (!(err instanceof OSError)) return err instanceof Error ? err : new Error(String(err));
  if (err.errno < 0) return notFound(address ?? '', err);
  const code = err.code ?? 'EIO';
  const where = address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
  const e = new Error(`${syscall} ${code}${where}`, { cause: err }) as NodeSocketError;
  e.code = code;
  e.errno = -err.errno;
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port !== undefined) e.port = port;
  return e;
}

/** `getaddrinfo ENOTFOUND host`, as Node's dns.lookup fails. */
export function notFound(hostname: string, cause?: unknown): NodeSocketError {
  const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`, { cause }) as NodeSocketError;
  e.code = 'ENOTFOUND';
  e.errno = UV_EAI_NONAME;
  e.syscall = 'getaddrinfo';
  e.hostname = hostname;
  return e;
}

/** Node's error for a stream call on a socket that is gone (write after destroy etc.). */
export function socketClosed(): Error {
  return Object.assign(new Error('Socket is closed'), { code: 'ERR_SOCKET_CLOSED' });
}

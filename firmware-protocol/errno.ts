/**
 * The errno table: one row per error, with MicroPython/Linux numbering (what the host API
 * reports, `py/mperrno.h`) and newlib numbering (what an ESP32 running MicroPython reports
 * natively). A device says in its hello which numbering it uses; the host translates at the
 * boundary with `toLinuxErrno`. TLS failures have their own table (tls.ts, SimpleLink numbers).
 */
import { TLS_ERRNO_TABLE, type TlsErrnoName } from './tls.js';

export const ERRNO_TABLE = [
  // name, linux, newlib, text
  ['EPERM', 1, 1, 'operation not permitted'],
  ['ENOENT', 2, 2, 'no such file or directory'],
  ['EIO', 5, 5, 'I/O error'],
  ['EBADF', 9, 9, 'bad file descriptor (socket closed)'],
  ['EAGAIN', 11, 11, 'operation would block'],
  ['ENOMEM', 12, 12, 'out of memory'],
  ['EACCES', 13, 13, 'permission denied'],
  ['EBUSY', 16, 16, 'device or resource busy'],
  ['EEXIST', 17, 17, 'file exists'],
  ['ENODEV', 19, 19, 'no such device'],
  ['ENOTDIR', 20, 20, 'not a directory'],
  ['EISDIR', 21, 21, 'is a directory'],
  ['EINVAL', 22, 22, 'invalid argument'],
  ['ENFILE', 23, 23, 'socket table full'],
  ['EMFILE', 24, 24, 'too many open sockets'],
  ['ENOTTY', 25, 25, 'not a serial port (inappropriate ioctl for device)'],
  ['ENOSPC', 28, 28, 'no space left on device'],
  ['EPIPE', 32, 32, 'broken pipe'],
  ['ENAMETOOLONG', 36, 91, 'file name too long'],
  ['EMSGSIZE', 90, 122, 'message too long'],
  ['ENOPROTOOPT', 92, 109, 'protocol option not available'],
  ['EPROTONOSUPPORT', 93, 123, 'protocol not supported'],
  ['EOPNOTSUPP', 95, 95, 'operation not supported'],
  ['EAFNOSUPPORT', 97, 106, 'address family not supported'],
  ['EADDRINUSE', 98, 112, 'address in use'],
  ['EADDRNOTAVAIL', 99, 125, 'address not available'],
  ['ENETUNREACH', 101, 114, 'network unreachable'],
  ['ECONNABORTED', 103, 113, 'connection aborted'],
  ['ECONNRESET', 104, 104, 'connection reset'],
  ['ENOBUFS', 105, 105, 'no buffer space'],
  ['EISCONN', 106, 127, 'socket already connected'],
  ['ENOTCONN', 107, 128, 'socket not connected'],
  ['ETIMEDOUT', 110, 116, 'timed out'],
  ['ECONNREFUSED', 111, 111, 'connection refused'],
  ['EHOSTUNREACH', 113, 118, 'host unreachable'],
  ['EALREADY', 114, 120, 'operation already in progress'],
  ['EINPROGRESS', 115, 119, 'operation in progress'],
] as const;

export type ErrnoName = (typeof ERRNO_TABLE)[number][0];

/** Linux/MicroPython numbers by name: `errno.EAGAIN === 11`. */
export const errno = Object.freeze(Object.fromEntries(ERRNO_TABLE.map(([n, l]) => [n, l]))) as Readonly<
  Record<ErrnoName, number>
>;

/** Which numbering a device uses on the wire (hello field `errnoBase`). */
export const ERRNO_BASE = { linux: 0, newlib: 1 } as const;
export type ErrnoBase = keyof typeof ERRNO_BASE;

const byLinux = new Map<number, (typeof ERRNO_TABLE)[number]>(ERRNO_TABLE.map((row) => [row[1], row]));
/** TLS failures (tls.ts) share the numbering of every base: named and described here too. */
const tlsByNumber = new Map<number, (typeof TLS_ERRNO_TABLE)[number]>(TLS_ERRNO_TABLE.map((row) => [row[1], row]));
const newlibToLinux = new Map<number, number>(ERRNO_TABLE.map(([, l, n]) => [n, l]));
const linuxToNewlib = new Map<number, number>(ERRNO_TABLE.map(([, l, n]) => [l, n]));

/** Device-native → Linux numbering. Unknown numbers and negative resolver codes pass through unchanged. */
export function toLinuxErrno(code: number, base: ErrnoBase): number {
  if (base === 'linux' || code <= 0) return code;
  return newlibToLinux.get(code) ?? code;
}

/** Linux → device-native numbering (used by an emulator profile that reports newlib numbers). */
export function fromLinuxErrno(code: number, base: ErrnoBase): number {
  if (base === 'linux' || code <= 0) return code;
  return linuxToNewlib.get(code) ?? code;
}

/** Symbolic name of a Linux errno, e.g. 110 → 'ETIMEDOUT', 461 → 'ESECDATEERROR'; undefined if unknown. */
export function errnoName(code: number): ErrnoName | TlsErrnoName | undefined {
  return byLinux.get(code)?.[0] ?? tlsByNumber.get(code)?.[0];
}

/** Human text of a Linux errno, e.g. 11 → 'operation would block'. */
export function errnoText(code: number): string {
  return byLinux.get(code)?.[3] ?? tlsByNumber.get(code)?.[2] ?? `error ${code}`;
}

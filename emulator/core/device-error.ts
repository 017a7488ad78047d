import { errno as E, type ErrnoName, type TlsErrnoName, tlsErrno } from '../../firmware-protocol/index.js';

/** What a device operation can fail with: an errno name, or a TLS failure (SimpleLink numbers). */
export type DeviceErrno = ErrnoName | TlsErrnoName;

/**
 * An error the emulated device reports for one operation. Carries the errno *name*; the
 * personality in front (SLIP, AT) turns it into its wire form and the profile's numbering.
 */
export class DeviceError extends Error {
  constructor(
    readonly code: DeviceErrno,
    message?: string,
  ) {
    super(message ?? code);
  }
}

/** The Linux/MicroPython number of a device errno name (TLS names have one number everywhere). */
export function deviceErrno(code: DeviceErrno): number {
  return code in tlsErrno ? tlsErrno[code as TlsErrnoName] : E[code as ErrnoName];
}

/** Maps a network-layer error code (NetError.code) to the device errno it surfaces as. */
export function fromNetCode(code: string | undefined): ErrnoName {
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EADDRINUSE':
    case 'EINVAL':
    case 'ENOENT':
    case 'EPIPE':
    case 'ECONNABORTED':
      return code;
    default:
      return 'ECONNRESET';
  }
}

import type { ErrnoName } from '../../firmware-protocol/index.js';

/**
 * An error the emulated device reports for one operation. Carries the errno *name*; the
 * personality in front (SLIP, AT) turns it into its wire form and the profile's numbering.
 */
export class DeviceError extends Error {
  constructor(
    readonly code: ErrnoName,
    message?: string,
  ) {
    super(message ?? code);
  }
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

/** socket.inet_pton / inet_ntop (AF_INET and AF_INET6), pure and local. */
import { constants as C, formatIp, parseIp } from '../firmware-protocol/index.js';
import { toBytes } from './args.js';
import { badArg, osError } from './errors.js';

/** `inet_pton(AF_INET, '10.0.0.1')` → bytes `0a 00 00 01`; a malformed address → OSError(EINVAL). */
export function inet_pton(af: number, addr: string): Uint8Array {
  if (typeof addr !== 'string') throw badArg('TypeError', 'ip_string', 'must be a str');
  const b = parseIp(addr);
  const want = af === C.AF_INET ? 4 : af === C.AF_INET6 ? 16 : 0;
  if (!want) throw osError('EAFNOSUPPORT', `address family ${af}`);
  if (!b || b.length !== want) throw osError('EINVAL', `not a valid ${want === 4 ? 'IPv4' : 'IPv6'} address: ${addr}`);
  return b;
}

/** `inet_ntop(AF_INET, bytes)` → '10.0.0.1'; wrong length → OSError(EINVAL). */
export function inet_ntop(af: number, packed: Uint8Array): string {
  const b = toBytes(packed, 'packed_ip');
  const want = af === C.AF_INET ? 4 : af === C.AF_INET6 ? 16 : 0;
  if (!want) throw osError('EAFNOSUPPORT', `address family ${af}`);
  if (b.length !== want) throw osError('EINVAL', `packed address must be ${want} bytes`);
  return formatIp(b);
}

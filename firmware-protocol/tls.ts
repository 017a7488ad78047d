/**
 * TLS facts both sides share: the TLS failure numbers (WiPy/SimpleLink `SL_ESEC*` codes, made
 * positive as MicroPython on the WiPy raises them), how a failure of a node:tls/OpenSSL stack
 * maps onto them, and where ESP-AT's certificate "partitions" live in the board's file store.
 * docs/tls.md explains each row to users.
 *
 * ```ts
 * tlsErrno.ESECDATEERROR                       // 461
 * tlsFailureName({ code: 'CERT_HAS_EXPIRED' }) // 'ESECDATEERROR'
 * atCertPaths('ca', 0)                         // ['/flash/cert/ca.pem']
 * ```
 */

export const TLS_ERRNO_TABLE = [
  // name, number (SimpleLink code, positive), text
  ['ESECGENERAL', 450, 'TLS failure'],
  ['ESECCLOSED', 452, 'TLS: the peer closed the connection during the handshake'],
  ['ESECSNOVERIFY', 453, 'TLS: connected without server verification'],
  ['ESECNOCAFILE', 454, 'TLS: CA certificate file not found'],
  ['ESECBADCAFILE', 456, 'TLS: the server certificate is not signed by a trusted CA (unknown CA)'],
  ['ESECBADCERTFILE', 457, 'TLS: certificate file missing or invalid'],
  ['ESECBADPRIVATEFILE', 458, 'TLS: private key file missing or invalid'],
  ['ESECTOOMANYSSLOPENED', 460, 'TLS: too many TLS sessions open'],
  ['ESECDATEERROR', 461, 'TLS: certificate expired or not yet valid'],
  ['ESECHANDSHAKETIMEDOUT', 462, 'TLS: handshake timed out'],
  // CC3220 SimpleLink (SL_ERROR_BSD_ESECWRONGPEERCERT); the CC3200 itself never checks names.
  ['ESECWRONGPEERCERT', 469, 'TLS: the server certificate does not match the host name'],
] as const;

export type TlsErrnoName = (typeof TLS_ERRNO_TABLE)[number][0];

/** TLS failure numbers by name: `tlsErrno.ESECBADCAFILE === 456`. The same on every errno base. */
export const tlsErrno = Object.freeze(Object.fromEntries(TLS_ERRNO_TABLE.map(([n, v]) => [n, v]))) as Readonly<
  Record<TlsErrnoName, number>
>;

const TLS_NAMES = new Set<string>(TLS_ERRNO_TABLE.map(([n]) => n));

export function isTlsErrnoName(name: string): name is TlsErrnoName {
  return TLS_NAMES.has(name);
}

/**
 * node:tls / OpenSSL error codes → TLS failure. Verification codes come from
 * `authorizationError.code`; transport codes from the socket's 'error' event.
 */
const NODE_TLS_CODES: Readonly<Record<string, TlsErrnoName>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'ESECBADCAFILE',
  UNABLE_TO_GET_ISSUER_CERT: 'ESECBADCAFILE',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'ESECBADCAFILE',
  SELF_SIGNED_CERT_IN_CHAIN: 'ESECBADCAFILE',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'ESECBADCAFILE',
  CERT_SIGNATURE_FAILURE: 'ESECBADCAFILE',
  CERT_UNTRUSTED: 'ESECBADCAFILE',
  CERT_REJECTED: 'ESECBADCAFILE',
  INVALID_CA: 'ESECBADCAFILE',
  CERT_HAS_EXPIRED: 'ESECDATEERROR',
  CERT_NOT_YET_VALID: 'ESECDATEERROR',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 'ESECDATEERROR',
  ERROR_IN_CERT_NOT_AFTER_FIELD: 'ESECDATEERROR',
  ERR_TLS_CERT_ALTNAME_INVALID: 'ESECWRONGPEERCERT',
  ECONNRESET: 'ESECCLOSED',
  EPIPE: 'ESECCLOSED',
  ECONNABORTED: 'ESECCLOSED',
  ERR_STREAM_PREMATURE_CLOSE: 'ESECCLOSED',
  ERR_SOCKET_CLOSED: 'ESECCLOSED',
  ETIMEDOUT: 'ESECHANDSHAKETIMEDOUT',
};

/**
 * The TLS failure a node:tls error (or a verification error) stands for; anything unknown
 * (an alert from the peer, a protocol version no side shares) is ESECGENERAL.
 *
 * @example tlsFailureName({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) // 'ESECWRONGPEERCERT'
 */
export function tlsFailureName(err: { code?: unknown } | null | undefined): TlsErrnoName {
  const code = typeof err?.code === 'string' ? err.code : '';
  return NODE_TLS_CODES[code] ?? 'ESECGENERAL';
}

/**
 * ESP-AT keeps certificates in flash partitions numbered by AT+CIPSSLCCONF's `<pki_number>` and
 * `<ca_number>`; the emulator's stand-in is its file store: number 0 is the WiPy-style default
 * file, number N > 0 the same name with N before the extension.
 *
 * @example atCertPaths('pki', 2) // ['/flash/cert/cert2.pem', '/flash/cert/private2.key']
 */
export function atCertPaths(kind: 'ca' | 'pki', n: number): string[] {
  const suffix = n === 0 ? '' : String(n);
  if (kind === 'ca') return [`/flash/cert/ca${suffix}.pem`];
  return [`/flash/cert/cert${suffix}.pem`, `/flash/cert/private${suffix}.key`];
}

/** The partition number of a file-store path (`/flash/cert/ca3.pem` → 3), or undefined if it names none. */
export function atCertNumber(kind: 'ca' | 'cert' | 'key', path: string): number | undefined {
  const pattern = {
    ca: /^\/flash\/cert\/ca(\d*)\.pem$/,
    cert: /^\/flash\/cert\/cert(\d*)\.pem$/,
    key: /^\/flash\/cert\/private(\d*)\.key$/,
  }[kind];
  const m = pattern.exec(path);
  if (!m) return undefined;
  const n = m[1] === '' ? 0 : Number(m[1]);
  return n <= 255 && (m[1] === '' || !m[1]!.startsWith('0')) ? n : undefined;
}

/**
 * The `ssl` module bound to one coprocessor: WiPy's constants and `wrap_socket` signature, the
 * modern MicroPython one (micropython-lib ssl.py over `tls`), and `SSLContext`. Where the TLS
 * runs is decided by the socket (docs/tls.md):
 *
 * - a socket created with `IPPROTO_SEC` → **device-side TLS**: wrap_socket only hands the
 *   options to the coprocessor (SLIP TLS_WRAP; ESP-AT: AT+CIPSSLC* and CIPSTART "SSL"), the
 *   handshake runs inside `connect`, the session lives on the coprocessor and the host sees
 *   plaintext; certificates are files in the coprocessor's store (`/flash/cert/…`). It returns
 *   the same socket (WiPy: the ssl object shares the socket's descriptor).
 * - any other (connected) socket → **host-side TLS**: node:tls over `socket.asDuplex()`, so it
 *   works with every coprocessor and keys never leave this machine. It returns an SSLSocket.
 *
 * ```ts
 * const { socket, ssl } = dev;
 * const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
 * await ssl.wrap_socket(s, { cert_reqs: ssl.CERT_REQUIRED, ca_certs: '/flash/cert/ca.pem', server_hostname: 'tls.test' });
 * await s.connect((await socket.getaddrinfo('tls.test', 443))[0][4]);  // TLS handshake on the device
 * ```
 */
import { constants as C, errno as E } from '../firmware-protocol/index.js';
import type { DeviceTlsOptions } from './driver.js';
import { badArg, OSError } from './errors.js';
import { Socket } from './socket.js';
import { SSLContext, type WrapOptions } from './ssl-context.js';
import { type FlashReader, type HostTls, hostHandshake, readMaterial, toPem } from './ssl-host.js';
import type { SSLSocket } from './ssl-socket.js';

export { SSLContext, type WrapOptions } from './ssl-context.js';
export { SSLSocket } from './ssl-socket.js';

const KNOWN = new Set<string>([
  ...['keyfile', 'certfile', 'ca_certs', 'ssl_version', 'server_side', 'cert_reqs', 'server_hostname'],
  ...['key', 'cert', 'cadata', 'do_handshake', 'alpn_protocols', 'check_hostname'],
]);

export const SSL_CONSTANTS = {
  CERT_NONE: C.CERT_NONE,
  CERT_OPTIONAL: C.CERT_OPTIONAL,
  CERT_REQUIRED: C.CERT_REQUIRED,
  PROTOCOL_SSLv3: C.PROTOCOL_SSLv3,
  PROTOCOL_TLSv1: C.PROTOCOL_TLSv1,
  PROTOCOL_TLSv1_1: C.PROTOCOL_TLSv1_1,
  PROTOCOL_TLSv1_2: C.PROTOCOL_TLSv1_2,
  /** SSLContext protocols (MicroPython's tls module numbering). */
  PROTOCOL_TLS_CLIENT: 0,
  PROTOCOL_TLS_SERVER: 1,
} as const;

const VERSION_NAMES = { 1: 'TLSv1', 2: 'TLSv1.1', 3: 'TLSv1.2' } as const;
/** TLS_WRAP's string fields are str8 (opcodes.ts): at most 255 bytes. */
const MAX_PATH = 255;

function checkOptions(opts: unknown): WrapOptions {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object') throw badArg('TypeError', 'options', 'expected an object of keyword arguments');
  for (const k of Object.keys(opts)) {
    if (!KNOWN.has(k)) throw new TypeError(`wrap_socket() got an unexpected keyword argument '${k}'`);
  }
  const o = opts as WrapOptions;
  for (const k of ['keyfile', 'certfile', 'ca_certs', 'server_hostname'] as const) {
    const v = o[k];
    if (v !== undefined && v !== null && typeof v !== 'string') throw badArg('TypeError', k, 'expected a str or None');
    if (typeof v === 'string' && Buffer.byteLength(v) > MAX_PATH)
      throw badArg('ValueError', k, 'longer than 255 bytes');
  }
  if (o.cert_reqs !== undefined && ![0, 1, 2].includes(o.cert_reqs)) {
    throw badArg('ValueError', 'cert_reqs', 'must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED');
  }
  if (o.ssl_version !== undefined && ![0, 1, 2, 3].includes(o.ssl_version)) {
    throw badArg(
      'ValueError',
      'ssl_version',
      'must be PROTOCOL_SSLv3, PROTOCOL_TLSv1, PROTOCOL_TLSv1_1 or PROTOCOL_TLSv1_2',
    );
  }
  if (!!o.keyfile !== !!o.certfile)
    throw badArg('ValueError', o.keyfile ? 'certfile' : 'keyfile', 'keyfile and certfile go together');
  if (!!o.key !== !!o.cert) throw badArg('ValueError', o.key ? 'cert' : 'key', 'key and cert go together');
  if (o.alpn_protocols && !o.alpn_protocols.every((p) => typeof p === 'string' && p.length > 0 && p.length < 256)) {
    throw badArg('ValueError', 'alpn_protocols', 'expected a list of non-empty str');
  }
  return o;
}

/**
 * WiPy's checks, then the options for the coprocessor. ValueError as the WiPy raises it:
 * cert_reqs other than CERT_NONE without ca_certs; server_side without keyfile and certfile.
 */
function deviceOptions(o: WrapOptions): DeviceTlsOptions {
  for (const k of ['key', 'cert', 'cadata'] as const) {
    if (o[k]) {
      throw badArg(
        'ValueError',
        k,
        'an IPPROTO_SEC socket does TLS on the coprocessor, which reads keyfile/certfile/ca_certs from its file store ' +
          '(upload with dev.files.write); for key material in memory use host-side TLS on a plain socket',
      );
    }
  }
  const certReqs = o.cert_reqs ?? C.CERT_NONE;
  if (certReqs !== C.CERT_NONE && !o.ca_certs) {
    throw badArg('ValueError', 'ca_certs', 'invalid argument(s) value: cert_reqs other than CERT_NONE needs ca_certs');
  }
  if (o.server_side && !(o.keyfile && o.certfile)) {
    throw badArg('ValueError', 'keyfile', 'invalid argument(s) value: server_side needs keyfile and certfile');
  }
  return {
    serverSide: o.server_side === true,
    certReqs,
    // WiPy defaults to TLS 1.0, which OpenSSL 3 and modern servers refuse: TLS 1.2 unless asked (docs/tls.md).
    sslVersion: o.ssl_version ?? C.PROTOCOL_TLSv1_2,
    keyfile: o.keyfile ?? '',
    certfile: o.certfile ?? '',
    caCerts: o.ca_certs ?? '',
    serverHostname: o.check_hostname === false ? '' : (o.server_hostname ?? ''),
    alpn: o.alpn_protocols ?? [],
  };
}

/** The modern rules, then the material read and parsed (PEM). */
async function hostOptions(o: WrapOptions, flash: FlashReader): Promise<HostTls> {
  const certReqs = o.cert_reqs ?? C.CERT_NONE;
  const hasCa = !!(o.cadata || o.ca_certs);
  if (certReqs === C.CERT_REQUIRED && !hasCa) {
    throw badArg('ValueError', 'cadata', 'CERT_REQUIRED needs the CA: cadata (bytes) or ca_certs (a path)');
  }
  const serverSide = o.server_side === true;
  if (serverSide && !((o.key && o.cert) || (o.keyfile && o.certfile))) {
    throw badArg('ValueError', 'key', 'server_side needs key and cert (or keyfile and certfile)');
  }
  if (o.ssl_version === C.PROTOCOL_SSLv3) throw badArg('ValueError', 'ssl_version', 'SSLv3 is not supported');
  const material = async (
    bytes: Uint8Array | string | null | undefined,
    path: string | null | undefined,
    kind: 'ca' | 'cert' | 'key',
    arg: string,
  ): Promise<string | undefined> => {
    if (bytes) return toPem(bytes, kind, arg);
    return path ? readMaterial(path, kind, arg, flash) : undefined;
  };
  return {
    serverSide,
    certReqs,
    ca: certReqs === C.CERT_NONE ? undefined : await material(o.cadata, o.ca_certs, 'ca', 'cadata'),
    cert: await material(o.cert, o.certfile, 'cert', 'cert'),
    key: await material(o.key, o.keyfile, 'key', 'key'),
    serverHostname: o.server_hostname ?? undefined,
    checkHostname: o.check_hostname !== false,
    alpn: o.alpn_protocols ?? undefined,
    version: o.ssl_version === undefined ? undefined : VERSION_NAMES[o.ssl_version as 1 | 2 | 3],
    doHandshake: o.do_handshake !== false,
  };
}

/** Device-side: the options go to the coprocessor now; the handshake runs in connect (or per accepted client). */
async function wrapOnDevice(sock: Socket, o: WrapOptions): Promise<Socket> {
  const opts = deviceOptions(o);
  if (!sock.ds.secure) throw new OSError(E.EOPNOTSUPP, 'this coprocessor driver has no device-side TLS');
  await sock.ds.secure(opts);
  sock.tls = opts;
  return sock;
}

export type SslModule = typeof SSL_CONSTANTS & {
  /**
   * WiPy: `wrap_socket(sock, keyfile=None, certfile=None, server_side=False, cert_reqs=CERT_NONE,
   * ssl_version=PROTOCOL_TLSv1, ca_certs=None)`; modern: `wrap_socket(sock, server_side=False,
   * key=None, cert=None, cert_reqs=CERT_NONE, cadata=None, server_hostname=None, do_handshake=True)`.
   * Returns the same socket for IPPROTO_SEC (device-side), else an SSLSocket (host-side).
   */
  wrap_socket(sock: Socket, opts?: WrapOptions): Promise<Socket | SSLSocket>;
  /** `new ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)` */
  SSLContext: new (
    protocol: number,
  ) => SSLContext;
  /** MicroPython: ssl.SSLError is OSError. */
  SSLError: typeof OSError;
};

/**
 * The `ssl` module for one device. `flash` reads the coprocessor's file store, so host-side TLS
 * can take `/flash/…` paths too (undefined where the driver has no file store).
 */
export function createSslModule(flash: FlashReader): SslModule {
  const wrap_socket = async (sock: Socket, opts?: WrapOptions): Promise<Socket | SSLSocket> => {
    if (!(sock instanceof Socket)) throw badArg('TypeError', 'sock', 'expected a socket object');
    const o = checkOptions(opts);
    if (sock.proto === C.IPPROTO_SEC) return wrapOnDevice(sock, o);
    return hostHandshake(sock, await hostOptions(o, flash));
  };
  const Context = class extends SSLContext {
    constructor(protocol: number) {
      super(protocol, wrap_socket);
    }
  };
  return { ...SSL_CONSTANTS, wrap_socket, SSLContext: Context, SSLError: OSError };
}

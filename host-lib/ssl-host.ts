/**
 * Host-side TLS handshakes (see ssl-socket.ts): certificate material from bytes, from files of
 * this machine, or from the coprocessor's file store (`/flash/...` paths), and the client and
 * server handshakes over a socket's Duplex with the same verification rules as device-side TLS:
 * CERT_REQUIRED checks the chain against the CA, then the name when `server_hostname` is given;
 * CERT_NONE and CERT_OPTIONAL connect whatever the peer presents.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { constants as C, type TlsErrnoName } from '../firmware-protocol/index.js';
import { badArg, OSError } from './errors.js';
import type { Socket } from './socket.js';
import { SSLSocket, tlsError, toTlsOSError } from './ssl-socket.js';

/** Without a socket timeout a handshake gives up after this long (ESP-AT's 10 s per handshake). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** What host-side TLS needs, material already in PEM. */
export interface HostTls {
  serverSide: boolean;
  certReqs: number;
  ca?: string;
  cert?: string;
  key?: string;
  /** SNI (when a name) and, with `checkHostname` and CERT_REQUIRED, the name to verify. */
  serverHostname?: string;
  checkHostname: boolean;
  alpn?: string[];
  /** WiPy `ssl_version` given explicitly: exactly that TLS version. */
  version?: tls.SecureVersion;
  /** false: the handshake runs on first use (MicroPython do_handshake=False). */
  doHandshake: boolean;
}

/** Where `/flash/...` paths are read from (the coprocessor's file store), if it has one. */
export type FlashReader = ((path: string) => Promise<Uint8Array>) | undefined;

type Kind = 'ca' | 'cert' | 'key';
const MISSING: Readonly<Record<Kind, TlsErrnoName>> = {
  ca: 'ESECNOCAFILE',
  cert: 'ESECBADCERTFILE',
  key: 'ESECBADPRIVATEFILE',
};

const isPemText = (b: Uint8Array): boolean => Buffer.from(b.subarray(0, 64)).toString('latin1').includes('-----BEGIN');

/**
 * bytes or str (PEM, or DER bytes as mbedTLS accepts) → PEM; ValueError('invalid cert'/'invalid key')
 * as MicroPython raises for material it cannot parse.
 */
export function toPem(value: Uint8Array | string, kind: Kind, arg: string): string {
  try {
    if (typeof value === 'string' || isPemText(value)) {
      const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
      if (kind === 'key') createPrivateKey(text);
      else new X509Certificate(text);
      return text;
    }
    if (kind !== 'key') return new X509Certificate(Buffer.from(value)).toString();
    for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
      try {
        return createPrivateKey({ key: Buffer.from(value), format: 'der', type })
          .export({ format: 'pem', type: 'pkcs8' })
          .toString();
      } catch {}
    }
    throw new Error('not a DER private key');
  } catch {
    throw badArg('ValueError', arg, kind === 'key' ? 'invalid key' : 'invalid cert');
  }
}

/** A certificate file for host-side TLS: `/flash/...` from the coprocessor, anything else from this machine. */
export async function readMaterial(path: string, kind: Kind, arg: string, flash: FlashReader): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = path.startsWith('/flash/') && flash ? await flash(path) : await readFile(path);
  } catch (err) {
    const why = err instanceof OSError ? err.args[1] : (err as Error).message;
    throw tlsError(MISSING[kind], `${path}: ${why}`);
  }
  return toPem(bytes, kind, arg);
}

function verifyServer(t: tls.TLSSocket, req: HostTls): OSError | undefined {
  if (req.certReqs !== C.CERT_REQUIRED) return undefined;
  if (!t.authorized) return toTlsOSError({ code: String(t.authorizationError), message: String(t.authorizationError) });
  if (req.checkHostname && req.serverHostname) {
    const err = tls.checkServerIdentity(req.serverHostname, t.getPeerCertificate());
    if (err) return tlsError('ESECWRONGPEERCERT', err.message);
  }
  return undefined;
}

const versions = (req: HostTls) => (req.version ? { minVersion: req.version, maxVersion: req.version } : {});

/**
 * Settles `t`'s handshake: `ok` is the event that ends it well, `check` may still refuse the
 * peer. Deadline → ESECHANDSHAKETIMEDOUT; the peer closing first → ESECCLOSED.
 */
function settleHandshake(
  t: tls.TLSSocket,
  ok: 'secureConnect' | 'secure',
  timeoutMs: number,
  check: () => OSError | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: OSError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!err) {
        resolve();
        return;
      }
      t.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => finish(tlsError('ESECHANDSHAKETIMEDOUT', `no TLS handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    t.once(ok, () => finish(check()));
    t.once('error', (err: Error) => finish(toTlsOSError(err)));
    t.once('close', () => finish(tlsError('ESECCLOSED')));
  });
}

/** Host-side TLS over a connected plain socket; resolves once the handshake is done (unless doHandshake is false). */
export async function hostHandshake(sock: Socket, req: HostTls): Promise<SSLSocket> {
  const timeout = sock.gettimeout();
  const timeoutMs = timeout ? timeout * 1000 : HANDSHAKE_TIMEOUT_MS;
  const duplex = sock.asDuplex();
  let t: tls.TLSSocket;
  let handshake: Promise<void>;
  if (req.serverSide) {
    const ctx = tls.createSecureContext({ cert: req.cert, key: req.key, ca: req.ca, ...versions(req) });
    t = new tls.TLSSocket(duplex, {
      isServer: true,
      secureContext: ctx,
      requestCert: req.certReqs !== C.CERT_NONE,
      rejectUnauthorized: false,
      ALPNProtocols: req.alpn,
    });
    // A server checks the client's certificate itself: node leaves standalone server sockets unchecked.
    handshake = settleHandshake(t, 'secure', timeoutMs, () =>
      req.certReqs === C.CERT_REQUIRED && !t.authorized
        ? toTlsOSError({ code: String(t.authorizationError ?? 'CERT_UNTRUSTED') })
        : undefined,
    );
  } else {
    const sni = req.serverHostname && !/^[\d.]+$|:/.test(req.serverHostname) ? req.serverHostname : undefined;
    t = tls.connect({
      socket: duplex,
      ...{ ca: req.ca, cert: req.cert, key: req.key, servername: sni, ALPNProtocols: req.alpn },
      rejectUnauthorized: false, // checked by verifyServer, so each failure gets its own number
      checkServerIdentity: () => undefined,
      ...versions(req),
    });
    handshake = settleHandshake(t, 'secureConnect', timeoutMs, () => verifyServer(t, req));
  }
  handshake.catch(() => duplex.destroy());
  const ssl = new SSLSocket(t, sock, duplex, handshake, timeout);
  if (req.doHandshake) await handshake;
  return ssl;
}

/**
 * TLS done by the emulated board (WiPy IPPROTO_SEC sockets, ESP-AT "SSL" links): node:tls wraps
 * a device TCP socket's network stream, so the host only ever sees plaintext. A client socket's
 * handshake runs inside its connect (the CONNECTED outcome is the TCP *and* TLS outcome, SPEC
 * §4.5); a listening socket's handshake runs before the connection is queued for accept, as
 * SimpleLink's sl_Accept does it. Failures are DeviceErrors with the TLS names of
 * firmware-protocol/tls.ts (ESECBADCAFILE, ESECDATEERROR, …).
 *
 * ```ts
 * const cfg = await tlsConfig(files, { certReqs: 2, caCerts: '/flash/cert/ca.pem', serverHostname: 'tls.test' });
 * const secure = await tlsClient(rawStream, cfg, 10_000, signal); // plaintext Duplex
 * ```
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { constants as C, type TlsErrnoName, tlsFailureName } from '../../firmware-protocol/index.js';
import { DeviceError } from './device-error.js';

/** What a TLS socket does, with its certificate files already read (PEM). */
export interface TlsConfig {
  readonly serverSide: boolean;
  /** 0 CERT_NONE, 1 CERT_OPTIONAL (WiPy: verification skipped), 2 CERT_REQUIRED. */
  readonly certReqs: number;
  /** WiPy method (1 TLSv1, 2 TLSv1.1, 3 TLSv1.2: exactly that version); undefined = TLS 1.2 or 1.3. */
  readonly sslVersion?: number;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Sent as SNI; with CERT_REQUIRED also the name the peer's certificate must carry. */
  readonly serverHostname?: string;
  readonly alpn?: readonly string[];
}

/** A client socket that was never wrapped still does TLS, without verification (SimpleLink's default). */
export const DEFAULT_TLS: TlsConfig = { serverSide: false, certReqs: C.CERT_NONE };

/** The file store as TLS sees it. */
export interface TlsFileSource {
  read(path: string): Promise<Uint8Array>;
}

/** TLS_WRAP as it arrives: file names in the board's store ('' = none). */
export interface TlsRequest {
  readonly serverSide?: boolean;
  readonly certReqs: number;
  readonly sslVersion?: number;
  readonly keyfile?: string;
  readonly certfile?: string;
  readonly caCerts?: string;
  readonly serverHostname?: string;
  readonly alpn?: readonly string[];
}

const VERSIONS: Readonly<Record<number, tls.SecureVersion>> = { 1: 'TLSv1', 2: 'TLSv1.1', 3: 'TLSv1.2' };

type FileKind = 'ca' | 'cert' | 'key';
/** Which failure a missing or unusable file gives (SimpleLink: no CA file 454, bad files 456-458). */
const FILE_ERRORS: Readonly<Record<FileKind, { missing: TlsErrnoName; bad: TlsErrnoName }>> = {
  ca: { missing: 'ESECNOCAFILE', bad: 'ESECBADCAFILE' },
  cert: { missing: 'ESECBADCERTFILE', bad: 'ESECBADCERTFILE' },
  key: { missing: 'ESECBADPRIVATEFILE', bad: 'ESECBADPRIVATEFILE' },
};

/** Reads and checks one PEM file; a path error of the store (EACCES for `..`, EINVAL) stays as it is. */
async function readPem(files: TlsFileSource | undefined, path: string, kind: FileKind): Promise<string> {
  if (!files) throw new DeviceError(FILE_ERRORS[kind].missing, `${path}: this board has no file store`);
  let text: string;
  try {
    text = new TextDecoder().decode(await files.read(path));
  } catch (err) {
    if (err instanceof DeviceError && err.code !== 'ENOENT' && err.code !== 'EISDIR') throw err;
    throw new DeviceError(FILE_ERRORS[kind].missing, `${path}: no such file`);
  }
  try {
    if (kind === 'key') createPrivateKey(text);
    else new X509Certificate(text);
  } catch (err) {
    throw new DeviceError(FILE_ERRORS[kind].bad, `${path}: not a usable PEM ${kind} (${(err as Error).message})`);
  }
  return text;
}

/**
 * Checks a TLS_WRAP request and reads the files it names. EINVAL for impossible combinations
 * (the host library raises ValueError before it ever gets here).
 */
export async function tlsConfig(files: TlsFileSource | undefined, req: TlsRequest): Promise<TlsConfig> {
  const serverSide = req.serverSide ?? false;
  if (req.certReqs < 0 || req.certReqs > 2)
    throw new DeviceError('EINVAL', `certReqs ${req.certReqs} is not 0, 1 or 2`);
  if (req.sslVersion !== undefined && !VERSIONS[req.sslVersion]) {
    throw new DeviceError(
      'EPROTONOSUPPORT',
      `sslVersion ${req.sslVersion} is not supported (1 TLSv1, 2 TLSv1.1, 3 TLSv1.2)`,
    );
  }
  if (serverSide && (!req.keyfile || !req.certfile))
    throw new DeviceError('EINVAL', 'a TLS server needs keyfile and certfile');
  if (!serverSide && req.certReqs === C.CERT_REQUIRED && !req.caCerts) {
    throw new DeviceError('EINVAL', 'CERT_REQUIRED needs caCerts');
  }
  if (!!req.keyfile !== !!req.certfile) throw new DeviceError('EINVAL', 'keyfile and certfile go together');
  // WiPy: the CA file is used only with CERT_REQUIRED (a server uses it to check client certificates).
  const useCa = req.caCerts && (req.certReqs === C.CERT_REQUIRED || (serverSide && req.certReqs !== C.CERT_NONE));
  return {
    serverSide,
    certReqs: req.certReqs,
    sslVersion: req.sslVersion,
    ca: useCa ? await readPem(files, req.caCerts!, 'ca') : undefined,
    cert: req.certfile ? await readPem(files, req.certfile, 'cert') : undefined,
    key: req.keyfile ? await readPem(files, req.keyfile, 'key') : undefined,
    serverHostname: req.serverHostname || undefined,
    alpn: req.alpn?.length ? req.alpn : undefined,
  };
}

/** The board's concurrent TLS sessions (SimpleLink: SL_ESECT00MANYSSLOPENED beyond its limit). */
export class TlsSessions {
  private active = 0;

  constructor(
    readonly limit: number,
    private readonly board: string,
  ) {}

  /** Takes a session; returns its release (safe to call twice). ESECTOOMANYSSLOPENED when all are in use. */
  acquire(): () => void {
    if (this.active >= this.limit) {
      throw new DeviceError(
        'ESECTOOMANYSSLOPENED',
        `too many TLS sessions: the ${this.board} board has ${this.limit}, all in use (close one first)`,
      );
    }
    this.active++;
    let held = true;
    return () => {
      if (held) this.active--;
      held = false;
    };
  }

  get inUse(): number {
    return this.active;
  }
}

function versions(cfg: TlsConfig): { minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion } {
  const v = cfg.sslVersion === undefined ? undefined : VERSIONS[cfg.sslVersion];
  return v ? { minVersion: v, maxVersion: v } : {};
}

function fail(err: unknown, fallback?: TlsErrnoName): DeviceError {
  if (err instanceof DeviceError) return err;
  const name = fallback ?? tlsFailureName(err as { code?: unknown });
  return new DeviceError(name, `TLS handshake failed: ${(err as Error)?.message ?? String(err)}`);
}

/** The verification CERT_REQUIRED asks for: the chain (node's result), then the name if one was given. */
function verifyServer(sock: tls.TLSSocket, cfg: TlsConfig): DeviceError | undefined {
  if (cfg.certReqs !== C.CERT_REQUIRED) return undefined;
  if (!sock.authorized) {
    const code = String(sock.authorizationError ?? 'CERT_UNTRUSTED');
    return new DeviceError(tlsFailureName({ code }), `certificate verification failed: ${code}`);
  }
  if (cfg.serverHostname) {
    const err = tls.checkServerIdentity(cfg.serverHostname, sock.getPeerCertificate());
    if (err) return new DeviceError('ESECWRONGPEERCERT', err.message);
  }
  return undefined;
}

/** Ends both layers when the TLS stream goes, so the network connection never outlives it. */
function tieLifetimes(secure: tls.TLSSocket, raw: Duplex): void {
  secure.once('close', () => raw.destroy());
  raw.once('close', () => secure.destroy());
}

/**
 * Runs a client handshake over `raw`; resolves with the plaintext stream, rejects with a
 * DeviceError (ESECHANDSHAKETIMEDOUT after `timeoutMs`, verification failures per CERT_REQUIRED).
 */
export function tlsClient(raw: Duplex, cfg: TlsConfig, timeoutMs: number, signal?: AbortSignal): Promise<Duplex> {
  raw.on('error', () => {}); // a reset surfaces on the TLS stream ('error'/'close'), never uncaught
  const sni = cfg.serverHostname && !/^[\d.]+$|:/.test(cfg.serverHostname) ? cfg.serverHostname : undefined;
  const sock = tls.connect({
    socket: raw,
    ca: cfg.ca,
    cert: cfg.cert,
    key: cfg.key,
    servername: sni,
    ALPNProtocols: cfg.alpn ? [...cfg.alpn] : undefined,
    rejectUnauthorized: false, // verified below, so each failure gets its own number
    checkServerIdentity: () => undefined,
    ...versions(cfg),
  });
  return new Promise<Duplex>((resolve, reject) => {
    let done = false;
    const settle = (err?: DeviceError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.off('error', onError);
      sock.off('close', onClose);
      if (!err) {
        tieLifetimes(sock, raw);
        resolve(sock);
        return;
      }
      sock.on('error', () => {});
      sock.destroy();
      raw.destroy();
      reject(err);
    };
    const onError = (err: Error): void => settle(fail(err));
    const onAbort = (): void => settle(new DeviceError('ECONNABORTED', 'socket closed during the TLS handshake'));
    // A peer that just closes gives 'close' without an 'error' on some Node versions.
    const onClose = (): void =>
      settle(new DeviceError('ESECCLOSED', 'the peer closed the connection during the TLS handshake'));
    const timer = setTimeout(
      () => settle(new DeviceError('ESECHANDSHAKETIMEDOUT', `no TLS handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort);
    sock.once('error', onError);
    sock.once('close', onClose);
    sock.once('secureConnect', () => settle(verifyServer(sock, cfg)));
  });
}

/** Runs a server handshake over an accepted `raw` stream; resolves with the plaintext stream. */
export function tlsServer(raw: Duplex, cfg: TlsConfig, timeoutMs: number): Promise<Duplex> {
  raw.on('error', () => {}); // a reset surfaces on the TLS stream ('error'/'close'), never uncaught
  const server = tls.createServer({
    cert: cfg.cert,
    key: cfg.key,
    ca: cfg.ca,
    requestCert: cfg.certReqs !== C.CERT_NONE,
    rejectUnauthorized: cfg.certReqs === C.CERT_REQUIRED,
    ALPNProtocols: cfg.alpn ? [...cfg.alpn] : undefined,
    handshakeTimeout: timeoutMs,
    ...versions(cfg),
  });
  return new Promise<Duplex>((resolve, reject) => {
    server.once('secureConnection', (sock: tls.TLSSocket) => {
      tieLifetimes(sock, raw);
      resolve(sock);
    });
    server.once('tlsClientError', (err: NodeJS.ErrnoException) => {
      raw.destroy();
      reject(fail(err, err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'ESECHANDSHAKETIMEDOUT' : undefined));
    });
    server.emit('connection', raw);
  });
}

/**
 * The TLS side of one IPPROTO_SEC device socket: its configuration (TLS_WRAP), the session it
 * holds, and the handshakes. TcpSocket calls `begin`/`secure` around its connect, `acceptor`
 * for its listener and `end` when it closes.
 */
export class TlsEndpoint {
  config: TlsConfig = DEFAULT_TLS;
  private release?: () => void;

  constructor(
    private readonly sessions: TlsSessions,
    private readonly timeoutMs: number,
  ) {}

  /** Before a client connect: takes a session now, so a full board fails the CONNECT at once. */
  begin(): void {
    if (this.config.serverSide)
      throw new DeviceError('EINVAL', 'this socket was wrapped as a TLS server: listen, not connect');
    this.end();
    this.release = this.sessions.acquire();
  }

  /** After the TCP connect: the client handshake; a failure gives the session back. */
  secure(raw: Duplex, signal?: AbortSignal): Promise<Duplex> {
    return tlsClient(raw, this.config, this.timeoutMs, signal).catch((err: unknown) => {
      this.end();
      throw err;
    });
  }

  /** Before listening: only a socket wrapped as a server may listen. */
  checkListen(): void {
    if (!this.config.serverSide) {
      throw new DeviceError(
        'EINVAL',
        'an IPPROTO_SEC socket listens only after TLS_WRAP with serverSide, keyfile and certfile',
      );
    }
  }

  /**
   * A connection for the listener: handshake first (each takes a session; none free = refused),
   * then `offer` queues the plaintext stream for accept. Failed handshakes never reach accept.
   */
  accept(raw: Duplex, peer: [string, number], offer: (s: Duplex, p: [string, number]) => boolean): boolean {
    let release: () => void;
    try {
      release = this.sessions.acquire();
    } catch {
      return false;
    }
    tlsServer(raw, this.config, this.timeoutMs).then(
      (secure) => {
        secure.once('close', release);
        if (!offer(secure, peer)) secure.destroy();
      },
      () => release(),
    );
    return true;
  }

  /** The socket closed: its client session (if any) is free again. */
  end(): void {
    this.release?.();
    this.release = undefined;
  }
}

/**
 * Host-side TLS: node:tls runs on this machine over a connected socket's byte stream
 * (`socket.asDuplex()`), so TLS works with any coprocessor and keys never leave the host. The
 * result has MicroPython's SSLSocket methods (extmod/modtls_mbedtls.c): read, readinto, readline,
 * write, recv, send, sendall, setblocking, close — plus settimeout, getpeercert and cipher.
 *
 * Blocking follows the socket below it: blocking by default; `setblocking(false)` makes reads
 * return null (MicroPython None) when nothing is ready; `settimeout(s)` raises ETIMEDOUT.
 *
 * ```ts
 * const s = await dev.socket.socket(); await s.connect(addr);
 * const tls = await dev.ssl.wrap_socket(s, { cert_reqs: ssl.CERT_REQUIRED, cadata: pem, server_hostname: 'tls.test' });
 * await tls.write('GET / HTTP/1.0\r\n\r\n'); const reply = await tls.read();
 * ```
 */
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { errno as E, type TlsErrnoName, tlsErrno, tlsFailureName } from '../firmware-protocol/index.js';
import { toBytes, toInt } from './args.js';
import { ByteQueue } from './byte-queue.js';
import { OSError, osError } from './errors.js';
import { Readiness } from './readiness.js';
import type { Socket } from './socket.js';
import { StreamMethods } from './stream.js';

/** Above this many unread plaintext bytes the TLS stream is paused (the device's credit then stalls the peer). */
const RX_HIGH = 256 * 1024;

/** An OSError for a TLS failure, with the failure's own text plus node's detail. */
export function tlsError(name: TlsErrnoName, detail?: string): OSError {
  const err = new OSError(tlsErrno[name]);
  return detail ? new OSError(tlsErrno[name], `${err.args[1]} (${detail})`) : err;
}

/**
 * A node:tls failure as OSError. An OSError from the socket below (e.g. ETIMEDOUT from the
 * coprocessor) stays what it is, except a reset, which during a handshake is ESECCLOSED.
 */
export function toTlsOSError(err: unknown): OSError {
  if (err instanceof OSError && err.errno !== E.ECONNRESET && err.errno !== E.EPIPE) return err;
  const e = err as { code?: unknown; message?: string };
  return tlsError(tlsFailureName(e), e?.message);
}

export class SSLSocket extends StreamMethods {
  private readonly rx = new ByteQueue();
  private eof = false;
  private error?: OSError;
  private closed = false;
  private readonly readiness = new Readiness();
  protected override readonly readChunk = 1 << 20;

  constructor(
    /** @internal the node:tls stream */
    readonly tls: tls.TLSSocket,
    /** The plain socket below (closed with this one). */
    readonly sock: Socket,
    private readonly duplex: Duplex,
    /** Resolves when the handshake is done; rejects with its OSError. */
    private readonly handshake: Promise<void>,
    /** The socket's timeout when it was wrapped, seconds (null = blocking). */
    timeout: number | null,
  ) {
    super();
    this.timeoutMs = timeout === null ? null : timeout * 1000;
    handshake.catch(() => {});
    tls.on('data', (d: Buffer) => {
      this.rx.push(d);
      if (this.rx.bytes >= RX_HIGH) tls.pause();
      this.readiness.notify();
    });
    tls.on('end', () => this.ended());
    tls.on('close', () => this.ended());
    tls.on('error', (err: Error) => {
      this.error ??= toTlsOSError(err);
      this.readiness.notify();
    });
  }

  private ended(): void {
    this.eof = true;
    this.readiness.notify();
  }

  protected override async ready(): Promise<void> {
    if (this.closed) throw osError('EBADF');
    await this.handshake;
  }

  protected waitChange(deadline: number): Promise<void> {
    return this.readiness.wait(deadline);
  }

  /** Up to n bytes now; empty at EOF; undefined when nothing is ready yet. */
  protected pull(n: number, peek: boolean): Uint8Array | undefined {
    if (this.closed) throw osError('EBADF');
    if (this.rx.bytes > 0) {
      if (peek) return this.rx.peek(n);
      const out = this.rx.take(n);
      if (this.tls.isPaused() && this.rx.bytes < RX_HIGH / 2) this.tls.resume();
      return out;
    }
    if (this.error) throw this.error;
    if (this.eof) return new Uint8Array(0);
    return undefined;
  }

  /** One read: up to bufsize bytes (empty = the peer closed); null when non-blocking and nothing is ready. */
  async recv(bufsize: number): Promise<Uint8Array | null> {
    return this.recvSome(toInt(bufsize, 'bufsize'));
  }

  /** Writes everything (TLS records go out as the coprocessor takes them); returns the count. */
  async send(data: Uint8Array | string): Promise<number> {
    const bytes = toBytes(data, 'buf');
    await this.ready();
    if (this.error) throw this.error;
    if (this.tls.writableEnded) throw osError('EPIPE');
    await new Promise<void>((resolve, reject) => {
      this.tls.write(bytes, (err) => (err ? reject(this.error ?? toTlsOSError(err)) : resolve()));
    });
    return bytes.length;
  }

  async sendall(data: Uint8Array | string): Promise<void> {
    await this.write(data);
  }

  /** The peer's certificate: DER bytes with `binary_form`, else node's parsed object (null if none). */
  getpeercert(binary_form = false): Uint8Array | tls.PeerCertificate | null {
    const cert = this.tls.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return null;
    return binary_form ? new Uint8Array(cert.raw) : cert;
  }

  /** [cipher name, protocol version] of the session. */
  cipher(): [string, string] {
    const c = this.tls.getCipher();
    return [c.name, c.version];
  }

  /**
   * Sends close_notify, then closes the socket below. Closing twice is a no-op; later
   * operations raise EBADF.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readiness.notify();
    if (!this.tls.destroyed && !this.error) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.tls.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.tls.destroy();
    this.duplex.destroy();
    await this.sock.close();
  }
}

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
import { badArg, OSError, osError } from './errors.js';
import type { Socket } from './socket.js';

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

export class SSLSocket {
  private rx: Buffer[] = [];
  private rxBytes = 0;
  private eof = false;
  private error?: OSError;
  private closed = false;
  private waiters: (() => void)[] = [];
  /** null = blocking; 0 = non-blocking; else ms. */
  private timeoutMs: number | null;

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
    this.timeoutMs = timeout === null ? null : timeout * 1000;
    handshake.catch(() => {});
    tls.on('data', (d: Buffer) => {
      this.rx.push(d);
      this.rxBytes += d.length;
      if (this.rxBytes >= RX_HIGH) tls.pause();
      this.wake();
    });
    tls.on('end', () => this.ended());
    tls.on('close', () => this.ended());
    tls.on('error', (err: Error) => {
      this.error ??= toTlsOSError(err);
      this.wake();
    });
  }

  private ended(): void {
    this.eof = true;
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  setblocking(flag: boolean): void {
    this.timeoutMs = flag ? null : 0;
  }

  /** Not in MicroPython's SSLSocket, but every wait here deserves a deadline: seconds, or null = block. */
  settimeout(value: number | null): void {
    if (value === null || value === undefined) this.timeoutMs = null;
    else if (typeof value !== 'number' || Number.isNaN(value) || value < 0)
      throw badArg('ValueError', 'value', 'must be a non-negative number or None');
    else this.timeoutMs = value * 1000;
  }

  /** Runs `op` until it has an answer (undefined = not yet), honouring the timeout; null if non-blocking. */
  private async waitFor<T>(op: () => T | undefined): Promise<T | null> {
    await this.ready();
    const deadline = this.timeoutMs === null ? Number.POSITIVE_INFINITY : Date.now() + this.timeoutMs;
    for (;;) {
      const r = op();
      if (r !== undefined) return r;
      if (this.timeoutMs === 0) return null;
      if (Date.now() >= deadline) throw osError('ETIMEDOUT');
      await new Promise<void>((resolve) => {
        const t =
          deadline === Number.POSITIVE_INFINITY ? undefined : setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          if (t) clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private async ready(): Promise<void> {
    if (this.closed) throw osError('EBADF');
    await this.handshake;
  }

  /** Up to n bytes now; empty at EOF; undefined when nothing is ready yet. */
  private take(n: number): Uint8Array | undefined {
    if (this.closed) throw osError('EBADF');
    if (this.rxBytes > 0) {
      const all = this.rx.length === 1 ? (this.rx[0] as Buffer) : Buffer.concat(this.rx, this.rxBytes);
      const out = all.subarray(0, Math.min(n, all.length));
      const rest = all.subarray(out.length);
      this.rx = rest.length > 0 ? [rest] : [];
      this.rxBytes = rest.length;
      if (this.tls.isPaused() && this.rxBytes < RX_HIGH / 2) this.tls.resume();
      return out;
    }
    if (this.error) throw this.error;
    if (this.eof) return new Uint8Array(0);
    return undefined;
  }

  /** One read: up to bufsize bytes (empty = the peer closed); null when non-blocking and nothing is ready. */
  async recv(bufsize: number): Promise<Uint8Array | null> {
    const n = toInt(bufsize, 'bufsize');
    return this.waitFor(() => this.take(n));
  }

  /** read(n) loops until n bytes or EOF while blocking; read() reads to EOF. */
  async read(n = -1): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    let got = 0;
    const want = n < 0 ? Number.POSITIVE_INFINITY : n;
    while (got < want) {
      const chunk = await this.recv(Math.min(want - got, 1 << 20));
      if (chunk === null) {
        if (got === 0) return null;
        break;
      }
      if (chunk.length === 0) break;
      parts.push(chunk);
      got += chunk.length;
    }
    return Buffer.concat(parts, got);
  }

  async readinto(buf: Uint8Array, nbytes = buf.length): Promise<number | null> {
    const data = await this.read(Math.min(nbytes, buf.length));
    if (data === null) return null;
    buf.set(data);
    return data.length;
  }

  /** Up to and including '\n', or to EOF. */
  async readline(): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const line = await this.waitFor(() => {
        const head = this.rx[0];
        const nl = head ? head.indexOf(0x0a) : -1;
        return this.take(nl >= 0 ? nl + 1 : this.rxBytes || 1);
      });
      if (line === null) return parts.length ? Buffer.concat(parts) : null;
      if (line.length === 0) break;
      parts.push(line);
      if (line[line.length - 1] === 0x0a) break;
    }
    return Buffer.concat(parts);
  }

  /** Writes everything (TLS records go out as the coprocessor takes them); returns the count. */
  async write(buf: Uint8Array | string): Promise<number> {
    const bytes = toBytes(buf, 'buf');
    await this.ready();
    if (this.error) throw this.error;
    if (this.tls.writableEnded) throw osError('EPIPE');
    await new Promise<void>((resolve, reject) => {
      this.tls.write(bytes, (err) => (err ? reject(this.error ?? toTlsOSError(err)) : resolve()));
    });
    return bytes.length;
  }

  send(data: Uint8Array | string): Promise<number> {
    return this.write(data);
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
    this.wake();
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

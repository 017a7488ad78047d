/**
 * `dev.tls.connect`: node:tls on this machine over a board socket (host-side TLS: the board
 * carries ciphertext only), so every option of tls.connect works (ca, servername, ALPN, client
 * certificates, sessions) whatever TLS the board itself has.
 *
 * ```ts
 * const t = dev.tls.connect({ host: 'tls.test', port: 443, ca }, () => t.end('GET / HTTP/1.0\r\n\r\n'));
 * ```
 */
import { isIP } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { NetModule } from './net.js';

export interface TlsConnectOptions extends Omit<ConnectionOptions, 'socket' | 'path'> {
  host?: string;
  port?: number;
}

export interface TlsModule {
  /** `connect(options[, cb])` or `connect(port[, host][, options][, cb])`, as tls.connect. */
  connect(...args: unknown[]): TLSSocket;
}

export function createTlsModule(net: NetModule): TlsModule {
  return {
    connect(...args: unknown[]): TLSSocket {
      const [opts, cb] = normalizeTlsArgs(args);
      const host = opts.host ?? 'localhost';
      const port = opts.port ?? 443;
      const socket = net.connect({ host, port, timeout: opts.timeout });
      // As tls.connect: SNI and the identity check use the host name unless it is an IP literal.
      const servername = opts.servername ?? (isIP(host) ? undefined : host);
      // tls.connect spreads the options over its defaults: a key present as undefined would erase one.
      const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
      const t = tlsConnect({ ...given, host, port, servername, socket }, cb);
      // tls wraps a non-net Duplex; a failure below (ECONNREFUSED) must reach the TLS socket's user.
      socket.once('error', (err) => t.destroy(err));
      return t;
    },
  };
}

function normalizeTlsArgs(args: unknown[]): [TlsConnectOptions, (() => void) | undefined] {
  const last = args.at(-1);
  const cb = typeof last === 'function' ? (last as () => void) : undefined;
  const rest = cb ? args.slice(0, -1) : args;
  const opts: TlsConnectOptions = {};
  for (const a of rest) {
    if (typeof a === 'number') opts.port = a;
    else if (typeof a === 'string') opts.host = a;
    else if (a !== null && typeof a === 'object') Object.assign(opts, a);
  }
  return [opts, cb];
}

/**
 * `ssl.SSLContext` (MicroPython's tls.SSLContext / micropython-lib ssl.py, CPython names):
 * settings gathered once, then `wrap_socket` per connection, device-side or host-side by the
 * same rule as `ssl.wrap_socket` (ssl.ts).
 *
 * ```ts
 * const ctx = new ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT);   // verify_mode CERT_REQUIRED, check_hostname true
 * ctx.load_verify_locations({ cadata: caPem });
 * const tls = await ctx.wrap_socket(connected, { server_hostname: 'tls.test' });
 * ```
 */
import { constants as C } from '../firmware-protocol/index.js';
import { badArg } from './errors.js';
import type { Socket } from './socket.js';
import type { SSLSocket } from './ssl-socket.js';

/** Keyword arguments of wrap_socket: WiPy's, MicroPython's modern ones, and `alpn_protocols`. */
export interface WrapOptions {
  // WiPy (paths in the coprocessor's file store for IPPROTO_SEC; for host-side TLS, `/flash/…` or this machine's files)
  keyfile?: string | null;
  certfile?: string | null;
  ca_certs?: string | null;
  ssl_version?: number;
  // both
  server_side?: boolean;
  cert_reqs?: number;
  server_hostname?: string | null;
  // modern MicroPython (bytes: PEM or DER) — host-side TLS only
  key?: Uint8Array | string | null;
  cert?: Uint8Array | string | null;
  cadata?: Uint8Array | string | null;
  do_handshake?: boolean;
  /** Offered protocols (CPython's set_alpn_protocols): host-side TLS and ESP-AT (AT+CIPSSLCALPN). */
  alpn_protocols?: string[] | null;
  /** @internal SSLContext: verify the name only when check_hostname is set. */
  check_hostname?: boolean;
}

type Wrap = (sock: Socket, opts?: WrapOptions) => Promise<Socket | SSLSocket>;
type Material = Uint8Array | string;

const CLIENT = 0;
const SERVER = 1;

export class SSLContext {
  /** CERT_NONE / CERT_OPTIONAL / CERT_REQUIRED; clients start at CERT_REQUIRED, servers at CERT_NONE. */
  verify_mode: number;
  /** Verify the server's name (server_hostname); clients start with it on, as in CPython. */
  check_hostname: boolean;
  private cafile?: string;
  private cadata?: Material;
  private certfile?: string;
  private keyfile?: string;
  private cert?: Material;
  private key?: Material;
  private alpn?: string[];

  constructor(
    readonly protocol: number,
    private readonly wrap: Wrap,
  ) {
    if (protocol !== CLIENT && protocol !== SERVER) {
      throw badArg('ValueError', 'protocol', 'expected PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER');
    }
    this.verify_mode = protocol === CLIENT ? C.CERT_REQUIRED : C.CERT_NONE;
    this.check_hostname = protocol === CLIENT;
  }

  /**
   * The CA to verify peers with: a path (`/flash/…` = the coprocessor's store; for IPPROTO_SEC
   * sockets always the coprocessor's), or `{ cadata }` bytes (PEM or DER, host-side TLS only).
   */
  load_verify_locations(
    cafile?: string | null | { cafile?: string | null; cadata?: Material | null },
    cadata?: Material | null,
  ): void {
    const o = typeof cafile === 'object' && cafile !== null ? cafile : { cafile, cadata };
    if (!o.cafile && !o.cadata) throw badArg('TypeError', 'cafile', 'cafile or cadata must be given');
    if (o.cafile !== undefined && o.cafile !== null && typeof o.cafile !== 'string') {
      throw badArg('TypeError', 'cafile', 'expected a str path');
    }
    this.cafile = o.cafile ?? undefined;
    this.cadata = o.cadata ?? undefined;
  }

  /**
   * This side's certificate and key: paths (`load_cert_chain(certfile, keyfile)`) or, for
   * host-side TLS, `{ cert, key }` bytes.
   */
  load_cert_chain(certfile: string | { cert: Material; key: Material }, keyfile?: string): void {
    if (typeof certfile === 'object') {
      this.cert = certfile.cert;
      this.key = certfile.key;
      return;
    }
    if (typeof certfile !== 'string') throw badArg('TypeError', 'certfile', 'expected a str path');
    if (typeof keyfile !== 'string') throw badArg('TypeError', 'keyfile', 'expected a str path');
    this.certfile = certfile;
    this.keyfile = keyfile;
  }

  set_alpn_protocols(protocols: string[]): void {
    if (!Array.isArray(protocols)) throw badArg('TypeError', 'protocols', 'expected a list of str');
    this.alpn = [...protocols];
  }

  /**
   * MicroPython: `wrap_socket(sock, server_side=False, do_handshake_on_connect=True, server_hostname=None)`.
   * A client with check_hostname needs server_hostname (ValueError, as CPython).
   */
  async wrap_socket(
    sock: Socket,
    opts: { server_side?: boolean; do_handshake_on_connect?: boolean; server_hostname?: string | null } = {},
  ): Promise<Socket | SSLSocket> {
    const serverSide = opts.server_side ?? this.protocol === SERVER;
    if (!serverSide && this.check_hostname && !opts.server_hostname) {
      throw badArg('ValueError', 'server_hostname', 'check_hostname requires server_hostname');
    }
    return this.wrap(sock, {
      server_side: serverSide,
      cert_reqs: this.verify_mode,
      ...{ ca_certs: this.cafile, cadata: this.cadata, certfile: this.certfile, keyfile: this.keyfile },
      ...{ cert: this.cert, key: this.key, alpn_protocols: this.alpn },
      server_hostname: opts.server_hostname ?? null,
      check_hostname: this.check_hostname,
      do_handshake: opts.do_handshake_on_connect !== false,
    });
  }
}

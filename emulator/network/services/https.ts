/**
 * HTTPS for the TLS virtual hosts (tls.test:443 and the deliberately broken ones): node:tls runs
 * server-side over the in-memory connection, then the same HTTP server as http.test answers
 * inside the TLS session. Certificates come from the caller (the fixture PKI at the composition
 * points); the emulator never generates or fetches any.
 *
 * The certificate is picked by the virtual host the connection reached. Every name has its own
 * address, so that is the name a client would send as SNI, and clients that send no SNI at all
 * (the WiPy's SimpleLink stack) still get the right certificate.
 */
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { NetError } from '../net-error.js';
import { httpService } from './http.js';
import type { TcpConnectionInfo, TcpService } from './types.js';

/** What one https virtual host presents (PEM). */
export interface TlsIdentity {
  readonly cert: string;
  readonly key: string;
  /** Mutual TLS: require a client certificate issued by this CA; without it the handshake fails. */
  readonly clientCa?: string;
}

/** The TLS material of a virtual network. */
export interface NetworkPki {
  /** The CA (PEM) that issued the good certificates: what the board trusts (`/flash/cert/ca.pem`). */
  readonly ca: string;
  /** https identity per virtual host name, e.g. `{ 'tls.test': { cert, key } }`. */
  readonly hosts: Readonly<Record<string, TlsIdentity>>;
}

function serverOptions(id: TlsIdentity): tls.TlsOptions {
  const mutual = id.clientCa !== undefined;
  return { cert: id.cert, key: id.key, ca: id.clientCa, requestCert: mutual, rejectUnauthorized: mutual };
}

/**
 * TLS material, a promise of it, or a function that makes it on first need (the fixture PKI:
 * nothing is generated for a board that never uses TLS; docs/performance.md).
 */
export type PkiSource = NetworkPki | PromiseLike<NetworkPki> | (() => PromiseLike<NetworkPki>);

/** How long whoever needs the TLS material waits for it to be made (~0.5 s of CPU, more under load). */
export const PKI_DEADLINE_MS = 60_000;

function withDeadline(made: PromiseLike<NetworkPki>): Promise<NetworkPki> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`TLS material not made within ${PKI_DEADLINE_MS} ms`)), PKI_DEADLINE_MS);
    timer.unref();
  });
  return Promise.race([made, late]).finally(() => clearTimeout(timer));
}

/**
 * One PKI for every consumer (https hosts, `/flash/cert/ca.pem`): the source asked for at most
 * once, on the first call, with a deadline; its outcome (or failure) is kept.
 *
 * @example const pki = pkiOnDemand(() => generateFixturePki());  // nothing made yet
 * await pki();                                                    // made now, same set ever after
 */
export function pkiOnDemand(source: PkiSource): () => Promise<NetworkPki> {
  let made: Promise<NetworkPki> | undefined;
  return () => {
    if (!made) {
      made = typeof source === 'function' ? withDeadline(source()) : Promise.resolve(source);
      made.then(undefined, () => {}); // reported by whoever made the PKI; consumers reset or leave files out
    }
    return made;
  };
}

function refuse(conn: Duplex, info: TcpConnectionInfo, why: string): void {
  conn.on('error', () => {});
  conn.destroy(new NetError('ECONNRESET', `${info.hostName}: ${why}`));
}

/**
 * The `https` service: one tls.Server per virtual host and port, never listening; each virtual
 * connection is handed to it as a 'connection' (node:tls accepts any Duplex there). A host
 * without an identity in `pki.hosts` resets the connection, as a server with no certificate
 * for a name aborts the handshake. A PKI made on demand is asked for by the first connection;
 * while it is not ready yet, connections wait (the client's hello stays buffered, the device's
 * handshake deadline runs); if it fails, they are reset.
 *
 * @example new VirtualNetwork({ pki })  // registers httpsService(pki) for the 'https' kind
 */
export function httpsService(source: PkiSource): TcpService {
  const ready = pkiOnDemand(source);
  const servers = new Map<string, tls.Server>();
  const serverFor = (pki: NetworkPki, info: TcpConnectionInfo): tls.Server | undefined => {
    const key = `${info.hostName}:${info.port}`;
    let server = servers.get(key);
    const id = pki.hosts[info.hostName];
    if (!server && id) {
      server = tls.createServer(serverOptions(id), (socket) => httpService(socket, info));
      // A failed handshake (bad client certificate, the device gave up) only ends that
      // connection; node:tls has already destroyed the socket.
      server.on('tlsClientError', () => {});
      servers.set(key, server);
    }
    return server;
  };
  const serve = (pki: NetworkPki, conn: Duplex, info: TcpConnectionInfo): void => {
    if (conn.destroyed) return;
    const server = serverFor(pki, info);
    if (server) server.emit('connection', conn);
    else refuse(conn, info, 'no TLS certificate for this host');
  };
  return (conn, info) => {
    // While the PKI is still being made nobody listens on conn: a reset then (the network
    // closing) must not become an uncaught error.
    conn.on('error', () => {});
    ready().then(
      (pki) => serve(pki, conn, info),
      (err: Error) => refuse(conn, info, `no TLS material (${err.message})`),
    );
  };
}

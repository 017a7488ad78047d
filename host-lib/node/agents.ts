/**
 * `dev.http.Agent` / `dev.https.Agent`: http.Agent subclasses whose connections go through the
 * board (https: node:tls on this machine over a board socket). Everything else is Node's own
 * agent: keep-alive pooling, maxSockets, timeouts, so `keepAlive: true` reuses board sockets.
 *
 * ```ts
 * const agent = new dev.http.Agent({ keepAlive: true });
 * http.get({ agent, host: 'http.test', path: '/bytes/10' }, (res) => res.resume());
 * ```
 */
import { type AgentOptions, type ClientRequestArgs, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { NetModule } from './net.js';
import type { TlsModule } from './tls.js';

export interface HttpModule {
  Agent: new (opts?: AgentOptions) => HttpAgent;
  /** An Agent without keep-alive, like http.globalAgent (one per device). */
  readonly globalAgent: HttpAgent;
}
export interface HttpsModule {
  Agent: new (opts?: HttpsAgentOptions) => HttpsAgent;
  readonly globalAgent: HttpsAgent;
}

/** The TCP parts of a request's options: never the HTTP path (which Node would read as an IPC path). */
function target(o: ClientRequestArgs, defaultPort: number): { host: string; port: number; timeout?: number } {
  const host = o.hostname ?? o.host ?? 'localhost';
  return { host, port: Number(o.port) || defaultPort, timeout: o.timeout };
}

export function createHttpModule(net: NetModule): HttpModule {
  class Agent extends HttpAgent {
    override createConnection(o: ClientRequestArgs, _cb?: (err: Error | null, s: Duplex) => void): Duplex {
      return net.createConnection(target(o, 80));
    }
  }
  let global: HttpAgent | undefined;
  return {
    Agent,
    get globalAgent() {
      global ??= new Agent();
      return global;
    },
  };
}

export function createHttpsModule(tls: TlsModule): HttpsModule {
  class Agent extends HttpsAgent {
    override createConnection(o: RequestOptions, _cb?: (err: Error | null, s: Duplex) => void): Duplex {
      const { host, port, timeout } = target(o, 443);
      const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername, checkServerIdentity } = o;
      const { ALPNProtocols, session } = o as ConnectionOptions;
      return tls.connect({
        ...{ host, port, timeout, ca, cert, key, pfx, passphrase, rejectUnauthorized },
        ...{ servername: servername || undefined, ALPNProtocols, checkServerIdentity, session },
      });
    }
  }
  let global: HttpsAgent | undefined;
  return {
    Agent,
    get globalAgent() {
      global ??= new Agent();
      return global;
    },
  };
}

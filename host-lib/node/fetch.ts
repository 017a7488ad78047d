/**
 * `dev.fetch` / `dev.dispatcher`: WHATWG fetch through the board, as an undici dispatcher whose
 * connector opens board sockets (https: node:tls on this machine over them). Keep-alive pooling
 * is undici's own. TLS options (`ca`, `rejectUnauthorized`, client certificates) may be given per
 * call; calls with the same options share one dispatcher.
 *
 * ```ts
 * const res = await dev.fetch('https://tls.test/bytes/100', { ca });
 * const body = new Uint8Array(await res.arrayBuffer());
 * ```
 */
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { Agent, type Dispatcher, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import type { NetModule } from './net.js';
import type { TlsModule } from './tls.js';

/** TLS options fetch passes to the https connections it opens. */
export type FetchTlsOptions = Pick<
  ConnectionOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'checkServerIdentity'
>;

export type DeviceFetchInit = RequestInit & FetchTlsOptions;
export type DeviceFetch = (input: string | URL, init?: DeviceFetchInit) => Promise<Response>;

const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'checkServerIdentity'] as const;

/** An undici Agent whose connections are board sockets. */
export function createDispatcher(net: NetModule, tls: TlsModule, tlsOpts: FetchTlsOptions = {}): Agent {
  return new Agent({
    connect: (o, callback) => {
      const https = o.protocol === 'https:';
      const port = Number(o.port) || (https ? 443 : 80);
      const host = o.hostname;
      const sock: Duplex = https
        ? tls.connect({ ...tlsOpts, host, port, servername: o.servername || undefined, ALPNProtocols: ['http/1.1'] })
        : net.connect({ host, port });
      const ready = https ? 'secureConnect' : 'connect';
      const onReady = (): void => {
        sock.off('error', onError);
        callback(null, sock as never);
      };
      const onError = (err: Error): void => {
        sock.off(ready, onReady);
        callback(err, null);
      };
      sock.once(ready, onReady);
      sock.once('error', onError);
    },
  });
}

export interface FetchModule {
  fetch: DeviceFetch;
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
}

export function createFetchModule(net: NetModule, tls: TlsModule): FetchModule {
  const byOptions = new Map<string, Agent>();
  let plain: Agent | undefined;
  const dispatcherFor = (init: DeviceFetchInit): Agent => {
    const tlsOpts: FetchTlsOptions = {};
    for (const k of TLS_KEYS) if (init[k] !== undefined) (tlsOpts as Record<string, unknown>)[k] = init[k];
    if (Object.keys(tlsOpts).length === 0) {
      plain ??= createDispatcher(net, tls);
      return plain;
    }
    const key = JSON.stringify(tlsOpts, (_k, v) => (typeof v === 'function' ? String(v) : v));
    let agent = byOptions.get(key);
    if (!agent) {
      agent = createDispatcher(net, tls, tlsOpts);
      byOptions.set(key, agent);
    }
    return agent;
  };
  return {
    fetch: (input, init = {}) => {
      const rest: RequestInit = { ...init };
      for (const k of TLS_KEYS) delete (rest as Record<string, unknown>)[k];
      return undiciFetch(input, { ...rest, dispatcher: init.dispatcher ?? dispatcherFor(init) });
    },
    get dispatcher() {
      return dispatcherFor({});
    },
    async close() {
      const all = [...byOptions.values(), ...(plain ? [plain] : [])];
      byOptions.clear();
      plain = undefined;
      await Promise.all(all.map((a) => a.destroy().catch(() => {})));
    },
  };
}

/**
 * The Node-native modules of one device (ARCHITECTURE §6): `dev.net`, `dev.tls`, `dev.http`,
 * `dev.https`, `dev.fetch`, `dev.dispatcher`. Built over the MicroPython socket module only.
 */
import type { Driver } from '../driver.js';
import type { SocketModule } from '../socket-module.js';
import { createHttpModule, createHttpsModule, type HttpModule, type HttpsModule } from './agents.js';
import { createNodeContext } from './context.js';
import { createFetchModule, type FetchModule } from './fetch.js';
import { createNetModule, type NetModule } from './net.js';
import { createTlsModule, type TlsModule } from './tls.js';

export type { HttpModule, HttpsModule } from './agents.js';
export type { NodeSocketError } from './errors.js';
export type { DeviceFetch, DeviceFetchInit, FetchTlsOptions } from './fetch.js';
export type { NetModule } from './net.js';
export { NetServer } from './net-server.js';
export { type NetConnectOptions, NetSocket, type NetSocketOptions } from './net-socket.js';
export type { TlsConnectOptions, TlsModule } from './tls.js';

export interface NodeModules {
  net: NetModule;
  tls: TlsModule;
  http: HttpModule;
  https: HttpsModule;
  fetch: FetchModule;
}

export function createNodeModules(socket: SocketModule, driver: Driver): NodeModules {
  const net = createNetModule(createNodeContext(socket, driver));
  const tls = createTlsModule(net);
  return { net, tls, http: createHttpModule(net), https: createHttpsModule(tls), fetch: createFetchModule(net, tls) };
}

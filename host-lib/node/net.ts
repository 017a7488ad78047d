/**
 * `dev.net`: Node's net module over the coprocessor (connect, createConnection, createServer,
 * Socket, Server, isIP). Connections are made by the board; see net-socket.ts and net-server.ts.
 *
 * ```ts
 * const c = dev.net.createConnection({ host: 'echo.test', port: 7, timeout: 5000 }, () => c.end('hi'));
 * ```
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { NodeContext } from './context.js';
import { NetServer } from './net-server.js';
import { type NetConnectOptions, NetSocket, type NetSocketOptions } from './net-socket.js';

export interface NetModule {
  connect(options: NetConnectOptions & NetSocketOptions, listener?: () => void): NetSocket;
  connect(port: number, host?: string, listener?: () => void): NetSocket;
  connect(port: number, listener?: () => void): NetSocket;
  createConnection: NetModule['connect'];
  createServer(listener?: (socket: NetSocket) => void): NetServer;
  createServer(options: NetSocketOptions, listener?: (socket: NetSocket) => void): NetServer;
  /** `new dev.net.Socket()` then `.connect(...)`, as with net.Socket. */
  Socket: new (
    opts?: NetSocketOptions,
  ) => NetSocket;
  Server: new (opts?: NetSocketOptions, listener?: (socket: NetSocket) => void) => NetServer;
  isIP: typeof isIP;
  isIPv4: typeof isIPv4;
  isIPv6: typeof isIPv6;
}

export function createNetModule(ctx: NodeContext): NetModule {
  class Socket extends NetSocket {
    constructor(opts?: NetSocketOptions) {
      super(ctx, opts);
    }
  }
  class Server extends NetServer {
    constructor(opts?: NetSocketOptions, listener?: (socket: NetSocket) => void) {
      super(ctx, opts, listener);
    }
  }
  const connect = (...args: unknown[]): NetSocket => {
    const first = args[0];
    const opts = first !== null && typeof first === 'object' ? (first as NetSocketOptions) : {};
    return new Socket({ allowHalfOpen: opts.allowHalfOpen }).connect(...args);
  };
  const createServer = (...args: unknown[]): NetServer => {
    const [a, b] = args;
    if (typeof a === 'function') return new Server({}, a as (s: NetSocket) => void);
    return new Server((a as NetSocketOptions | undefined) ?? {}, b as ((s: NetSocket) => void) | undefined);
  };
  return {
    connect: connect as NetModule['connect'],
    createConnection: connect as NetModule['connect'],
    createServer: createServer as NetModule['createServer'],
    Socket,
    Server,
    isIP,
    isIPv4,
    isIPv6,
  };
}

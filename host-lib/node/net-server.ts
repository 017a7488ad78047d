/**
 * `net.Server` over the coprocessor: a listening socket on the board whose accepted connections
 * arrive as NetSockets ('connection'). An emulator forwards the listener to a loopback port of
 * this machine (`server.forwardPort`, from the SLIP LISTEN answer; 0 on hardware and over ESP-AT,
 * where the emulator reports forwards itself), so local programs can reach it.
 *
 * ```ts
 * const srv = dev.net.createServer((conn) => conn.pipe(conn));
 * srv.listen(8000, () => console.log(srv.address(), 'reachable at 127.0.0.1:' + srv.forwardPort));
 * ```
 */
import { EventEmitter } from 'node:events';
import { constants as C, errno as E } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';
import type { Socket } from '../socket.js';
import type { NodeContext } from './context.js';
import { nodeError } from './errors.js';
import { type AddressInfo, NetSocket, type NetSocketOptions } from './net-socket.js';

export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
  path?: string;
}

export class NetServer extends EventEmitter {
  /** Loopback port on this machine that reaches the listener (emulator over SLIP), else 0. */
  forwardPort = 0;
  maxConnections?: number;
  private sock?: Socket;
  private bound?: AddressInfo;
  private closing = false;
  private readonly conns = new Set<NetSocket>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly opts: NetSocketOptions = {},
    listener?: (socket: NetSocket) => void,
  ) {
    super();
    if (listener) this.on('connection', listener);
  }

  get listening(): boolean {
    return this.bound !== undefined && !this.closing;
  }

  /** `listen(port[, host][, backlog][, cb])` or `listen(options[, cb])`; 'listening' or 'error' follows. */
  listen(...args: unknown[]): this {
    const [o, cb] = normalizeListenArgs(args);
    if (o.path !== undefined) throw new TypeError('path: IPC servers do not exist on a coprocessor');
    if (this.sock)
      throw Object.assign(new Error('Listen method has been called more than once'), {
        code: 'ERR_SERVER_ALREADY_LISTEN',
      });
    if (cb) this.once('listening', cb);
    this.closing = false;
    void this.start(o.host ?? '0.0.0.0', o.port ?? 0, o.backlog ?? 4);
    return this;
  }

  private async start(host: string, port: number, backlog: number): Promise<void> {
    let sock: Socket | undefined;
    try {
      sock = await this.ctx.socket.socket(C.AF_INET, C.SOCK_STREAM);
      this.sock = sock;
      // The driver's bind answers the port actually bound (port 0 → the board's choice).
      const [addr, boundPort] = await sock.ds.bind([host === 'localhost' ? '127.0.0.1' : host, port]);
      this.forwardPort = await sock.listen(backlog);
      this.bound = { address: addr, family: 'IPv4', port: boundPort || port };
    } catch (err) {
      this.sock = undefined;
      await sock?.close().catch(() => {});
      this.emit('error', nodeError(err, 'listen', host, port));
      return;
    }
    this.emit('listening');
    void this.acceptLoop(sock);
  }

  private async acceptLoop(listener: Socket): Promise<void> {
    listener.setblocking(true);
    while (!this.closing) {
      let conn: Socket;
      let peer: [string, number];
      try {
        [conn, peer] = await listener.accept();
      } catch (err) {
        // EBADF: the listener was closed under us (dev.close()): the server just ends, as close() would.
        if (err instanceof OSError && err.errno === E.EBADF) this.close();
        else if (!this.closing) this.emit('error', nodeError(err, 'accept'));
        return;
      }
      if (this.closing || (this.maxConnections !== undefined && this.conns.size >= this.maxConnections)) {
        await conn.close().catch(() => {});
        continue;
      }
      this.adopt(conn, peer);
    }
  }

  private adopt(conn: Socket, peer: [string, number]): void {
    const s = new NetSocket(this.ctx, this.opts).attach(conn, peer, this.bound?.port ?? 0);
    this.conns.add(s);
    s.once('close', () => {
      this.conns.delete(s);
      this.maybeClosed();
    });
    this.emit('connection', s);
  }

  /** The board-side address the server is bound to. */
  address(): AddressInfo | null {
    return this.bound ?? null;
  }

  /** Stops accepting; 'close' once every connection has ended, as net.Server. */
  close(cb?: (err?: Error) => void): this {
    if (!this.sock) {
      const err = Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' });
      if (cb) queueMicrotask(() => cb(err));
      return this;
    }
    if (cb) this.once('close', () => cb());
    this.closing = true;
    const sock = this.sock;
    this.sock = undefined;
    void sock
      .close()
      .catch(() => {})
      .then(() => {
        this.bound = undefined;
        this.maybeClosed();
      });
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && !this.sock && this.bound === undefined && this.conns.size === 0) {
      this.closing = false;
      process.nextTick(() => this.emit('close')); // after the last connection's own 'close', as Node
    }
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    queueMicrotask(() => cb(null, this.conns.size));
    return this;
  }

  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return new Promise((resolve) => (this.sock ? this.close(() => resolve()) : resolve()));
  }
}

function normalizeListenArgs(args: unknown[]): [ListenOptions, (() => void) | undefined] {
  const last = args.at(-1);
  const cb = typeof last === 'function' ? (last as () => void) : undefined;
  const rest = cb ? args.slice(0, -1) : args;
  const [first, second, third] = rest;
  if (first !== null && typeof first === 'object') return [first as ListenOptions, cb];
  const port = typeof first === 'string' ? Number(first) : (first as number | undefined);
  const host = typeof second === 'string' ? second : undefined;
  const backlog = typeof second === 'number' ? second : typeof third === 'number' ? third : undefined;
  return [{ port, host, backlog }, cb];
}

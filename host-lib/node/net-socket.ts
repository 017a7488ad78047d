/**
 * `net.Socket` over the coprocessor: a stream.Duplex with Node's socket surface, built on the
 * MicroPython socket module (connect, recv, sendall, setsockopt, close) and the driver's
 * half-close. `connect()` returns at once and connects in the background, so stream factories
 * (http's createConnection, ws, mqtt.js's stream builder) get a socket synchronously; writes made
 * meanwhile wait for the connection, as with Node's own sockets.
 *
 * ```ts
 * const c = dev.net.connect(80, 'http.test', () => c.end('GET / HTTP/1.0\r\n\r\n'));
 * c.on('data', (d) => process.stdout.write(d));
 * ```
 */
import { Duplex } from 'node:stream';
import { constants as C, errno as E } from '../../firmware-protocol/index.js';
import { isIpLiteral } from '../args.js';
import { afterIo } from '../duplex.js';
import { OSError } from '../errors.js';
import type { Socket } from '../socket.js';
import type { NodeContext } from './context.js';
import { nodeError, notFound } from './errors.js';

export interface NetSocketOptions {
  /** Keep the writable side open after the peer's FIN (Node's default: false). */
  allowHalfOpen?: boolean;
}

export interface NetConnectOptions {
  port?: number | string;
  host?: string;
  /** Idle timeout, ms: 'timeout' fires after this long without reads or writes (as socket.setTimeout). */
  timeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Node's IPC path: not available on a coprocessor. */
  path?: string;
}

type Done = (err?: Error | null) => void;

/** An address as Node reports it. */
export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}

const READ_SIZE = 65536;

export class NetSocket extends Duplex {
  connecting = false;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
  bytesRead = 0;
  /** @internal the MicroPython socket below, once created */
  sock?: Socket;
  private written = 0;
  private open = false;
  private reading = false;
  private wantRead = false;
  private ready?: Promise<void>;
  private idle?: NodeJS.Timeout;
  private idleMs = 0;
  private noDelay?: boolean;
  /** SO_KEEPALIVE's value: 0 off, 1 on, above 1 the idle seconds (initialDelay, for ESP-AT). */
  private keepAlive?: number;
  private refed = true;
  private halfClosed = false;

  constructor(
    private readonly ctx: NodeContext,
    opts: NetSocketOptions = {},
  ) {
    // 'close' is emitted by hand, with Node's hadError argument, once the board socket is closed.
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, emitClose: false, decodeStrings: true });
  }

  /** Adopts a connection a server accepted (already connected). @internal */
  attach(sock: Socket, remote: [string, number], localPort: number): this {
    this.sock = sock;
    this.open = true;
    this.setRemote(remote[0], remote[1]);
    this.localPort = localPort;
    sock.setblocking(true);
    this.ready = Promise.resolve();
    queueMicrotask(() => this.read(0)); // read ahead, as Node's accepted sockets do
    void this.ctx.localIp().then((ip) => {
      this.localAddress ??= ip;
    });
    return this;
  }

  /**
   * `connect(port[, host][, listener])` or `connect(options[, listener])`, as net.Socket: returns
   * this at once; 'connect' and 'ready' follow, or 'error' then 'close'.
   */
  connect(...args: unknown[]): this {
    const [opts, listener] = normalizeConnectArgs(args);
    if (this.connecting || this.open)
      throw Object.assign(new Error('Socket is already connected'), { code: 'EISCONN' });
    // Request options (ws, http's createConnection) carry the HTTP path as `path`: only a path
    // without a port asks for an IPC socket, which a coprocessor does not have.
    if (opts.path !== undefined && opts.port === undefined)
      throw new TypeError('path: IPC sockets do not exist on a coprocessor');
    const port = toPort(opts.port);
    const host = opts.host ?? 'localhost';
    if (listener) this.once('connect', listener);
    if (opts.timeout) this.setTimeout(opts.timeout);
    if (opts.noDelay) this.setNoDelay(true);
    if (opts.keepAlive) this.setKeepAlive(true, opts.keepAliveInitialDelay);
    this.connecting = true;
    this.ready = this.run(host, port);
    this.ready.catch(() => {}); // failures go to 'error'; waiting writers see `destroyed`
    return this;
  }

  private async run(host: string, port: number): Promise<void> {
    let ip = host;
    try {
      if (!isIpLiteral(host)) ip = await this.lookup(host, port);
      if (this.destroyed) return;
      const sock = await this.ctx.socket.socket(C.AF_INET, C.SOCK_STREAM);
      this.sock = sock;
      if (this.destroyed) {
        await sock.close();
        return;
      }
      sock.setblocking(true);
      await sock.connect([ip, port]);
      if (this.destroyed) return;
      this.localAddress = await this.ctx.localIp();
    } catch (err) {
      this.connecting = false;
      if (!this.destroyed) this.destroy(nodeError(err, 'connect', ip, port));
      throw err;
    }
    if (this.destroyed) return;
    this.connecting = false;
    this.open = true;
    this.setRemote(ip, port);
    this.applyOptions();
    this.touch();
    this.emit('connect');
    this.emit('ready');
    // As Node: read ahead (up to the high-water mark) even before anyone listens, so a FIN or a
    // reset is seen on an idle socket too.
    if (this.wantRead)
      this.startReading(); // a _read that came while connecting
    else if (!this.isPaused()) this.read(0);
  }

  /** The board resolves the name (its own DNS or the emulator's hosts table); emits 'lookup' as Node does. */
  private async lookup(host: string, port: number): Promise<string> {
    let ip: string | undefined;
    try {
      const [first] = await this.ctx.socket.getaddrinfo(host, port, C.AF_INET, C.SOCK_STREAM);
      ip = first?.[4][0];
    } catch (err) {
      const e = nodeError(err, 'getaddrinfo', host);
      this.emit('lookup', e, undefined, undefined, host);
      throw e;
    }
    if (ip === undefined) throw notFound(host);
    this.emit('lookup', null, ip, 4, host);
    return ip;
  }

  private setRemote(ip: string, port: number): void {
    this.remoteAddress = ip;
    this.remotePort = port;
    this.remoteFamily = ip.includes(':') ? 'IPv6' : 'IPv4';
  }

  // ---- reading ----

  override _read(): void {
    if (this.open) this.startReading();
    else this.wantRead = true;
  }

  private startReading(): void {
    if (this.reading || !this.sock) return;
    this.reading = true;
    void this.pump(this.sock);
  }

  private async pump(sock: Socket): Promise<void> {
    try {
      for (;;) {
        const chunk = await sock.recv(READ_SIZE);
        await afterIo(); // as a Node socket: a check phase between two reads (duplex.ts)
        if (this.destroyed) return;
        if (chunk.length === 0) {
          this.push(null);
          this.read(0); // as Node: 'end' comes even when nobody reads (the buffer is empty)
          return;
        }
        this.bytesRead += chunk.length;
        this.touch();
        if (!this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))) break;
      }
    } catch (err) {
      // EBADF: the board socket was closed under us (dev.close()); the stream just closes.
      if (this.destroyed) return;
      if (err instanceof OSError && err.errno === E.EBADF) this.destroy();
      else this.destroy(nodeError(err, 'read'));
    } finally {
      this.reading = false;
    }
  }

  // ---- writing ----

  override _write(chunk: Buffer, _enc: BufferEncoding, done: Done): void {
    this.send(chunk).then(() => done(), done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: Done): void {
    const data =
      chunks.length === 1 ? (chunks[0] as { chunk: Buffer }).chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.send(data).then(() => done(), done);
  }

  private async send(data: Buffer): Promise<void> {
    await this.connected();
    try {
      await (this.sock as Socket).sendall(data);
    } catch (err) {
      throw nodeError(err, 'write');
    }
    this.written += data.length;
    this.touch();
  }

  private async connected(): Promise<void> {
    if (!this.ready) throw Object.assign(new Error('This socket is not connected'), { code: 'ENOTCONN' });
    await this.ready.catch(() => {});
    if (this.destroyed || !this.sock) throw Object.assign(new Error('This socket has been ended'), { code: 'EPIPE' });
  }

  /**
   * end(): FIN after what was written, where the board can half-close (SLIP SHUTDOWN, SPEC rev 1.2).
   * Where it cannot (ESP-AT, an agent on MicroPython), the FIN goes with the close: at once if the
   * peer already ended, else when it ends or the socket is destroyed; see docs/node.md.
   */
  override _final(done: Done): void {
    this.halfClose().then(() => done(), done);
  }

  private async halfClose(): Promise<void> {
    if (!this.ready) return;
    await this.connected();
    if (!this.ctx.canHalfClose()) return;
    const ds = (this.sock as Socket).ds;
    try {
      await ds.shutdown?.(1);
      this.halfClosed = true;
    } catch (err) {
      throw nodeError(err, 'shutdown');
    }
  }

  /** True once end() sent a FIN while the socket still reads. */
  get isHalfClosed(): boolean {
    return this.halfClosed;
  }

  // ---- closing ----

  override _destroy(err: Error | null, done: Done): void {
    this.connecting = false;
    this.open = false;
    if (this.idle) clearTimeout(this.idle);
    const sock = this.sock;
    done(err);
    const closed = sock ? sock.close().catch(() => {}) : Promise.resolve();
    void closed.then(() => setImmediate(() => this.emit('close', err !== null && err !== undefined)));
  }

  /** Node sends an RST; the boards have no SO_LINGER, so this closes as destroy() does (docs/node.md). */
  resetAndDestroy(): this {
    this.destroy();
    return this;
  }

  // ---- Node's socket surface ----

  get bytesWritten(): number {
    return this.written + this.writableLength;
  }

  get pending(): boolean {
    return !this.open || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  get timeout(): number | undefined {
    return this.idleMs || undefined;
  }

  /** Deprecated in Node, kept for libraries that still read it. */
  get bufferSize(): number {
    return this.writableLength;
  }

  /** The local end: the board's address (where the driver can tell) and, for accepted connections, the port. */
  address(): AddressInfo | Record<string, never> {
    if (!this.open || this.localAddress === undefined) return {};
    return { address: this.localAddress, family: 'IPv4', port: this.localPort ?? 0 };
  }

  /** 'timeout' after `ms` without reads or writes (0 disables); the socket stays open, as in Node. */
  setTimeout(ms: number, callback?: () => void): this {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`msecs: must be a non-negative number, got ${ms}`);
    this.idleMs = ms;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (ms === 0) {
      if (callback) this.removeListener('timeout', callback);
      return this;
    }
    if (callback) this.once('timeout', callback);
    this.idle = setTimeout(() => this.emit('timeout'), ms);
    this.idle.unref();
    return this;
  }

  /** Activity re-arms the idle timer (also after it fired, as in Node). */
  private touch(): void {
    this.idle?.refresh();
  }

  /** TCP_NODELAY on the board socket (SLIP SETSOCKOPT; ESP-AT AT+CIPTCPOPT). */
  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    if (this.open) this.applyOptions();
    return this;
  }

  /**
   * SO_KEEPALIVE on the board socket. The value carries `initialDelay` in whole seconds when it
   * is 2 s or more (ESP-AT's `<keep_alive>` idle time; any nonzero value is "on" to other stacks).
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const seconds = Number.isFinite(initialDelay) && initialDelay > 0 ? Math.ceil(initialDelay / 1000) : 1;
    this.keepAlive = enable ? seconds : 0;
    if (this.open) this.applyOptions();
    return this;
  }

  private applyOptions(): void {
    const sock = this.sock;
    if (!sock) return;
    // Node ignores a failed option too; the socket works without it.
    if (this.noDelay !== undefined) sock.setsockopt(C.IPPROTO_TCP, C.TCP_NODELAY, this.noDelay ? 1 : 0).catch(() => {});
    if (this.keepAlive !== undefined) sock.setsockopt(C.SOL_SOCKET, C.SO_KEEPALIVE, this.keepAlive).catch(() => {});
    this.noDelay = undefined;
    this.keepAlive = undefined;
  }

  /** The device link, not each socket, keeps the process alive; these only record the wish. */
  ref(): this {
    this.refed = true;
    return this;
  }
  unref(): this {
    this.refed = false;
    return this;
  }
  /** @internal */
  get isRefed(): boolean {
    return this.refed;
  }
}

/** net.connect's argument forms → options and listener. */
export function normalizeConnectArgs(args: unknown[]): [NetConnectOptions, (() => void) | undefined] {
  const last = args.at(-1);
  const listener = typeof last === 'function' ? (last as () => void) : undefined;
  const rest = listener ? args.slice(0, -1) : args;
  const [first, second] = rest;
  if (first !== null && typeof first === 'object') return [first as NetConnectOptions, listener];
  if (typeof first === 'string' && !/^\d+$/.test(first)) return [{ path: first } as NetConnectOptions, listener];
  return [{ port: first as number, host: typeof second === 'string' ? second : undefined }, listener];
}

function toPort(port: unknown): number {
  const n = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    const e = new RangeError(`port: should be >= 0 and < 65536, got ${String(port)}`);
    throw Object.assign(e, { code: 'ERR_SOCKET_BAD_PORT' });
  }
  return n;
}

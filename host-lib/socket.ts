/**
 * MicroPython's socket object, over any Driver. Blocking, non-blocking and timeouts live here,
 * once, as deadlines over the driver's readiness (like modlwip's poll loop): None = block,
 * 0 = EAGAIN at once, n > 0 = ETIMEDOUT after n seconds. Stream methods (read, readinto,
 * readline, write) follow lwIP ports: no short reads or writes while blocking.
 */

import type { Duplex } from 'node:stream';
import { constants as C, errno as E } from '../firmware-protocol/index.js';
import { isIpLiteral, toBytes, toInt, toSockAddr } from './args.js';
import type { DeviceTlsOptions, DriverSocket, SockAddr } from './driver.js';
import { toDuplex } from './duplex.js';
import { badArg, OSError, osError } from './errors.js';

export type Resolve = (host: string, port: number) => Promise<SockAddr>;

function isEagain(err: unknown): boolean {
  return err instanceof OSError && err.errno === E.EAGAIN;
}

export class Socket {
  /** null = blocking (MicroPython None); 0 = non-blocking; else ms. */
  private timeoutMs: number | null = null;
  /** IPPROTO_SEC: the device-side TLS options ssl.wrap_socket gave (host-lib/ssl.ts). */
  tls?: DeviceTlsOptions;

  constructor(
    /** @internal the driver's socket */
    readonly ds: DriverSocket,
    readonly family: number,
    readonly type: number,
    readonly proto: number,
    private readonly resolve: Resolve,
  ) {}

  /** `settimeout(None)` blocks, `settimeout(0)` never waits, `settimeout(2.5)` waits up to 2.5 s. */
  settimeout(value: number | null): void {
    if (value === null || value === undefined) this.timeoutMs = null;
    else if (typeof value !== 'number' || Number.isNaN(value))
      throw badArg('TypeError', 'value', 'must be a number or None');
    else if (value < 0) throw badArg('ValueError', 'value', 'timeout must be non-negative');
    else this.timeoutMs = value * 1000;
  }

  setblocking(flag: boolean): void {
    this.timeoutMs = flag ? null : 0;
  }

  /** The timeout in seconds (None = blocking, 0 = non-blocking), as CPython's gettimeout. */
  gettimeout(): number | null {
    return this.timeoutMs === null ? null : this.timeoutMs / 1000;
  }

  private deadline(): number {
    return this.timeoutMs === null ? Number.POSITIVE_INFINITY : Date.now() + this.timeoutMs;
  }

  /** Runs a non-blocking op until it stops raising EAGAIN, honouring this socket's timeout. */
  private async blocking<T>(op: () => T | Promise<T>, nonBlocking = this.timeoutMs === 0): Promise<T> {
    const deadline = nonBlocking ? 0 : this.deadline();
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (!isEagain(err)) throw err;
      }
      if (nonBlocking) throw osError('EAGAIN');
      if (Date.now() >= deadline) throw osError('ETIMEDOUT');
      await this.ds.wait(deadline);
    }
  }

  private async address(addr: unknown): Promise<SockAddr> {
    const [host, port] = toSockAddr(addr);
    if (host === '' || isIpLiteral(host)) return [host === '' ? '0.0.0.0' : host, port];
    return this.resolve(host, port);
  }

  async bind(addr: SockAddr): Promise<void> {
    await this.ds.bind(await this.address(addr));
  }

  /** Starts listening; returns the loopback port an emulator forwards to it (0 on hardware). */
  async listen(backlog = 2): Promise<number> {
    return this.ds.listen(Math.max(0, toInt(backlog, 'backlog')));
  }

  async accept(): Promise<[Socket, SockAddr]> {
    const [ds, addr] = await this.blocking(() => this.ds.accept());
    const s = new Socket(ds, this.family, C.SOCK_STREAM, this.proto, this.resolve);
    return [s, addr];
  }

  /** Blocking: waits for the result; non-blocking: OSError(EINPROGRESS) while it runs. */
  async connect(addr: SockAddr): Promise<void> {
    const target = await this.address(addr);
    const started = await this.ds.connect(target);
    if (started === 'done') return;
    if (this.timeoutMs === 0) throw osError('EINPROGRESS');
    const deadline = this.deadline();
    while (this.ds.connectProgress() === 'inprogress') {
      if (Date.now() >= deadline) throw osError('ETIMEDOUT');
      await this.ds.wait(deadline);
    }
  }

  /** Sends what fits now (possibly fewer bytes than given); waits per timeout for room. */
  async send(data: Uint8Array | string): Promise<number> {
    const bytes = toBytes(data);
    if (bytes.length === 0) return 0;
    return this.blocking(() => this.ds.send(bytes));
  }

  /** Sends everything; with a timeout, ETIMEDOUT if it could not. */
  async sendall(data: Uint8Array | string): Promise<void> {
    const bytes = toBytes(data);
    if (this.type === C.SOCK_DGRAM)
      throw badArg('TypeError', 'sendall', 'not supported on UDP sockets (NotImplementedError)');
    let at = 0;
    while (at < bytes.length) at += await this.blocking(() => this.ds.send(bytes.subarray(at)));
  }

  /** Up to bufsize bytes; empty = the peer closed. Flags: MSG_PEEK, MSG_DONTWAIT. */
  async recv(bufsize: number, flags = 0): Promise<Uint8Array> {
    const n = toInt(bufsize, 'bufsize');
    const peek = (flags & C.MSG_PEEK) !== 0;
    return this.blocking(() => this.ds.recv(n, peek), (flags & C.MSG_DONTWAIT) !== 0 || this.timeoutMs === 0);
  }

  async sendto(data: Uint8Array | string, addr: SockAddr): Promise<number> {
    const bytes = toBytes(data);
    return this.ds.sendto(bytes, await this.address(addr));
  }

  async recvfrom(bufsize: number, flags = 0): Promise<[Uint8Array, SockAddr]> {
    const n = toInt(bufsize, 'bufsize');
    const peek = (flags & C.MSG_PEEK) !== 0;
    return this.blocking(() => this.ds.recvfrom(n, peek), (flags & C.MSG_DONTWAIT) !== 0 || this.timeoutMs === 0);
  }

  async setsockopt(level: number, option: number, value: number | Uint8Array): Promise<void> {
    let v: Uint8Array;
    if (typeof value === 'number') {
      v = new Uint8Array(4);
      new DataView(v.buffer).setInt32(0, value);
    } else v = toBytes(value, 'value');
    await this.ds.setsockopt(toInt(level, 'level'), toInt(option, 'optname'), v);
  }

  /** MicroPython returns the socket itself. */
  makefile(_mode = 'rb', _buffering = 0): this {
    return this;
  }

  /**
   * read(n): up to n bytes, looping until n or EOF while blocking; read() reads to EOF.
   * Non-blocking with nothing ready → null (MicroPython None); partial data is returned.
   */
  async read(n = -1): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    let got = 0;
    const want = n < 0 ? Number.POSITIVE_INFINITY : n;
    while (got < want) {
      let chunk: Uint8Array;
      try {
        chunk = await this.recv(Math.min(want - got, 65536));
      } catch (err) {
        if (isEagain(err)) {
          if (got === 0) return null;
          break;
        }
        throw err;
      }
      if (chunk.length === 0) break;
      parts.push(chunk);
      got += chunk.length;
    }
    return Buffer.concat(parts, got);
  }

  /** Fills buf (or its first nbytes); returns the count, or null when non-blocking and nothing was ready. */
  async readinto(buf: Uint8Array, nbytes = buf.length): Promise<number | null> {
    const data = await this.read(Math.min(nbytes, buf.length));
    if (data === null) return null;
    buf.set(data);
    return data.length;
  }

  /** Reads up to and including '\n' (or EOF). */
  async readline(): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    for (;;) {
      let b: Uint8Array;
      try {
        b = await this.recv(1);
      } catch (err) {
        if (isEagain(err) && parts.length === 0) return null;
        if (isEagain(err)) break;
        throw err;
      }
      if (b.length === 0) break;
      parts.push(b);
      if (b[0] === 0x0a) break;
    }
    return Buffer.concat(parts);
  }

  /** Writes everything while blocking; non-blocking returns the partial count, or null if 0. */
  async write(buf: Uint8Array | string): Promise<number | null> {
    const bytes = toBytes(buf, 'buf');
    let at = 0;
    while (at < bytes.length) {
      try {
        at += await this.send(bytes.subarray(at));
      } catch (err) {
        if (isEagain(err)) return at === 0 ? null : at;
        throw err;
      }
    }
    return at;
  }

  /** Closing twice is a no-op; any later operation raises EBADF. */
  async close(): Promise<void> {
    await this.ds.close();
  }

  /** This connected socket as a Node Duplex (node:http, node:tls, stream libraries). */
  asDuplex(): Duplex {
    return toDuplex(this);
  }

  /** Readiness bits as select.poll reports them (used by the select module). */
  pollState(): number {
    return this.ds.revents();
  }
}

/**
 * MicroPython's socket object, over any Driver. Blocking, non-blocking and timeouts live here,
 * once, as deadlines over the driver's readiness (like modlwip's poll loop): None = block,
 * 0 = EAGAIN at once, n > 0 = ETIMEDOUT after n seconds. Stream methods (read, readinto,
 * readline, write) follow lwIP ports: no short reads or writes while blocking.
 */

import type { Duplex } from 'node:stream';
import { constants as C } from '../firmware-protocol/index.js';
import { isIpLiteral, toBytes, toInt, toSockAddr } from './args.js';
import type { DeviceTlsOptions, DriverSocket, SockAddr } from './driver.js';
import { toDuplex } from './duplex.js';
import { badArg, osError } from './errors.js';
import { isEagain, StreamMethods } from './stream.js';

export type Resolve = (host: string, port: number) => Promise<SockAddr>;

/** EAGAIN means "not yet" (undefined); any other error stands. */
function notReady(err: unknown): undefined {
  if (isEagain(err)) return undefined;
  throw err;
}

export class Socket extends StreamMethods {
  /** IPPROTO_SEC: the device-side TLS options ssl.wrap_socket gave (host-lib/ssl.ts). */
  tls?: DeviceTlsOptions;

  constructor(
    /** @internal the driver's socket */
    readonly ds: DriverSocket,
    readonly family: number,
    readonly type: number,
    readonly proto: number,
    private readonly resolve: Resolve,
  ) {
    super();
  }

  protected pull(n: number, peek: boolean): Uint8Array | undefined {
    try {
      return this.ds.recv(n, peek);
    } catch (err) {
      return notReady(err);
    }
  }

  protected waitChange(deadline: number): Promise<void> {
    return this.ds.wait(deadline);
  }

  /** Runs a non-blocking op until it stops raising EAGAIN, honouring this socket's timeout. */
  private async blocking<T>(op: () => T | Promise<T>, nonBlocking = this.timeoutMs === 0): Promise<T> {
    const r = await this.untilReady(() => {
      let got: T | Promise<T>;
      try {
        got = op();
      } catch (err) {
        return notReady(err);
      }
      return got instanceof Promise ? got.catch(notReady) : got;
    }, nonBlocking);
    if (r === null) throw osError('EAGAIN');
    return r;
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
    const got = await this.recvSome(n, peek, (flags & C.MSG_DONTWAIT) !== 0 || this.timeoutMs === 0);
    if (got === null) throw osError('EAGAIN');
    return got;
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

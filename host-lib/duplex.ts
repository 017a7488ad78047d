/**
 * Node interop: a connected socket as a Node Duplex, so node:http, node:tls or any stream library
 * runs over the coprocessor.
 *
 * ```ts
 * const s = await dev.socket.socket(); await s.connect(['http.test', 80]);
 * http.get({ host: 'http.test', path: '/bytes/10', createConnection: () => toDuplex(s) }, ...);
 * ```
 */
import { Duplex } from 'node:stream';
import type { DriverSocket } from './driver.js';

/** What the stream needs of a connected socket (socket.ts's Socket has it). */
export interface ConnectedSocket {
  setblocking(flag: boolean): void;
  recv(bufsize: number): Promise<Uint8Array>;
  sendall(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** The driver's socket, where there is one: `end()` waits until it has nothing unsent. */
  readonly ds?: Pick<DriverSocket, 'unsent' | 'wait'>;
}

/**
 * Resolves on the next check phase. A Node socket reads in an I/O callback, and a check phase
 * (setImmediate) always follows before the next one: clients rely on that turn between two reads
 * (undici returns a kept-alive connection to its pool on setImmediate). A coprocessor socket's
 * recv may resolve without the loop turning (an in-process board answers on nextTick), so the
 * Node-facing streams wait for it before handing bytes on. After an I/O callback it costs no
 * extra epoll_wait: the check phase of the same iteration comes next.
 */
export const afterIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class SocketDuplex extends Duplex {
  private reading = false;
  /** Aborted on destroy: ends a wait for the socket's unsent bytes. */
  private readonly gone = new AbortController();

  constructor(private readonly sock: ConnectedSocket) {
    super({ allowHalfOpen: true });
    sock.setblocking(true);
  }

  override _read(size: number): void {
    if (this.reading) return;
    this.reading = true;
    void this.pump(size);
  }

  private async pump(size: number): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.sock.recv(Math.max(size, 16384));
        await afterIo();
        if (this.destroyed) return;
        if (chunk.length === 0) {
          this.push(null);
          break;
        }
        if (!this.push(chunk)) break;
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.reading = false;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.sock.sendall(chunk).then(() => done(), done);
  }

  /** cork()/uncork() and writes queued meanwhile: one sendall, so small writes become one send. */
  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.sock.sendall(Buffer.concat(chunks.map((c) => c.chunk))).then(() => done(), done);
  }

  /**
   * 'finish' means every byte reached the coprocessor: sendall only queued them on the host, and
   * a send that fails later would otherwise go unnoticed by a writer that never writes again.
   * MicroPython sockets have no shutdown(SHUT_WR); the FIN goes out when the socket closes.
   */
  override _final(done: (err?: Error | null) => void): void {
    this.flushed().then(() => done(), done);
  }

  /** Waits (no deadline of its own: a lost coprocessor fails the socket) until nothing is unsent. */
  private async flushed(): Promise<void> {
    const ds = this.sock.ds;
    while (ds && (ds.unsent?.() ?? 0) > 0 && !this.destroyed) await ds.wait(Number.POSITIVE_INFINITY, this.gone.signal);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.gone.abort();
    this.sock.close().then(
      () => done(err),
      (closeErr: Error) => done(err ?? closeErr),
    );
  }

  // node:http and node:tls call these on sockets; they have no meaning over the coprocessor.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** Wraps a connected socket; destroying the stream closes the socket. */
export function toDuplex(sock: ConnectedSocket): Duplex {
  return new SocketDuplex(sock);
}

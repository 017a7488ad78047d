/**
 * Real TCP for loopback peers (and every peer in host mode): a node:net socket behind a Duplex
 * that behaves like the virtual connections, so the socket table sees one kind of stream.
 * The wrapper exists to give the same error contract: failures arrive as `NetError` codes
 * (a peer RST is `ECONNRESET`), and `destroy(err)` sends a RST like on the virtual network.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import { toNetError } from './net-error.js';

type Callback = (error?: Error | null) => void;

class RealTcpStream extends Duplex {
  constructor(private readonly socket: net.Socket) {
    super({ allowHalfOpen: true });
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(toNetError(err, 'ECONNRESET')));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    // Writes of one turn go out as one writev: a board's SENDs arrive in bursts (a whole link
    // window in one host write), and a syscall per 4 KiB frame was 11 % of an in-process upload.
    if (!this.socket.writableCorked) {
      this.socket.cork();
      process.nextTick(() => this.socket.uncork());
    }
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: Callback): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    // An error means abortive close: RST, as a real stack does for close() with SO_LINGER 0 —
    // unless our FIN is already asked for: libuv then refuses the reset (EINVAL), and Node never
    // closes the handle nor emits 'close', so the process could not exit (it spun in its
    // handle clean-up, deaf to SIGTERM). A plain close after the FIN is what remains.
    if (error && !this.socket.destroyed && !this.socket.writableEnded) this.socket.resetAndDestroy();
    else this.socket.destroy();
    // Report 'close' only once the OS handle is gone, so network.close() leaves nothing open.
    if (this.socket.closed) callback(error);
    else this.socket.once('close', () => callback(error));
  }
}

/**
 * Opens a real TCP connection to `ip:port`; rejects with a NetError (e.g. ECONNREFUSED), or with
 * `signal.reason` when `signal` aborts first.
 *
 * @example const conn = await connectRealTcp('127.0.0.1', server.address().port, AbortSignal.timeout(1000));
 */
export function connectRealTcp(ip: string, port: number, signal: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: ip, port, allowHalfOpen: true, noDelay: true });
    const cleanup = () => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onConnect = () => {
      cleanup();
      resolve(new RealTcpStream(socket));
    };
    // Settle only after the handle is closed, so a failed connect leaves nothing open.
    const fail = (reason: unknown) => {
      cleanup();
      socket.destroy();
      if (socket.closed) reject(reason);
      else socket.once('close', () => reject(reason));
    };
    const onError = (err: Error) => fail(toNetError(err, 'ECONNREFUSED'));
    const onAbort = () => fail(signal.reason);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The HTTP/1.1 server of http.test, port 80: one `HttpConnection` per virtual TCP connection.
 * Requests are answered strictly in order (pipelining allowed); keep-alive is honoured and
 * `Connection: close` (or an HTTP/1.0 request without keep-alive) closes after the response.
 * Bodies are streamed in 64 KiB chunks with backpressure, so /bytes/N never buffers N bytes.
 */
import type { Duplex } from 'node:stream';
import { type HttpParseEvent, HttpRequestParser } from '../http-parser.js';
import { NetError } from '../net-error.js';
import { errorResponse, formatHead, type HttpResponse, route } from './http-routes.js';
import type { TcpService } from './types.js';

// 64 KiB is a multiple of 256, so every chunk of the i & 0xff pattern starts at byte value 0.
const CHUNK = 64 * 1024;
/** Made on the first /bytes/N request: building it at import cost every emulator start ~5 ms. */
let pattern: Buffer | undefined;
function bytePattern(): Buffer {
  if (!pattern) {
    pattern = Buffer.allocUnsafe(CHUNK);
    for (let i = 0; i < CHUNK; i++) pattern[i] = i & 0xff;
  }
  return pattern;
}
/** Parsed requests waiting for their turn before we stop reading from a pipelining client. */
const MAX_QUEUED = 8;

/** Resolves once `stream` accepts writes again; rejects if it closes first. */
function drained(stream: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      stream.off('drain', onDrain);
      reject(new NetError('ECONNRESET', 'connection closed while sending'));
    };
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

async function send(stream: Duplex, chunk: Buffer): Promise<void> {
  if (stream.destroyed || stream.writableEnded) throw new NetError('ECONNRESET', 'connection closed while sending');
  if (!stream.write(chunk)) await drained(stream);
}

async function sendPattern(stream: Duplex, length: number): Promise<void> {
  for (let sent = 0; sent < length; sent += CHUNK) {
    const n = Math.min(CHUNK, length - sent);
    // A fresh buffer per chunk: whoever reads it owns it and may change it.
    const chunk = Buffer.allocUnsafe(n);
    bytePattern().copy(chunk, 0, 0, n);
    await send(stream, chunk);
  }
}

async function sendResponse(stream: Duplex, res: HttpResponse, keepAlive: boolean, headOnly: boolean): Promise<void> {
  await send(stream, formatHead(res, keepAlive));
  if (headOnly) return;
  if (res.body.kind === 'text') await send(stream, res.body.data);
  else await sendPattern(stream, res.body.length);
}

/** One server-side HTTP connection. */
class HttpConnection {
  private readonly parser = new HttpRequestParser();
  private readonly queue: HttpParseEvent[] = [];
  private peerEnded = false;
  private closing = false;
  private busy = false;

  constructor(private readonly conn: Duplex) {
    conn.on('error', () => {}); // a device reset; the 'close' that follows stops any response in progress
    conn.on('data', (chunk: Buffer) => this.onData(chunk));
    conn.on('end', () => {
      this.peerEnded = true;
      void this.pump();
    });
  }

  private onData(chunk: Buffer): void {
    // After our FIN we keep reading and discard, so the device's late bytes never cause a reset
    // that would destroy a response it has not read yet.
    if (this.closing) return;
    this.queue.push(...this.parser.feed(chunk));
    if (this.queue.length >= MAX_QUEUED) this.conn.pause();
    void this.pump();
  }

  /** Answers queued requests one at a time; only one pump runs per connection. */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closing && this.queue.length > 0) {
        const event = this.queue.shift()!;
        if (this.conn.isPaused() && this.queue.length < MAX_QUEUED / 2) this.conn.resume();
        if (!(await this.respond(event))) this.finish();
      }
      if (this.peerEnded && !this.closing) this.finish();
    } catch {
      this.conn.destroy();
    } finally {
      this.busy = false;
    }
  }

  /** Sends one response; returns whether the connection stays open. */
  private async respond(event: HttpParseEvent): Promise<boolean> {
    if (event.type === 'error') {
      await sendResponse(this.conn, errorResponse(event), false, false);
      return false;
    }
    const req = event.request;
    await sendResponse(this.conn, route(req), req.keepAlive, req.method === 'HEAD');
    return req.keepAlive;
  }

  private finish(): void {
    this.closing = true;
    this.queue.length = 0;
    this.conn.end();
    this.conn.resume();
  }
}

/**
 * The http.test service.
 *
 * @example new VirtualNetwork({ services: { tcp: { http: httpService } } })  // the default already
 */
export const httpService: TcpService = (conn) => {
  new HttpConnection(conn);
};

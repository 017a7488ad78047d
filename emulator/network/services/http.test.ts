import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../virtual-network.js';

const HTTP_TEST = '10.77.0.80';
const REF = Buffer.from(Uint8Array.from({ length: 65536 + 256 }, (_, i) => i & 0xff));

/** A minimal HTTP/1.1 response reader for tests: head, then a Content-Length body, streamed. */
class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(conn: Duplex) {
    conn.on('data', (c: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      this.wake?.();
    });
    conn.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  private async more(): Promise<void> {
    if (this.ended) throw new Error('connection ended');
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
  }

  async head(): Promise<{ status: number; headers: Map<string, string> }> {
    let end = this.buf.indexOf('\r\n\r\n');
    while (end < 0) {
      await this.more();
      end = this.buf.indexOf('\r\n\r\n');
    }
    const [statusLine = '', ...lines] = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    this.buf = this.buf.subarray(end + 4);
    const headers = new Map(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    return { status: Number(statusLine.split(' ')[1]), headers };
  }

  async body(length: number, onChunk: (chunk: Buffer) => void = () => {}): Promise<void> {
    for (let left = length; left > 0; ) {
      if (this.buf.length === 0) await this.more();
      const take = Math.min(left, this.buf.length);
      onChunk(this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      left -= take;
    }
  }

  async text(length: number): Promise<string> {
    const parts: Buffer[] = [];
    await this.body(length, (c) => parts.push(Buffer.from(c)));
    return Buffer.concat(parts).toString();
  }

  async closed(): Promise<boolean> {
    while (!this.ended && this.buf.length === 0) await this.more().catch(() => {});
    return this.ended && this.buf.length === 0;
  }
}

/** Checks a body against byte i = i & 0xff without holding it. */
function patternChecker() {
  let offset = 0;
  let ok = true;
  return {
    check(chunk: Buffer) {
      for (let p = 0; p < chunk.length; p += 65536) {
        const piece = chunk.subarray(p, p + 65536);
        const start = (offset + p) & 0xff;
        if (!piece.equals(REF.subarray(start, start + piece.length))) ok = false;
      }
      offset += chunk.length;
    },
    result: () => ({ ok, offset }),
  };
}

let network: VirtualNetwork;
afterEach(async () => {
  await network?.close();
});

async function open(): Promise<{ conn: Duplex; reader: ResponseReader }> {
  network = new VirtualNetwork();
  const conn = await network.connectTcp(HTTP_TEST, 80);
  return { conn, reader: new ResponseReader(conn) };
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: http.test\r\n${extra}\r\n`;

describe('http.test', () => {
  it('GET /bytes/100000 returns the i & 0xff pattern with correct headers', async () => {
    const { conn, reader } = await open();
    conn.write(get('/bytes/100000'));
    const { status, headers } = await reader.head();
    expect(status).toBe(200);
    expect(headers.get('content-length')).toBe('100000');
    expect(headers.get('content-type')).toBe('application/octet-stream');
    expect(headers.get('connection')).toBe('keep-alive');
    const checker = patternChecker();
    await reader.body(100000, (c) => checker.check(c));
    expect(checker.result()).toEqual({ ok: true, offset: 100000 });
  });

  it('keeps the connection alive across pipelined requests, in order', async () => {
    const { conn, reader } = await open();
    conn.write(get('/bytes/3') + get('/nope') + get('/'));
    const first = await reader.head();
    expect([...Buffer.from(await reader.text(3))]).toEqual([0, 1, 2]);
    const second = await reader.head();
    expect(second.status).toBe(404);
    await reader.text(Number(second.headers.get('content-length')));
    const third = await reader.head();
    expect(third.status).toBe(200);
    expect(await reader.text(Number(third.headers.get('content-length')))).toContain('netcoproc');
    expect(first.status).toBe(200);
  });

  it('Connection: close ends the connection after the response', async () => {
    const { conn, reader } = await open();
    conn.write(get('/bytes/10', 'Connection: close\r\n'));
    const { headers } = await reader.head();
    expect(headers.get('connection')).toBe('close');
    await reader.body(10);
    expect(await reader.closed()).toBe(true);
  });

  it('HEAD gives headers only; other methods get 405', async () => {
    const { conn, reader } = await open();
    conn.write(`HEAD /bytes/50 HTTP/1.1\r\nHost: http.test\r\n\r\nDELETE / HTTP/1.1\r\nHost: http.test\r\n\r\n`);
    const head = await reader.head();
    expect(head.headers.get('content-length')).toBe('50');
    const del = await reader.head();
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
  });

  it('a malformed request gets 400 and the connection closes', async () => {
    const { conn, reader } = await open();
    conn.write('BROKEN\r\n\r\n');
    const { status, headers } = await reader.head();
    expect(status).toBe(400);
    await reader.body(Number(headers.get('content-length')));
    expect(await reader.closed()).toBe(true);
  });

  it('the device FIN after its last request ends the connection once answered', async () => {
    const { conn, reader } = await open();
    conn.end(get('/bytes/5'));
    await reader.head();
    await reader.body(5);
    expect(await reader.closed()).toBe(true);
  });

  it('streams GET /bytes/104857600 (100 MiB) with backpressure instead of buffering it', async () => {
    const { conn, reader } = await open();
    conn.write(get('/bytes/104857600'));
    await reader.head();
    // While nobody reads, the service can run only a bounded distance ahead.
    conn.pause();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(conn.readableLength).toBeLessThan(256 * 1024);
    conn.resume();
    const checker = patternChecker();
    await reader.body(104857600, (c) => checker.check(c));
    expect(checker.result()).toEqual({ ok: true, offset: 104857600 });
  });
});

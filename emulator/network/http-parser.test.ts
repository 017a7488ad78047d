import { describe, expect, it } from 'vitest';
import { type HttpParseEvent, HttpRequestParser } from './http-parser.js';

const enc = (s: string) => Buffer.from(s, 'latin1');

function feedAll(parser: HttpRequestParser, chunks: Uint8Array[]): HttpParseEvent[] {
  return chunks.flatMap((c) => parser.feed(c));
}

function requests(events: HttpParseEvent[]) {
  return events.map((e) => {
    if (e.type !== 'request') throw new Error(`unexpected ${e.type} ${e.status} ${e.reason}`);
    return e.request;
  });
}

const TWO =
  'GET /bytes/3?x=1 HTTP/1.1\r\nHost: http.test\r\nX-Thing:  a \r\nX-Thing: b\r\n\r\n' +
  'POST /upload HTTP/1.1\r\nHost: http.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';

describe('HttpRequestParser', () => {
  it('parses pipelined requests with headers and a body', () => {
    const [first, second] = requests(new HttpRequestParser().feed(enc(TWO)));
    expect(first).toMatchObject({ method: 'GET', target: '/bytes/3?x=1', version: '1.1', keepAlive: true });
    expect(first!.headers.get('x-thing')).toBe('a, b');
    expect(first!.body.length).toBe(0);
    expect(second).toMatchObject({ method: 'POST', target: '/upload', keepAlive: false });
    expect(Buffer.from(second!.body).toString()).toBe('hello');
  });

  it('gives the same result fed one byte at a time', () => {
    const bytes = enc(TWO);
    const parser = new HttpRequestParser();
    const events: HttpParseEvent[] = [];
    for (let i = 0; i < bytes.length; i++) {
      events.push(...parser.feed(bytes.subarray(i, i + 1)));
      // Nothing completes before the last byte of each request.
      if (i < bytes.indexOf('\r\n\r\n') + 3) expect(events).toHaveLength(0);
    }
    expect(requests(events).map((r) => r.target)).toEqual(['/bytes/3?x=1', '/upload']);
    expect(parser.idle).toBe(true);
  });

  it('gives the same result split at every position', () => {
    const bytes = enc(TWO);
    const whole = JSON.stringify(requests(new HttpRequestParser().feed(bytes)), (_k, v) =>
      v instanceof Map ? [...v] : v,
    );
    for (let cut = 1; cut < bytes.length; cut++) {
      const events = feedAll(new HttpRequestParser(), [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(JSON.stringify(requests(events), (_k, v) => (v instanceof Map ? [...v] : v))).toBe(whole);
    }
  });

  it('does not depend on the caller keeping its chunks unchanged', () => {
    const parser = new HttpRequestParser();
    const chunk = enc('GET /a HTTP/1.1\r\nHo');
    parser.feed(chunk);
    chunk.fill(0x41);
    const [req] = requests(parser.feed(enc('st: h\r\n\r\n')));
    expect(req!.target).toBe('/a');
  });

  it('ignores empty lines before a request', () => {
    const [req] = requests(new HttpRequestParser().feed(enc('\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n')));
    expect(req!.target).toBe('/');
  });

  it('applies HTTP/1.0 and HTTP/1.1 keep-alive defaults', () => {
    const keep = (s: string) => requests(new HttpRequestParser().feed(enc(s)))[0]!.keepAlive;
    expect(keep('GET / HTTP/1.0\r\n\r\n')).toBe(false);
    expect(keep('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')).toBe(true);
    expect(keep('GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close\r\n\r\n')).toBe(false);
  });

  it.each([
    ['garbage\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\n\r\n', 400], // no Host
    ['GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: h\r\nbad header\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n', 413],
    ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n', 501],
    ['GET / HTTP/2.0\r\n\r\n', 505],
  ])('rejects %j with %i and then ignores input', (text, status) => {
    const parser = new HttpRequestParser();
    expect(parser.feed(enc(text))).toEqual([expect.objectContaining({ type: 'error', status })]);
    expect(parser.feed(enc('GET / HTTP/1.1\r\nHost: h\r\n\r\n'))).toEqual([]);
  });

  it('rejects an endless header block with 431 before it ends', () => {
    const parser = new HttpRequestParser();
    const events = feedAll(parser, [enc('GET / HTTP/1.1\r\n'), enc(`X: ${'a'.repeat(9000)}`)]);
    expect(events).toEqual([expect.objectContaining({ type: 'error', status: 431 })]);
  });
});

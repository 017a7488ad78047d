import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { duplexPair } from './duplex-pair.js';
import { NetError } from './net-error.js';

function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function nextError(stream: Duplex): Promise<Error> {
  return new Promise((resolve) => stream.once('error', resolve));
}

describe('duplexPair', () => {
  it('carries bytes both ways and passes chunks through unchanged', async () => {
    const [a, b] = duplexPair();
    const chunk = Buffer.from([0, 1, 2, 255]);
    const got = new Promise<Buffer>((resolve) => b.once('data', resolve));
    a.write(chunk);
    expect(await got).toBe(chunk);
    const back = new Promise<Buffer>((resolve) => a.once('data', resolve));
    b.write('pong');
    expect((await back).toString()).toBe('pong');
  });

  it('applies backpressure while the reader does not read, then drains', async () => {
    const [a, b] = duplexPair({ highWaterMark: 1024 });
    let accepted = 0;
    while (a.write(Buffer.alloc(256))) accepted += 256;
    // Peer's readable (1 KiB) plus our writable (1 KiB) hold at most ~2 KiB before write() says stop.
    expect(accepted).toBeLessThanOrEqual(2048);
    const drained = new Promise((resolve) => a.once('drain', resolve));
    const received = readAll(b);
    await drained;
    a.end();
    expect((await received).length).toBe(accepted + 256);
  });

  it('half-closes: end() gives the peer all data then end, and the peer can still write', async () => {
    const [a, b] = duplexPair({ highWaterMark: 64 });
    const payload = Buffer.alloc(10_000, 7);
    a.end(payload);
    expect(await readAll(b)).toEqual(payload);
    const back = readAll(a);
    b.end('after-fin');
    expect((await back).toString()).toBe('after-fin');
  });

  it('destroy(err) resets the peer with ECONNRESET', async () => {
    const [a, b] = duplexPair();
    a.on('error', () => {});
    const err = nextError(b);
    a.destroy(new Error('boom'));
    expect(await err).toMatchObject({ code: 'ECONNRESET' });
    expect(await err).toBeInstanceOf(NetError);
  });

  it('destroy() before our FIN is a reset too', async () => {
    const [a, b] = duplexPair();
    const err = nextError(b);
    a.destroy();
    expect(await err).toMatchObject({ code: 'ECONNRESET' });
  });

  it('destroy() after a clean FIN is a close: the peer reads to the end, its later writes are reset', async () => {
    const [a, b] = duplexPair();
    a.end('bye');
    await new Promise((resolve) => a.once('finish', resolve));
    a.destroy();
    expect((await readAll(b)).toString()).toBe('bye');
    const err = nextError(b);
    b.write('late');
    expect(await err).toMatchObject({ code: 'ECONNRESET' });
  });

  it('destroy() with unread incoming data resets the peer (no silent loss)', async () => {
    const [a, b] = duplexPair();
    a.end();
    await new Promise((resolve) => a.once('finish', resolve));
    b.write('never read');
    const err = nextError(b);
    a.destroy();
    expect(await err).toMatchObject({ code: 'ECONNRESET' });
  });
});

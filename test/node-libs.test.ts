/**
 * Real third-party clients through the board, with only their documented socket options:
 * node:http / node:https with dev.http.Agent / dev.https.Agent (keep-alive reuse asserted),
 * dev.fetch (undici) over http and https with the fixture CA, node:tls via dev.tls, ws as a
 * client (createConnection) and a ws server on a device-side listener reached from Node
 * (http.Server's documented 'connection' injection). Over SLIP and over ESP-AT, in-process.
 */
import { type Agent as HttpAgent, get as httpGet, createServer as httpServer, type IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { openTarget, PROTOCOLS, type Target } from './helpers/node-targets.js';
import { allBytes } from './helpers/patterns.js';

type Get = typeof httpGet;

/** GET with an agent; resolves with the body and whether the socket was reused. */
function fetchWith(get: Get, opts: RequestOptions): Promise<{ body: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = get(opts as never, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ body: Buffer.concat(parts), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
  });
}

async function threeGets(get: Get, agent: HttpAgent, host: string, port: number): Promise<boolean[]> {
  const reused: boolean[] = [];
  for (const n of [1000, 70_000, 10]) {
    const r = await fetchWith(get, { agent, host, port, path: `/bytes/${n}` });
    expect(r.body.equals(allBytes(n)), `GET /bytes/${n}`).toBe(true);
    reused.push(r.reused);
  }
  return reused;
}

describe.each(PROTOCOLS)('Node libraries through the board over %s', (protocol) => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(protocol);
  });
  afterAll(async () => t?.close());

  it('node:http with dev.http.Agent({ keepAlive: true }) reuses one board socket', async () => {
    const agent = new t.dev.http.Agent({ keepAlive: true });
    expect(await threeGets(httpGet, agent, 'http.test', 80)).toEqual([false, true, true]);
    agent.destroy();
  });

  it('node:https with dev.https.Agent (fixture CA) reuses one board socket', async () => {
    const agent = new t.dev.https.Agent({ keepAlive: true, ca: t.ca });
    expect(await threeGets(httpsGet as Get, agent, 'tls.test', 443)).toEqual([false, true, true]);
    agent.destroy();
  });

  it('dev.https.Agent rejects a server the CA does not vouch for', async () => {
    const agent = new t.dev.https.Agent({ ca: t.ca });
    const err = await fetchWith(httpsGet as Get, { agent, host: 'wrong-host.test', path: '/' }).catch((e) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('dev.fetch over http and https (fixture CA); dev.dispatcher with undici', async () => {
    const plain = await t.dev.fetch('http://http.test/bytes/100000');
    expect(plain.status).toBe(200);
    expect(Buffer.from(await plain.arrayBuffer()).equals(allBytes(100_000))).toBe(true);
    const secure = await t.dev.fetch('https://tls.test/bytes/3000', { ca: t.ca });
    expect(Buffer.from(await secure.arrayBuffer()).equals(allBytes(3000))).toBe(true);
    const { request } = await import('undici');
    const r = await request('http://http.test/bytes/10', { dispatcher: t.dev.dispatcher });
    expect(Buffer.from(await r.body.arrayBuffer()).equals(allBytes(10))).toBe(true);
    const bad = await t.dev.fetch('https://tls.test/bytes/1').catch((e: Error) => e);
    expect(bad).toBeInstanceOf(Error);
    expect(((bad as Error).cause as NodeJS.ErrnoException).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('node:tls through dev.tls.connect: HTTP/1.0 over TLS to tls.test', async () => {
    const s = t.dev.tls.connect({ host: 'tls.test', port: 443, ca: t.ca });
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', resolve);
      s.once('error', reject);
    });
    expect(s.authorized).toBe(true);
    s.end('GET /bytes/500 HTTP/1.0\r\nHost: tls.test\r\n\r\n');
    const parts: Buffer[] = [];
    for await (const d of s) parts.push(d as Buffer);
    const raw = Buffer.concat(parts);
    expect(raw.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK');
    expect(raw.subarray(raw.indexOf('\r\n\r\n') + 4).equals(allBytes(500))).toBe(true);
  });

  it('ws client with createConnection: dev.net.createConnection (echo of 50 messages)', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (c) => c.on('message', (m, binary) => c.send(m, { binary })));
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, {
        createConnection: t.dev.net.createConnection as never,
      });
      const got = await echoMany(ws, 50);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      ws.close();
    } finally {
      await new Promise((r) => wss.close(r));
    }
  });

  it('ws server on a device-side listener (dev.net.createServer), reached from Node', async () => {
    const http = httpServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (c) => c.on('message', (m) => c.send(`echo:${m}`)));
    const srv = t.dev.net.createServer((conn) => http.emit('connection', conn));
    await new Promise<void>((r) => srv.listen(8080, r));
    expect(srv.address()).toMatchObject({ port: 8080, family: 'IPv4' });
    const port = await t.forwardOf(8080, srv.forwardPort);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const got = await echoMany(ws, 20);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `echo:m${i}`));
    ws.close();
    await new Promise((r) => ws.once('close', r));
    await new Promise<void>((r) => srv.close(() => r()));
    wss.close();
  });
});

/** Sends m0..m{n-1} one at a time and collects the answers. */
async function echoMany(ws: WebSocket, n: number): Promise<string[]> {
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const got: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer = new Promise<string>((r) => ws.once('message', (m) => r(m.toString())));
    ws.send(`m${i}`);
    got.push(await answer);
  }
  return got;
}

/**
 * The Node-native modules against `netcoproc emulate` as a real child process over socket://,
 * the way a user runs it, for SLIP and ESP-AT: the fixture CA comes from `--ca-out FILE` (an
 * ESP-AT host has no file store to read it from), then https through dev.https.Agent and
 * dev.fetch, MQTT through mqtt.js, and a device-side server reached through the forward the
 * emulator prints.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet, createServer as httpServer } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer, connect as nodeConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { type Device, type Driver, openDevice } from '../index.js';
import { allBytes } from './helpers/patterns.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

let broker: Aedes;
let server: Server;
let brokerPort: number;
const dir = mkdtempSync(join(tmpdir(), 'netcoproc-node-'));

beforeAll(async () => {
  broker = await Aedes.createBroker();
  server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  brokerPort = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => broker.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Waits (with a deadline) for a file the emulator writes in the background. */
async function readWhenThere(file: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} was not written in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return readFileSync(file, 'utf8');
}

describe.each(['slip', 'at'] as const)('dev.net & co. against `netcoproc emulate --protocol %s`', (protocol) => {
  let emu: SpawnedEmulator;
  let dev: Device<Driver>;
  let ca: string;
  beforeAll(async () => {
    const caFile = join(dir, `ca-${protocol}.pem`);
    emu = await spawnEmulator(['--protocol', protocol, '--ca-out', caFile]);
    ca = await readWhenThere(caFile);
    dev = (await openDevice(emu.url as string, { protocol })) as Device<Driver>;
  });
  afterAll(async () => {
    await dev?.close();
    await emu?.stop();
  });

  it('--ca-out gives the CA: https via dev.https.Agent (keep-alive) and dev.fetch', async () => {
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const agent = new dev.https.Agent({ keepAlive: true, ca });
    const reused: boolean[] = [];
    for (let i = 0; i < 2; i++) {
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = httpsGet({ agent, host: 'tls.test', path: '/bytes/20000' }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
        });
        req.on('error', reject);
        req.on('socket', () => reused.push(req.reusedSocket));
      });
      expect(body.equals(allBytes(20_000))).toBe(true);
    }
    expect(reused).toEqual([false, true]);
    agent.destroy();
    const res = await dev.fetch('https://tls.test/bytes/65536', { ca });
    expect(Buffer.from(await res.arrayBuffer()).equals(allBytes(65_536))).toBe(true);
  });

  it('node:http via dev.http.Agent (keep-alive), node:tls via dev.tls', async () => {
    const agent = new dev.http.Agent({ keepAlive: true });
    const reused: boolean[] = [];
    for (const n of [3000, 40]) {
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = httpGet({ agent, host: 'http.test', path: `/bytes/${n}` }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
        });
        req.on('error', reject);
        req.on('socket', () => reused.push(req.reusedSocket));
      });
      expect(body.equals(allBytes(n))).toBe(true);
    }
    expect(reused).toEqual([false, true]);
    agent.destroy();
    const t = dev.tls.connect({ host: 'tls.test', port: 443, ca }, () =>
      t.end('GET /bytes/700 HTTP/1.0\r\nHost: tls.test\r\n\r\n'),
    );
    const parts: Buffer[] = [];
    for await (const d of t) parts.push(d as Buffer);
    const raw = Buffer.concat(parts);
    expect(t.authorized).toBe(true);
    expect(raw.subarray(raw.indexOf('\r\n\r\n') + 4).equals(allBytes(700))).toBe(true);
  });

  it('ws: a client through createConnection, and a ws server on the board reached from Node', async () => {
    const local = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => local.once('listening', r));
    local.on('connection', (c) => c.on('message', (m) => c.send(`local:${m}`)));
    const web = httpServer();
    const board = new WebSocketServer({ server: web });
    board.on('connection', (c) => c.on('message', (m) => c.send(`board:${m}`)));
    const srv = dev.net.createServer((conn) => web.emit('connection', conn));
    await new Promise<void>((r) => srv.listen(8081, r));
    try {
      const a = new WebSocket(`ws://127.0.0.1:${(local.address() as { port: number }).port}/`, {
        createConnection: dev.net.createConnection as never,
      });
      expect(await oneEcho(a, 'x')).toBe('local:x');
      a.close();
      const b = new WebSocket(`ws://127.0.0.1:${await forwardFor(8081, srv.forwardPort)}/`);
      expect(await oneEcho(b, 'y')).toBe('board:y');
      b.close();
      await new Promise((r) => b.once('close', r));
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
      board.close();
      await new Promise((r) => local.close(r));
    }
  });

  /** SLIP: LISTEN answers the forward; ESP-AT: the emulator prints `forward tcp IP:PORT -> 127.0.0.1:N`. */
  async function forwardFor(port: number, reported: number): Promise<number> {
    let found = reported;
    const deadline = Date.now() + 5000;
    const re = new RegExp(`forward tcp \\S+:${port} -> 127\\.0\\.0\\.1:(\\d+)`);
    while (!found && Date.now() < deadline) {
      found = Number(re.exec(emu.stdout())?.[1] ?? 0);
      if (!found) await new Promise((r) => setTimeout(r, 20));
    }
    expect(found, `forward of device port ${port}`).toBeGreaterThan(0);
    return found;
  }

  it('mqtt.js: 200 QoS 1 messages through the board to a broker on 127.0.0.1', { timeout: 40_000 }, async () => {
    const peer = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: `p-${protocol}` });
    const board = new mqtt.Client(() => dev.net.connect(brokerPort, '127.0.0.1'), { clientId: `b-${protocol}` });
    try {
      await new Promise((r) => board.once('connect', r));
      await peer.subscribeAsync(`t/${protocol}`, { qos: 1 });
      let got = 0;
      const all = new Promise<void>((r) =>
        peer.on('message', () => {
          if (++got === 200) r();
        }),
      );
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => board.publishAsync(`t/${protocol}`, `m${i}`, { qos: 1 })),
      );
      await all;
      expect(got).toBe(200);
    } finally {
      await board.endAsync(true);
      await peer.endAsync(true);
    }
  });

  it('a dev.net server is reached through the forward the emulator reports', async () => {
    const srv = dev.net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => srv.listen(7007, r));
    const port = await forwardFor(7007, srv.forwardPort);
    const c = nodeConnect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    c.on('data', (d: Buffer) => {
      parts.push(d);
      if (Buffer.concat(parts).length >= 5000) c.end();
    });
    c.write(allBytes(5000));
    await new Promise((r) => c.once('close', r));
    expect(Buffer.concat(parts).equals(allBytes(5000))).toBe(true);
    await new Promise<void>((r) => srv.close(() => r()));
  });
});

/** Sends one message and waits for the answer. */
async function oneEcho(ws: WebSocket, text: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const answer = new Promise<string>((r) => ws.once('message', (m) => r(m.toString())));
  ws.send(text);
  return answer;
}

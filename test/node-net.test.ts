/**
 * dev.net against Node's own net: the same scripts (helpers/net-scripts.ts) run with
 * `net.connect` and with `dev.net.connect` against one loopback server, and the recorded event
 * sequences and socket surface must be equal; over SLIP and over ESP-AT, whose one documented
 * difference (no half-close: end() sends no FIN while the socket reads) is checked as such.
 * Also: the MicroPython agent (under CPython) half-closes too, and dev.net servers.
 */
import { spawn } from 'node:child_process';
import { createServer, connect as nodeConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAP } from '../firmware-protocol/index.js';
import { type NetSocket, openDevice } from '../index.js';
import {
  type Connect,
  clientEnds,
  destroyWithError,
  idleTimeout,
  loopbackServer,
  peerEnds,
  refused,
  serverSide,
} from './helpers/net-scripts.js';
import { openTarget, PROTOCOLS, type Target } from './helpers/node-targets.js';
import { CLI } from './helpers/spawn-emulator.js';

const viaNode: Connect = (port, host) => nodeConnect(port, host);

/** A loopback port with no listener. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const servers: Awaited<ReturnType<typeof loopbackServer>>[] = [];
let talker: Awaited<ReturnType<typeof loopbackServer>>;
let answerer: Awaited<ReturnType<typeof loopbackServer>>;
let silent: Awaited<ReturnType<typeof loopbackServer>>;
let answererSawEnd: boolean[] = [];

beforeAll(async () => {
  talker = await loopbackServer((c) => {
    c.write('hello');
    c.on('data', (d) => {
      if (d.toString().includes('bye')) c.end();
    });
  });
  answerer = await loopbackServer((c) => {
    c.on('data', () => {});
    c.on('end', () => {
      answererSawEnd.push(true);
      c.end('ok');
    });
  });
  silent = await loopbackServer(() => {});
  servers.push(talker, answerer, silent);
});
afterAll(async () => {
  for (const s of servers) await s.close();
});

describe.each(PROTOCOLS)('dev.net over %s behaves as Node net', (protocol) => {
  let t: Target;
  let viaDev: Connect;
  beforeAll(async () => {
    t = await openTarget(protocol);
    viaDev = (port, host) => t.dev.net.connect(port, host);
  });
  afterAll(async () => t?.close());

  it('the peer ends: connect, ready, data, end, finish, close(false); surface at each step', async () => {
    const want = await peerEnds(viaNode, talker.port);
    expect(await peerEnds(viaDev, talker.port)).toEqual(want);
    expect(want).toContain(
      'start connecting=true pending=true readyState=opening remote=undefined:undefined/undefined',
    );
  });

  it('refused: error ECONNREFUSED (errno -111, syscall connect), close(true)', async () => {
    const port = await closedPort();
    const want = await refused(viaNode, port);
    expect(want).toContain('error:ECONNREFUSED:-111:connect');
    expect(await refused(viaDev, port)).toEqual(want);
  });

  it("setTimeout fires 'timeout' on an idle socket, which stays open until destroyed", async () => {
    const want = await idleTimeout(viaNode, silent.port);
    expect(want).toEqual(['connect', 'ready', 'timeout', 'close:false']);
    expect(await idleTimeout(viaDev, silent.port)).toEqual(want);
  });

  it("destroy(err): 'error' then close(true)", async () => {
    const want = await destroyWithError(viaNode, silent.port);
    expect(await destroyWithError(viaDev, silent.port)).toEqual(want);
  });

  it('server side: a dev.net server connection records what a node:net one does', async () => {
    const node = createServer({ allowHalfOpen: false });
    const want = await serverSide(node as never, 0, async () => (node.address() as { port: number }).port);
    expect(want.slice(0, 4)).toEqual(['data', 'end', 'finish', 'close:false']);
    const srv = t.dev.net.createServer();
    const got = await serverSide(srv as never, 9010, () => t.forwardOf(9010, srv.forwardPort));
    if (protocol === 'slip') expect(got).toEqual(want);
    else {
      // ESP-AT closes the whole link on the peer's FIN (`<id>,CLOSED`): an answer after it fails
      // loudly with EPIPE instead of reaching the peer (docs/node.md).
      expect(got).toEqual([
        'data',
        'end',
        'error:EPIPE:-32:write',
        'close:true',
        'accepted connecting=false pending=false readyState=open',
        'got=hi answer=',
        'bytesRead=2 bytesWritten=0',
      ]);
    }
  });

  it('the error on a name the board cannot resolve is ENOTFOUND', async () => {
    const s = t.dev.net.connect(80, 'no-such-host.test');
    const err = await new Promise<NodeJS.ErrnoException>((r) => s.once('error', r));
    expect(err.code).toBe('ENOTFOUND');
    expect(err.syscall).toBe('getaddrinfo');
  });
});

describe('half-close', () => {
  it('SLIP: end() sends FIN (SHUTDOWN) and the answer after it still arrives, exactly as Node', async () => {
    const t = await openTarget('slip');
    try {
      const want = await clientEnds(viaNode, answerer.port);
      expect(want).toEqual([
        'connect',
        'ready',
        'finish',
        'data',
        'end',
        'close:false',
        'text=ok',
        'bytesRead=2 bytesWritten=3',
      ]);
      expect(await clientEnds((p, h) => t.dev.net.connect(p, h), answerer.port)).toEqual(want);
    } finally {
      await t.close();
    }
  });

  it('ESP-AT: end() cannot half-close; the FIN goes with destroy(), and the socket reads until then', async () => {
    const t = await openTarget('at');
    try {
      answererSawEnd = [];
      const sock = t.dev.net.connect(answerer.port, '127.0.0.1') as NetSocket;
      await new Promise((r) => sock.once('connect', r));
      sock.end('bye');
      await new Promise((r) => sock.once('finish', r));
      expect(sock.isHalfClosed).toBe(false);
      await new Promise((r) => setTimeout(r, 300));
      expect(answererSawEnd, 'the peer saw no FIN while the socket is open').toEqual([]);
      sock.destroy();
      await new Promise((r) => sock.once('close', r));
      const deadline = Date.now() + 3000;
      while (answererSawEnd.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(answererSawEnd).toEqual([true]);
    } finally {
      await t.close();
    }
  });
});

describe('half-close with the MicroPython agent (CPython, `netcoproc agent` child process)', () => {
  it('announces SHUTDOWN, and end() gives the same record as Node', async () => {
    const proc = spawn(process.execPath, [CLI, 'agent', '--listen', 'tcp://127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`agent not ready: ${out}`)), 15_000);
        proc.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening (socket:\/\/\S+)/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const dev = await openDevice(url);
      try {
        expect(dev.driver.session.capabilities & CAP.shutdown).toBe(CAP.shutdown);
        const want = await clientEnds(viaNode, answerer.port);
        expect(await clientEnds((p, h) => dev.net.connect(p, h), answerer.port)).toEqual(want);
      } finally {
        await dev.close();
      }
    } finally {
      proc.kill('SIGTERM');
    }
  });
});

describe.each(PROTOCOLS)('more of the net surface over %s', (protocol) => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(protocol);
  });
  afterAll(async () => t?.close());

  it("new dev.net.Socket().connect(): 'lookup' for a name, writes made while connecting are sent", async () => {
    const s = new t.dev.net.Socket();
    const events: string[] = [];
    for (const e of ['lookup', 'connect', 'ready']) s.on(e, () => events.push(e));
    s.connect({ port: 7, host: 'echo.test' });
    s.write('written before the connect');
    expect(s.pending).toBe(true);
    const echoed = await new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString())));
    expect(echoed).toBe('written before the connect');
    expect(events).toEqual(['lookup', 'connect', 'ready']);
    expect(s.remotePort).toBe(7);
    s.destroy();
    await new Promise((r) => s.once('close', r));
  });

  it("createConnection({ timeout }, listener): the listener on 'connect', then 'timeout' while idle", async () => {
    let connected = false;
    const s = t.dev.net.createConnection({ host: '127.0.0.1', port: silent.port, timeout: 200 }, () => {
      connected = true;
    });
    expect(s.timeout).toBe(200);
    await new Promise((r) => s.once('timeout', r));
    expect(connected).toBe(true);
    expect(s.destroyed).toBe(false);
    s.setTimeout(0);
    expect(s.timeout).toBeUndefined();
    s.destroy();
  });

  it("a dev.net server: 'listening', 'connection', getConnections, 'close' once its last connection ended", async () => {
    const srv = t.dev.net.createServer((c) => c.end('bye'));
    const events: string[] = [];
    srv.on('listening', () => events.push('listening'));
    srv.on('connection', () => events.push('connection'));
    await new Promise<void>((r) => srv.listen(9009, r));
    expect(srv.listening).toBe(true);
    const port = await t.forwardOf(9009, srv.forwardPort);
    const c = nodeConnect(port, '127.0.0.1');
    // The client ends once it has the answer (over ESP-AT the server's end() sends no FIN by itself).
    c.on('data', () => c.end());
    const count = await new Promise<number>((r) => srv.once('connection', () => srv.getConnections((_e, n) => r(n))));
    expect(count).toBe(1);
    const closed = new Promise((r) => srv.once('close', r));
    srv.close();
    await new Promise((r) => c.once('close', r));
    await closed;
    expect(events).toEqual(['listening', 'connection']);
    expect(srv.listening).toBe(false);
  });
});

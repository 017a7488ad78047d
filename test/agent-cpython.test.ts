/**
 * The MicroPython device agent (firmware-protocol/micropython/agent.py) run under CPython as a
 * real child process — `netcoproc agent`, the way a user runs it — and driven by host-lib over a
 * real pty (serialport) and over socket://. One agent serves both attachment points
 * (`--pty --listen`), as `netcoproc emulate` does; each suite opens its own session. The agent
 * makes REAL OS socket calls, so every peer is a loopback server this test runs: a TCP echo, a
 * UDP echo, a closed port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeWire,
  type Message,
  MessageDecoder,
  type RequestBody,
  type RequestOp,
} from '../firmware-protocol/index.js';
import { type Device, OSError, openDevice } from '../index.js';
import { allBytes, echoThrough, recvExactly } from './helpers/patterns.js';
import { CLI } from './helpers/spawn-emulator.js';

const AGENT_DIR = fileURLToPath(new URL('../firmware-protocol/micropython/', import.meta.url));

interface SpawnedAgent {
  url?: string;
  pty?: string;
  stop(): Promise<number | null>;
}

/** Runs `netcoproc agent ARGS` and waits (with a deadline) for its attachment lines. */
async function spawnAgent(args: string[], timeoutMs = 15_000): Promise<SpawnedAgent> {
  const proc: ChildProcess = spawn(process.execPath, [CLI, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const agent: SpawnedAgent = {
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', (code) => {
          clearTimeout(killer);
          resolve(code);
        });
        proc.kill('SIGTERM');
      }),
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent not ready in ${timeoutMs} ms: ${out} ${err}`)), timeoutMs);
    proc.once('exit', (code) => reject(new Error(`agent exited (${code}): ${err}`)));
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      agent.url = /listening (socket:\/\/\S+)/.exec(out)?.[1];
      agent.pty = /^pty (\S+)/m.exec(out)?.[1];
      if ((!args.includes('--pty') || agent.pty) && (!args.includes('--listen') || agent.url)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return agent;
}

async function raises(p: Promise<unknown>, errno: number): Promise<OSError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OSError);
  expect((err as OSError).errno).toBe(errno);
  return err as OSError;
}

const listening = (srv: Server): Promise<number> =>
  new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port)));

/** A loopback port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  const port = await listening(srv);
  await new Promise((r) => srv.close(r));
  return port;
}

let agent: SpawnedAgent;
let tcpEcho: Server;
let tcpPort: number;
let udpEcho: UdpSocket;
let udpPort: number;

beforeAll(async () => {
  tcpEcho = createServer((c) => {
    c.on('error', () => undefined);
    c.pipe(c);
  });
  tcpPort = await listening(tcpEcho);
  udpEcho = createSocket('udp4');
  udpEcho.on('message', (msg, rinfo) => udpEcho.send(msg, rinfo.port, rinfo.address));
  udpPort = await new Promise((resolve) => udpEcho.bind(0, '127.0.0.1', () => resolve(udpEcho.address().port)));
  agent = await spawnAgent(['--pty', '--listen', 'tcp://127.0.0.1:0']);
});

afterAll(async () => {
  expect(await agent?.stop()).toBe(0); // SIGTERM: a clean exit
  await new Promise((r) => tcpEcho.close(r));
  udpEcho.close();
});

describe.each([
  ['a real pty via serialport', (a: SpawnedAgent) => a.pty as string],
  ['socket://', (a: SpawnedAgent) => a.url as string],
])('the CPython agent over %s', (_name, locator) => {
  let dev: Device;
  beforeAll(async () => {
    dev = await openDevice(locator(agent), { baudRate: 921600 });
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('announces its profile, and a boot nonce of 8 random bytes', () => {
    const info = dev.driver.session;
    expect(info.profile).toBe('cpython');
    expect(info.errnoBase).toBe('linux');
    expect(info.maxSockets).toBe(8);
    expect(info.bootNonce).toMatch(/^[0-9a-f]{16}$/);
    expect(info.bootNonce).not.toBe('0000000000000000');
  });

  it('echoes 256 KiB of every byte value through a loopback TCP echo server, intact', async () => {
    const { socket } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    s.settimeout(10);
    await s.connect(['127.0.0.1', tcpPort]);
    const data = allBytes(256 * 1024);
    const back = await echoThrough(s, data);
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    await s.close();
  });

  it('round-trips a UDP datagram of every byte value through a loopback echo', async () => {
    const { socket } = dev;
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    u.settimeout(5);
    const payload = allBytes(600);
    expect(await u.sendto(payload, ['127.0.0.1', udpPort])).toBe(600);
    const [data, from] = await u.recvfrom(2048);
    expect(Buffer.from(data).equals(payload)).toBe(true);
    expect(from).toEqual(['127.0.0.1', udpPort]);
    await u.close();
  });

  it('connect to a closed loopback port raises ECONNREFUSED', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    s.settimeout(5);
    await raises(s.connect(['127.0.0.1', await closedPort()]), errno.ECONNREFUSED);
    await s.close();
  });

  it('recv on a non-blocking socket with nothing ready raises EAGAIN', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect(['127.0.0.1', tcpPort]);
    s.setblocking(false);
    await raises(s.recv(10), errno.EAGAIN);
    await s.close();
  });

  it('a peer that closes gives its last bytes, then EOF (empty recv)', async () => {
    const bye = createServer((c) => c.end('bye'));
    const port = await listening(bye);
    const { socket } = dev;
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect(['127.0.0.1', port]);
    expect(Buffer.from(await recvExactly(s, 3)).toString()).toBe('bye');
    expect((await s.recv(10)).length).toBe(0);
    await s.close();
    await new Promise((r) => bye.close(r));
  });

  it('the 9th socket raises ENFILE at once, and a freed id is reused', async () => {
    const { socket, errno } = dev;
    const socks = [];
    for (let i = 0; i < 8; i++) socks.push(await socket.socket());
    const err = await raises(socket.socket(), errno.ENFILE);
    expect(err.message).toMatch(/socket table full \(8 sockets\)/);
    await socks[3]!.close();
    socks[3] = await socket.socket();
    for (const s of socks) await s.close();
  });

  it("getaddrinfo('localhost') answers one IPv4 MicroPython 5-tuple", async () => {
    const { socket } = dev;
    expect(await socket.getaddrinfo('localhost', 7)).toEqual([
      [socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', ['127.0.0.1', 7]],
    ]);
  });

  it('operations on a closed socket raise EBADF', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect(['127.0.0.1', tcpPort]);
    await s.close();
    await raises(s.recv(1), errno.EBADF);
    await raises(s.send('x'), errno.EBADF);
  });

  it('a device-side listener accepts a loopback client (bind, listen, accept)', async () => {
    const { socket } = dev;
    const port = await closedPort();
    const l = await socket.socket();
    l.settimeout(5);
    await l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1);
    await l.setsockopt(socket.SOL_SOCKET, 0x7777, 1); // unknown option: accepted, as on MicroPython
    await l.bind(['127.0.0.1', port]);
    expect(await l.listen(1)).toBe(0);
    const client = connect(port, '127.0.0.1');
    const [c, peer] = await l.accept();
    expect(peer[0]).toBe('127.0.0.1');
    c.settimeout(5);
    client.write('hi device');
    expect(Buffer.from(await recvExactly(c, 9)).toString()).toBe('hi device');
    await c.close();
    await l.close();
    client.destroy();
  });
});

type Req = { [N in RequestOp]: { op: N; body: RequestBody<N> } }[RequestOp];
const req = (seq: number, m: Req): Uint8Array => encodeWire({ kind: 'request', seq, ...m } as Message);

describe('the board I/O layer (ncp_board.run_stdio), with CPython standing in for an ESP32', () => {
  it('serves frames read byte by byte from stdin and written to stdout.buffer', async () => {
    // CPython has no \`micropython\` module: a stand-in whose kbd_intr does nothing. Its
    // sys.stdin.buffer reads ahead into a private buffer (poll would not see those bytes);
    // MicroPython's does not, so stdin is swapped for the raw, unbuffered fd.
    const script = `import io, sys, types
sys.modules['micropython'] = types.SimpleNamespace(kbd_intr=lambda c: None)
sys.stdin = types.SimpleNamespace(buffer=io.FileIO(0, 'rb', closefd=False), fileno=lambda: 0)
import ncp_board
ncp_board.run_stdio(grace_ms=0)`;
    const proc = spawn('python3', ['-B', '-c', script], { cwd: AGENT_DIR, stdio: ['pipe', 'pipe', 'inherit'] });
    const decoder = new MessageDecoder(1 << 16);
    const got: Message[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answers in time: ${JSON.stringify(got)}`)), 5000);
      proc.stdout.on('data', (d: Buffer) => {
        for (const item of decoder.push(d)) if (item.type === 'message') got.push(item.msg);
        if (got.length >= 4) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    proc.stdin.write(req(1, { op: 'HELLO', body: { version: 1, maxFrame: 4096, rxWindow: 4096 } }));
    proc.stdin.write(req(2, { op: 'PING', body: { payload: Uint8Array.of(0xc0, 0xdb, 3, 0) } }));
    proc.stdin.write(req(3, { op: 'SOCKET', body: { family: 2, type: 2, proto: 0 } }));
    await done;
    proc.kill('SIGKILL');
    expect(got.map((m) => [m.kind, m.op, (m as { status?: number }).status])).toEqual([
      ['event', 'BOOT', undefined],
      ['response', 'HELLO', 0],
      ['response', 'PING', 0],
      ['response', 'SOCKET', 0],
    ]);
    expect((got[2] as Extract<Message, { op: 'PING'; status: 0 }>).body.payload).toEqual(
      Uint8Array.of(0xc0, 0xdb, 3, 0),
    );
  });
});

describe('the CPython agent when hosts come and go on socket://', () => {
  const raw = (url: string) => {
    const { hostname, port } = new URL(url);
    return connect(Number(port), hostname);
  };

  it('speaks SPEC §4.4 on the wire: CONNECT is answered before its CONNECTED event; POLL; EISCONN', async () => {
    const host = raw(agent.url as string);
    host.on('error', () => undefined);
    const decoder = new MessageDecoder(1 << 16);
    const got: Message[] = [];
    host.on('data', (d: Buffer) => {
      for (const item of decoder.push(d)) if (item.type === 'message' && item.msg.op !== 'BOOT') got.push(item.msg);
    });
    /** Waits (deadline 3 s) until `done(got)`, then hands over and clears what arrived. */
    const until = async (done: (ms: Message[]) => boolean): Promise<Message[]> => {
      const deadline = Date.now() + 3000;
      while (!done(got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      return got.splice(0);
    };
    const brief = (ms: Message[]): unknown[][] =>
      ms.map((m) => [m.kind, m.op, (m as { status?: number }).status ?? (m as { body: unknown }).body]);
    try {
      host.write(req(1, { op: 'HELLO', body: { version: 1, maxFrame: 4096, rxWindow: 4096 } }));
      host.write(req(2, { op: 'SOCKET', body: { family: 2, type: 1, proto: 6 } }));
      host.write(req(3, { op: 'CONNECT', body: { sock: 0, addr: ['127.0.0.1', tcpPort] } }));
      const isConnected = (ms: Message[]): boolean =>
        ms.some((m) => m.op === 'CONNECTED' || (m.op === 'CONNECT' && (m as { status: number }).status === 0));
      const opened = brief(await until(isConnected));
      const inProgress = [
        ['response', 'CONNECT', 115],
        ['event', 'CONNECTED', { sock: 0, status: 0 }],
      ]; // EINPROGRESS
      const atOnce = [['response', 'CONNECT', 0]];
      expect(opened.slice(0, 2)).toEqual([
        ['response', 'HELLO', 0],
        ['response', 'SOCKET', 0],
      ]);
      expect(opened.slice(2)).toEqual(opened.length === 4 ? inProgress : atOnce);
      host.write(
        req(4, {
          op: 'POLL',
          body: {
            entries: [
              { sock: 0, events: 5 },
              { sock: 7, events: 5 },
            ],
          },
        }),
      );
      host.write(req(5, { op: 'CONNECT', body: { sock: 0, addr: ['127.0.0.1', tcpPort] } }));
      host.write(req(6, { op: 'SEND', body: { sock: 0, data: Buffer.from('ping') } }));
      const later = await until((ms) => ms.length >= 4);
      expect((later[0] as Extract<Message, { op: 'POLL'; status: 0 }>).body.entries).toEqual([
        { sock: 0, events: 4 }, // POLLOUT: a SEND would be accepted
        { sock: 7, events: 32 }, // POLLNVAL: a free id
      ]);
      expect(brief(later)).toEqual([
        ['response', 'POLL', 0],
        ['response', 'CONNECT', 106], // EISCONN
        ['response', 'SEND', 0],
        ['event', 'DATA', { sock: 0, data: new Uint8Array(Buffer.from('ping')) }],
      ]);
    } finally {
      host.destroy();
    }
  });

  it('survives a host that vanishes while DATA is streaming to it, and serves the next one', async () => {
    const flood = createServer((c) => {
      c.on('error', () => undefined);
      c.end(allBytes(4 << 20));
    });
    const port = await listening(flood);
    const host = raw(agent.url as string);
    await new Promise((r) => host.once('connect', r));
    host.write(req(1, { op: 'HELLO', body: { version: 1, maxFrame: 16395, rxWindow: 8 << 20 } }));
    host.write(req(2, { op: 'SOCKET', body: { family: 2, type: 1, proto: 6 } }));
    host.write(req(3, { op: 'CONNECT', body: { sock: 0, addr: ['127.0.0.1', port] } }));
    await new Promise((r) => setTimeout(r, 150)); // the agent is now pushing DATA nobody reads
    host.destroy(); // unread data: a reset, which the agent meets in the middle of a write
    await new Promise((r) => setTimeout(r, 150));
    const dev = await openDevice(agent.url as string);
    const s = await dev.socket.socket();
    s.settimeout(5);
    await s.connect(['127.0.0.1', tcpPort]);
    expect(Buffer.from(await echoThrough(s, allBytes(1000))).equals(allBytes(1000))).toBe(true);
    await dev.close();
    await new Promise((r) => flood.close(r));
  });

  it('tells a second host that the line is busy and closes it', async () => {
    const dev = await openDevice(agent.url as string);
    const second = raw(agent.url as string);
    const said = await new Promise<string>((resolve) => {
      let text = '';
      second.on('data', (d) => {
        text += d.toString();
      });
      second.on('close', () => resolve(text));
    });
    expect(said).toMatch(/busy, another host is attached/);
    expect(await dev.socket.getaddrinfo('127.0.0.1', 1)).toHaveLength(1); // the first host is unaffected
    await dev.close();
  });
});

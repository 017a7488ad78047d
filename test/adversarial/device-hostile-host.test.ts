/**
 * A hostile host against `netcoproc emulate` as a real child process, for each personality (SLIP,
 * ESP-AT) and transport (socket://, a pty, rfc2217://): garbage, truncated frames and lines, a
 * host that vanishes in the middle of a command, rapid reconnects. After each, within a deadline,
 * a well-behaved host opens the device and gets a right answer (the emulator keeps serving), and
 * the emulator's memory (VmRSS) stays bounded.
 *
 * Not covered here: an ESP-AT host that vanishes inside AT+CIPSEND's data prompt leaves the board
 * waiting for its bytes, as real ESP-AT firmware does; recovering from that is the host driver's
 * job (host-side adversarial suite).
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWire, type Message, PROTOCOL_VERSION } from '../../firmware-protocol/index.js';
import { openTransport } from '../../host-lib/transports.js';
import { type Device, openDevice } from '../../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../helpers/spawn-emulator.js';
import { rssKiB } from './rss.js';

type Via = 'socket' | 'pty' | 'rfc2217';
type Protocol = 'slip' | 'at';

/** Rejects after `ms` with `what`: every wait in this suite has a deadline. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Seeded bytes (xorshift), so a failure replays. */
function garbage(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A well-behaved host: opens, asks something with a known answer, closes. */
async function goodHost(locator: string, protocol: Protocol): Promise<void> {
  const dev: Device<never> = (await within(
    10_000,
    `openDevice ${locator}`,
    openDevice(locator, { protocol }),
  )) as never;
  try {
    const d = dev as unknown as Device;
    const [info] = await within(5000, 'getaddrinfo', d.socket.getaddrinfo('echo.test', 7));
    expect(info?.[4]).toEqual(['10.77.0.7', 7]);
    const s = await d.socket.socket();
    s.settimeout(5);
    await s.connect(['echo.test', 7]);
    await s.sendall('still serving');
    expect(Buffer.from((await s.read(13)) as Uint8Array).toString()).toBe('still serving');
    await s.close();
  } finally {
    await within(5000, 'close', (dev as unknown as Device).close());
  }
}

/**
 * A raw host that writes whatever it likes. socket:// and rfc2217:// get a plain TCP socket (on the
 * RFC 2217 port that makes it a hostile telnet client: 0xFF bytes are IAC commands); a pty gets
 * a real serialport.
 */
async function rawHost(locator: string): Promise<Duplex> {
  if (locator.startsWith('/')) return within(5000, 'open pty', openTransport(locator));
  const url = new URL(locator.replace(/^(socket|rfc2217):/, 'http:'));
  return within(
    5000,
    `connect ${locator}`,
    new Promise<Socket>((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => resolve(s));
      s.once('error', reject);
    }),
  );
}

async function vanish(link: Duplex): Promise<void> {
  link.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    const s = link as Duplex & { isOpen?: boolean; close?: (cb: () => void) => void };
    if (typeof s.close === 'function' && s.isOpen) s.close(() => resolve());
    else {
      link.destroy();
      resolve();
    }
  });
}

function helloFrame(seq: number): Uint8Array {
  return encodeWire({
    kind: 'request',
    seq,
    op: 'HELLO',
    body: { version: PROTOCOL_VERSION, maxFrame: 4096, rxWindow: 4096 },
  } as Message);
}

/** Bytes of a command the host starts and then abandons, per personality. */
function midCommand(protocol: Protocol): Uint8Array[] {
  if (protocol === 'at')
    return [
      new TextEncoder().encode('AT+CIPMUX=1\r\nAT+CIPSTART=0,"TCP","echo.test",7\r\n'), // gone before the answer
      new TextEncoder().encode('AT+CIPDOMAIN="echo.te'), // a line cut off
    ];
  const connectReq = encodeWire({
    kind: 'request',
    seq: 2,
    op: 'CONNECT',
    body: { sock: 0, addr: ['10.77.0.9', 80] },
  } as Message);
  const socketReq = encodeWire({
    kind: 'request',
    seq: 1,
    op: 'SOCKET',
    body: { family: 2, type: 1, proto: 6 },
  } as Message);
  return [helloFrame(1), socketReq, connectReq, helloFrame(3).subarray(0, 9)]; // ends inside a frame
}

/** Requests with absurd but well-formed values, per personality. */
function absurd(protocol: Protocol): Uint8Array[] {
  const text = (t: string) => new TextEncoder().encode(t);
  if (protocol === 'at')
    return [
      text('AT+CIPMUX=1\r\nAT+CIPSEND=0,2147483647\r\nAT+CIPSTART=99,"TCP","echo.test",7\r\n'),
      text(`AT+CIPSTART=0,"TCP","${'h'.repeat(5000)}",80\r\nAT+CIPRECVDATA=0,2147483647\r\n`),
      text('AT+CIPSTART=0,"TCP","http.test",80\r\nAT+CIPSEND=0,26\r\n'),
      text('GET /bytes/50000000 HTTP/1.1\r\n'),
    ];
  const req = (seq: number, op: string, body: unknown) => encodeWire({ kind: 'request', seq, op, body } as Message);
  const get = text('GET /bytes/50000000 HTTP/1.1\r\nHost: http.test\r\n\r\n');
  return [
    req(1, 'HELLO', { version: PROTOCOL_VERSION, maxFrame: 0xffffffff, rxWindow: 0xffffffff }),
    req(2, 'SOCKET', { family: 2, type: 1, proto: 6 }),
    req(3, 'CONNECT', { sock: 0, addr: ['10.77.0.80', 80] }),
    req(4, 'SEND', { sock: 0, data: get }),
    req(5, 'FILE_READ', { path: `/flash/${'x'.repeat(240)}`, offset: 0xffffffff, length: 0xffff }),
    req(6, 'POLL', { entries: Array.from({ length: 255 }, (_, i) => ({ sock: i, events: 0xff })) }),
  ];
}

const CASES: { protocol: Protocol; via: Via }[] = [
  { protocol: 'slip', via: 'socket' },
  { protocol: 'slip', via: 'pty' },
  { protocol: 'slip', via: 'rfc2217' },
  { protocol: 'at', via: 'socket' },
  { protocol: 'at', via: 'pty' },
  { protocol: 'at', via: 'rfc2217' },
];

describe.each(CASES)('hostile host: $protocol via $via', ({ protocol, via }) => {
  let emu: SpawnedEmulator;
  let locator: string;
  let rssStart = 0;

  beforeAll(async () => {
    const transport =
      via === 'socket' ? ['--listen', 'tcp://127.0.0.1:0'] : via === 'pty' ? ['--pty'] : ['--rfc2217', '0'];
    emu = await spawnEmulator(['--protocol', protocol, ...transport]);
    locator = (via === 'socket' ? emu.url : via === 'pty' ? emu.pty : emu.rfc2217) as string;
    await goodHost(locator, protocol); // warm up before the memory baseline
    rssStart = rssKiB(emu.proc.pid as number);
  }, 30_000);

  afterAll(async () => {
    await emu?.stop();
  });

  it('256 KiB of garbage, then the host vanishes: the next host is served', async () => {
    const link = await rawHost(locator);
    for (let i = 0; i < 16; i++) link.write(garbage(16 * 1024, 1000 + i));
    await sleep(100);
    await vanish(link);
    await goodHost(locator, protocol);
    expect(emu.proc.exitCode).toBeNull();
  }, 30_000);

  it('an endless line / frame with no end (1 MiB without a terminator), then gone', async () => {
    const link = await rawHost(locator);
    // SLIP: no END byte; AT: no CR/LF. The device must bound what it holds for it.
    const fill = new Uint8Array(64 * 1024).fill(protocol === 'at' ? 0x41 : 0x55);
    for (let i = 0; i < 16; i++) link.write(fill);
    await sleep(200);
    await vanish(link);
    await goodHost(locator, protocol);
  }, 30_000);

  it('a host that vanishes in the middle of a command; then one that cuts a frame short', async () => {
    for (const bytes of midCommand(protocol)) {
      const link = await rawHost(locator);
      link.write(bytes);
      await sleep(30);
      await vanish(link);
    }
    await goodHost(locator, protocol);
  }, 30_000);

  it('absurd values (huge windows and lengths, a 50 MB download nobody reads), then gone', async () => {
    const link = await rawHost(locator);
    try {
      link.on('data', () => undefined); // read and drop: a host that asks for everything
      for (const bytes of absurd(protocol)) {
        link.write(bytes);
        await sleep(50);
      }
      await sleep(300);
    } finally {
      await vanish(link);
    }
    await goodHost(locator, protocol);
  }, 30_000);

  it('30 rapid reconnects, each writing a little and leaving at once', async () => {
    for (let i = 0; i < 30; i++) {
      const link = await rawHost(locator);
      link.write(i % 2 ? helloFrame(i) : garbage(200, i));
      await vanish(link);
    }
    await goodHost(locator, protocol);
  }, 60_000);

  it('memory stays bounded across the abuse (VmRSS growth under 48 MiB)', () => {
    const growth = rssKiB(emu.proc.pid as number) - rssStart;
    expect(growth).toBeLessThan(48 * 1024);
  });
});

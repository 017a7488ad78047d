/**
 * A hostile host for `netcoproc emulate`: raw links (plain TCP, a telnet client on the RFC 2217
 * port, a real serialport on a pty), the abuse it writes, and a well-behaved host that checks the
 * emulator still serves. Used by device-hostile-host.test.ts.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { expect } from 'vitest';
import { encodeWire, type Message, PROTOCOL_VERSION } from '../../firmware-protocol/index.js';
import { openTransport } from '../../host-lib/transports.js';
import { type Device, openDevice } from '../../index.js';

export type Via = 'socket' | 'pty' | 'rfc2217';
export type Protocol = 'slip' | 'at';

/** Rejects after `ms` with `what`: every wait in this suite has a deadline. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Seeded bytes (xorshift), so a failure replays. */
export function garbage(n: number, seed: number): Uint8Array {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens the device. On a pty, EBUSY ("cannot lock port") right after another serialport closed it
 * is retried for up to 1 s: seen once (a loaded machine, a handful of runs) after a host reading a
 * flood closed the port, its close callback having come before the lock was gone. That race is
 * between serialport and the kernel, not the emulator this suite is about.
 */
async function openGood(locator: string, protocol: Protocol): Promise<Device<never>> {
  const until = Date.now() + 1000;
  for (;;) {
    try {
      return (await within(10_000, `openDevice ${locator}`, openDevice(locator, { protocol }))) as never;
    } catch (err) {
      const busy = (err as { errno?: number }).errno === 16 && locator.startsWith('/');
      if (!busy || Date.now() > until) throw err;
      await sleep(50);
    }
  }
}

/** A well-behaved host: opens, asks something with a known answer, closes. */
export async function goodHost(locator: string, protocol: Protocol): Promise<void> {
  const dev = await openGood(locator, protocol);
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
export async function rawHost(locator: string): Promise<Duplex> {
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

export async function vanish(link: Duplex): Promise<void> {
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

export function helloFrame(seq: number): Uint8Array {
  return encodeWire({
    kind: 'request',
    seq,
    op: 'HELLO',
    body: { version: PROTOCOL_VERSION, maxFrame: 4096, rxWindow: 4096 },
  } as Message);
}

/** Bytes of a command the host starts and then abandons, per personality. */
export function midCommand(protocol: Protocol): Uint8Array[] {
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
export function absurd(protocol: Protocol): Uint8Array[] {
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

/** 256 KiB of seeded garbage, then the host vanishes. */
export async function garbageThenGone(locator: string): Promise<void> {
  const link = await rawHost(locator);
  for (let i = 0; i < 16; i++) link.write(garbage(16 * 1024, 1000 + i));
  await sleep(100);
  await vanish(link);
}

/** 1 MiB with no terminator (SLIP: no END byte; AT: no CR/LF), then the host vanishes. */
export async function endlessThenGone(locator: string, protocol: Protocol): Promise<void> {
  const link = await rawHost(locator);
  const fill = new Uint8Array(64 * 1024).fill(protocol === 'at' ? 0x41 : 0x55);
  for (let i = 0; i < 16; i++) link.write(fill);
  await sleep(200);
  await vanish(link);
}

/** Hosts that each start a command and vanish before its answer; the last cuts a frame short. */
export async function goneMidCommand(locator: string, protocol: Protocol): Promise<void> {
  for (const bytes of midCommand(protocol)) {
    const link = await rawHost(locator);
    link.write(bytes);
    await sleep(30);
    await vanish(link);
  }
}

/** Absurd values (huge windows and lengths, a 50 MB download read and dropped), then gone. */
export async function absurdThenGone(locator: string, protocol: Protocol): Promise<void> {
  const link = await rawHost(locator);
  try {
    link.on('data', () => undefined);
    for (const bytes of absurd(protocol)) {
      link.write(bytes);
      await sleep(50);
    }
    await sleep(300);
  } finally {
    await vanish(link);
  }
}

/** `n` reconnects, each writing a little (HELLO or garbage) and leaving at once. */
export async function rapidReconnects(locator: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const link = await rawHost(locator);
    link.write(i % 2 ? helloFrame(i) : garbage(200, i));
    await vanish(link);
  }
}

/** One round of every abuse above, each followed by a well-behaved host. */
export async function abuseRound(locator: string, protocol: Protocol): Promise<void> {
  await garbageThenGone(locator);
  await goodHost(locator, protocol);
  await endlessThenGone(locator, protocol);
  await goodHost(locator, protocol);
  await goneMidCommand(locator, protocol);
  await goodHost(locator, protocol);
  await absurdThenGone(locator, protocol);
  await goodHost(locator, protocol);
  await rapidReconnects(locator, 30);
  await goodHost(locator, protocol);
}

/**
 * Node stream contract of `toDuplex(sock)`, over both protocols and every transport (in-process,
 * a real pty with serialport, socket:// to an emulator process): whatever way a Node library
 * writes — cork/uncork (writev), many small writes, a slow peer, destroy mid-write — the bytes
 * arrive intact and in order, or the stream errors. A loopback TCP peer in this process records
 * what the device delivered.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../index.js';
import { HostileDevice } from './adversarial/hostile-device.js';
import { allBytes } from './helpers/patterns.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

/** A loopback TCP server that keeps every byte each connection sent; `paused` reads nothing. */
class Peer {
  readonly server = net.createServer((c) => this.onConn(c));
  readonly conns: { got: Buffer[]; bytes: number; sock: net.Socket; ended: boolean }[] = [];
  paused = false;
  /** Index in `conns` of the connection received() reads: the one made after expectConnection(). */
  private next = 0;

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return (this.server.address() as net.AddressInfo).port;
  }

  private onConn(sock: net.Socket): void {
    const rec = { got: [] as Buffer[], bytes: 0, sock, ended: false };
    this.conns.push(rec);
    if (this.paused) sock.pause();
    sock.on('data', (d: Buffer) => {
      rec.got.push(d);
      rec.bytes += d.length;
    });
    sock.on('end', () => {
      rec.ended = true;
    });
    sock.on('error', () => {});
  }

  /**
   * The next connection accepted is the one received() reads. Without it, received() could read
   * the previous test's connection: the host's connect resolves when the device reports it, which
   * may be before this process has accepted it, and that one has ended.
   */
  expectConnection(): void {
    this.next = this.conns.length;
  }

  /** Waits (bounded) until the expected connection holds `n` bytes or has ended; returns them. */
  async received(n: number, ms = 15_000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const c = this.conns[this.next];
      if (c && (c.bytes >= n || c.ended)) return Buffer.concat(c.got);
      if (Date.now() > deadline) return c ? Buffer.concat(c.got) : Buffer.alloc(0);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): Promise<void> {
    for (const c of this.conns) c.sock.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/**
 * Destroys the stream and waits until its socket is closed on the device too, so each case starts
 * clean. (An emulator left with a socket its host never closed must still exit on SIGTERM:
 * test/adversarial/device-sigterm.test.ts.)
 */
function closed(d: Duplex): Promise<void> {
  return new Promise((resolve) => {
    d.once('close', () => resolve());
    d.destroy();
  });
}

function written(cb: (done: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => cb((err) => (err ? reject(err) : resolve())));
}

type Transport = 'in-process' | 'pty' | 'socket://';

const CASES: [string, Transport][] = [
  ['slip', 'in-process'],
  ['at', 'in-process'],
  ['slip', 'socket://'],
  ['at', 'socket://'],
  ['slip', 'pty'],
  ['at', 'pty'],
];

describe.each(CASES)('toDuplex over %s, %s', (protocol, transport) => {
  let emu: SpawnedEmulator | undefined;
  let dev: Device<never>;
  const peer = new Peer();
  let port = 0;

  beforeAll(async () => {
    port = await peer.listen();
    const opts = { protocol: protocol as 'slip' | 'at' };
    if (transport === 'in-process') {
      dev = (await openDevice('emulator:', opts)) as Device<never>;
      return;
    }
    emu = await spawnEmulator(['--protocol', protocol, transport === 'pty' ? '--pty' : '--listen=tcp://127.0.0.1:0']);
    dev = (await openDevice((transport === 'pty' ? emu.pty : emu.url) as string, opts)) as Device<never>;
  });
  afterAll(async () => {
    await dev?.close();
    await peer.close();
    if (emu) expect(await emu.stop()).toBe(0);
  });

  async function connected(): Promise<Duplex> {
    const s = await dev.socket.socket();
    s.settimeout(10);
    peer.expectConnection();
    await s.connect(['127.0.0.1', port]);
    return s.asDuplex();
  }

  it('cork(), nine small write()s, uncork() on the next tick: all 18 bytes arrive, in order', async () => {
    const d = await connected();
    d.cork();
    const done: Promise<void>[] = [];
    for (let i = 0; i < 9; i++) done.push(written((cb) => d.write(Buffer.from(`a${i}`), cb)));
    process.nextTick(() => d.uncork());
    await Promise.all(done);
    expect((await peer.received(18)).toString()).toBe('a0a1a2a3a4a5a6a7a8');
    await closed(d);
  });

  it('writev of 200 chunks of every size and many small writes after it: intact and in order', async () => {
    const d = await connected();
    const data = allBytes(40_000);
    const parts: Buffer[] = [];
    for (let at = 0, k = 1; at < data.length; k = (k * 7 + 3) % 500) {
      parts.push(data.subarray(at, Math.min(data.length, at + k + 1)));
      at += k + 1;
    }
    d.cork();
    const done = parts.map((p) => written((cb) => d.write(p, cb)));
    d.uncork();
    // Then the same again as 1000 tiny writes, not corked.
    const tail = allBytes(3000).map((b) => 255 - b);
    for (let i = 0; i < 1000; i++) done.push(written((cb) => d.write(tail.subarray(i * 3, i * 3 + 3), cb)));
    await Promise.all(done);
    const got = await peer.received(data.length + tail.length);
    expect(got.length).toBe(data.length + tail.length);
    expect(got.equals(Buffer.concat([data, tail]))).toBe(true);
    await closed(d);
  });

  it('back-pressure: a peer that stops reading makes write() return false; resumed, every byte arrives', async () => {
    peer.paused = true;
    const d = await connected();
    const data = allBytes(600_000);
    let sawFalse = false;
    let at = 0;
    const pending: Promise<void>[] = [];
    // Write until the stream says stop, with the peer reading nothing.
    while (at < data.length && !sawFalse) {
      const chunk = data.subarray(at, at + 16384);
      at += chunk.length;
      pending.push(written((cb) => (sawFalse = !d.write(chunk, cb))));
    }
    expect(sawFalse).toBe(true);
    peer.paused = false;
    for (const c of peer.conns) c.sock.resume();
    while (at < data.length) {
      const chunk = data.subarray(at, at + 16384);
      at += chunk.length;
      if (!d.write(chunk)) await new Promise((r) => d.once('drain', r));
    }
    await Promise.all(pending);
    await written((cb) => d.end(cb));
    const got = await peer.received(data.length, 30_000);
    expect(got.length).toBe(data.length);
    expect(got.equals(data)).toBe(true);
    await closed(d);
  }, 60_000);

  it("end(): 'finish' comes once the device has taken every byte, and the peer gets them all", async () => {
    const d = await connected();
    const data = allBytes(50_000);
    for (let i = 0; i < data.length; i += 1000) d.write(data.subarray(i, i + 1000));
    await written((cb) => d.end(cb));
    const got = await peer.received(data.length);
    expect(got.equals(data)).toBe(true);
    await closed(d);
  });

  it('send() takes a copy: the caller overwriting its Buffer at once changes nothing on the wire', async () => {
    const s = await dev.socket.socket();
    s.settimeout(10);
    peer.expectConnection();
    await s.connect(['127.0.0.1', port]);
    const want = allBytes(100_000);
    const buf = Buffer.from(want);
    for (let at = 0; at < buf.length; ) {
      const n = await s.send(buf.subarray(at));
      buf.fill(0xee, at, at + n);
      at += n;
    }
    const got = await peer.received(want.length);
    expect(got.equals(want)).toBe(true);
    await s.close();
  });

  it('destroy() mid-write: what the peer got is an intact prefix, and the stream closes', async () => {
    const d = await connected();
    const data = allBytes(200_000);
    const closed = new Promise((r) => d.once('close', r));
    d.on('error', () => {});
    for (let i = 0; i < data.length; i += 4096) d.write(data.subarray(i, i + 4096), () => {});
    setTimeout(() => d.destroy(), 5);
    await closed;
    const got = await peer.received(data.length, 3000);
    expect(got.equals(data.subarray(0, got.length))).toBe(true);
  });
});

describe.each([
  ['slip', 4096, 0],
  ['at', 4096, 0],
  ['slip', 300_000, 30],
  ['at', 300_000, 30],
] as const)('toDuplex over %s, %i bytes, the coprocessor silent after %i ms', (protocol, size, silentAfterMs) => {
  it("end() either finishes with every byte delivered or errors — never 'finish' with bytes lost, never a hang", async () => {
    const bad = await HostileDevice.start(protocol);
    const peer = new Peer();
    const port = await peer.listen();
    const dev = await openDevice(bad.url, { protocol });
    dev.on('error', () => {});
    try {
      const s = await dev.socket.socket();
      s.settimeout(10);
      await s.connect(['127.0.0.1', port]);
      const d = s.asDuplex();
      d.on('error', () => {});
      const data = allBytes(size);
      for (let i = 0; i < data.length; i += 16384) d.write(data.subarray(i, i + 16384), () => {});
      if (silentAfterMs === 0) bad.silence();
      else setTimeout(() => bad.silence(), silentAfterMs);
      const t0 = Date.now();
      const outcome = await new Promise<Error | null>((resolve) => {
        d.end((err?: Error | null) => resolve(err ?? null));
        d.once('error', (err) => resolve(err));
      });
      // No hang. (How fast a silent board is noticed is test/adversarial's business.)
      expect(Date.now() - t0).toBeLessThan(15_000);
      const got = await peer.received(data.length, outcome ? 1000 : 10_000);
      if (outcome) expect(got.equals(data.subarray(0, got.length))).toBe(true);
      else expect(got.equals(data)).toBe(true);
      d.destroy();
    } finally {
      await dev.close().catch(() => {});
      await peer.close();
      await bad.close();
    }
  }, 30_000);
});

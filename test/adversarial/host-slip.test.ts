/**
 * A hostile SLIP RPC device against the host's SLIP driver, over a real TCP socket (socket://).
 * With no user timeout anywhere, every fault ends a pending blocking call within its deadline
 * (ARCHITECTURE §9: a silent or replaced board within 3 s; once the link is lost, every call
 * within 100 ms) with a clear OSError, and memory stays bounded while the device floods.
 */
import net from 'node:net';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { errno as E, encodeMessage, encodeSlip } from '../../firmware-protocol/index.js';
import { type Device, openDevice } from '../../index.js';
import { expectFastFailures, garbageSurvived, silentThenFoundAgain } from './host-scenarios.js';
import { HostileDevice, timed } from './hostile-device.js';
import { heldHereKiB } from './rss.js';

/** What the host may still hold after a flood, over a full GC (a kept endless line would be 64 MiB). */
const HELD_GROWTH_KIB = 8 * 1024;

let bad: HostileDevice | undefined;
let dev: Device | undefined;

afterEach(async () => {
  await dev?.close().catch(() => {});
  await bad?.close();
  dev = undefined;
  bad = undefined;
});

async function connectedSocket() {
  bad = await HostileDevice.start('slip');
  dev = await openDevice(bad.url);
  dev.on('error', () => {});
  const s = await dev.socket.socket();
  await s.connect(['echo.test', 7]); // blocking: no timeout anywhere below
  return s;
}

/** A DGRAM event whose body lies about its lengths (0xff…: a 255-byte address), under a CRC that is right. */
function lyingFrame(): Uint8Array {
  const body = { sock: 0, addr: ['10.77.0.7', 7] as [string, number], data: new Uint8Array(16) };
  const frame = encodeMessage({ kind: 'event', seq: 1, op: 'DGRAM', body });
  const end = frame.length - 4;
  frame.fill(0xff, 6, end);
  new DataView(frame.buffer).setUint32(end, crc32(frame.subarray(0, end)) >>> 0);
  return encodeSlip(frame);
}

describe('hostile SLIP device (socket://)', () => {
  it('goes silent: a blocking recv fails within 3 s (ETIMEDOUT), later calls within 100 ms; it is found again', async () => {
    const s = await connectedSocket();
    await silentThenFoundAgain(dev!, bad!, s);
  });

  it('goes silent while a sendall is in flight (unacknowledged frames): it fails within 3 s (ETIMEDOUT)', async () => {
    // A loopback peer that swallows everything, so the SENDs keep flowing until the silence.
    let got = 0;
    const conns: net.Socket[] = [];
    const sink = net.createServer((c) => {
      conns.push(c);
      c.on('data', (b: Buffer) => {
        got += b.length;
      });
      c.on('error', () => {});
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    try {
      bad = await HostileDevice.start('slip');
      dev = await openDevice(bad.url);
      dev.on('error', () => {});
      const s = await dev.socket.socket();
      await s.connect(['127.0.0.1', (sink.address() as net.AddressInfo).port]); // blocking, no timeout
      const sending = s.sendall(Buffer.alloc(64 << 20, 0x5a));
      sending.catch(() => {});
      for (let i = 0; got < 256 << 10 && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toBeGreaterThanOrEqual(256 << 10);
      bad.silence();
      const r = await timed(sending);
      expect(r.err?.errno, r.err?.message).toBe(E.ETIMEDOUT);
      expect(r.err?.message).toMatch(/not responding/);
      expect(r.ms).toBeLessThan(3000);
    } finally {
      for (const c of conns) c.destroy();
      await new Promise((r) => sink.close(r));
    }
  });

  it('streams an endless frame (64 MiB, no END): the recv fails within 3 s and memory stays bounded', async () => {
    const s = await connectedSocket();
    const before = await heldHereKiB();
    const pending = timed(s.recv(10));
    const flood = bad!.stream(64 << 20, (n) => Buffer.alloc(n, 0x41));
    const r = await pending;
    expect(r.err?.errno).toBe(E.ETIMEDOUT);
    expect(r.ms).toBeLessThan(3000);
    await flood;
    const growth = (await heldHereKiB()) - before;
    expect(growth, `held ${growth} KiB more after the flood`).toBeLessThan(HELD_GROWTH_KIB);
  });

  it('sends frames whose length fields lie (good CRC): each is dropped and counted, the socket keeps working', async () => {
    const s = await connectedSocket();
    s.settimeout(5);
    const badBefore = dev!.driver.badFrames;
    for (let i = 0; i < 100; i++) bad!.inject(lyingFrame());
    await s.sendall('still here');
    expect(Buffer.from(await s.recv(10)).toString()).toBe('still here');
    expect(dev!.driver.badFrames - badBefore).toBeGreaterThanOrEqual(100);
  });

  it('sends garbage (4 MiB of random bytes): calls end in data or an OSError, memory stays bounded', async () => {
    const s = await connectedSocket();
    await garbageSurvived(bad!, s, HELD_GROWTH_KIB);
  });

  it('hangs up mid-frame: the pending recv fails at once, and so does every later call', async () => {
    const s = await connectedSocket();
    const pending = timed(s.recv(10));
    await new Promise((r) => setTimeout(r, 50));
    bad!.disconnect(lyingFrame().subarray(0, 10));
    const r = await pending;
    expect(r.err?.errno).toBeTypeOf('number');
    expect(r.ms).toBeLessThan(500);
    await expectFastFailures(dev!, s);
  });

  it('restarts and sends BOOT: the pending recv fails with ECONNRESET at once', async () => {
    const s = await connectedSocket();
    const pending = timed(s.recv(10));
    await new Promise((r) => setTimeout(r, 50));
    bad!.restart();
    const r = await pending;
    expect(r.err?.errno).toBe(E.ECONNRESET);
    expect(r.ms).toBeLessThan(500);
  });

  it('is replaced behind the open link, its BOOT lost: the pending recv fails with ECONNRESET within 3 s', async () => {
    const s = await connectedSocket();
    const pending = timed(s.recv(10));
    await new Promise((r) => setTimeout(r, 50));
    await bad!.replaceSilently();
    const r = await pending;
    expect(r.err?.errno).toBe(E.ECONNRESET);
    expect(r.ms).toBeLessThan(3000);
  });
});

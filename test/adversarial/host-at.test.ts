/**
 * A hostile ESP-AT device against the host's AT driver, over a real TCP socket (socket://).
 * With no user timeout anywhere, every fault ends a pending blocking call within its deadline
 * (ARCHITECTURE §9: a silent or replaced board within 3 s; once the link is lost, every call
 * within 100 ms) with a clear OSError, and memory stays bounded while the device floods.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { type Device, openDevice } from '../../index.js';
import { expectFastFailures, garbageSurvived, silentThenFoundAgain } from './host-scenarios.js';
import { HostileDevice, timed } from './hostile-device.js';
import { heldHereKiB } from './rss.js';

/** What the host may still hold after a flood, over a full GC (a kept endless line would be 64 MiB). */
const HELD_GROWTH_KIB = 8 * 1024;

type AtDevice = Device<import('../../host-lib/at/at-driver.js').AtDriver>;

let bad: HostileDevice | undefined;
let dev: AtDevice | undefined;

afterEach(async () => {
  await dev?.close().catch(() => {});
  await bad?.close();
  dev = undefined;
  bad = undefined;
});

async function connectedSocket() {
  bad = await HostileDevice.start('at');
  dev = await openDevice(bad.url, { protocol: 'at' });
  dev.on('error', () => {});
  const s = await dev.socket.socket();
  await s.connect(['echo.test', 7]); // blocking: no timeout anywhere below
  return s;
}

describe('hostile ESP-AT device (socket://)', () => {
  it('goes silent: a blocking recv fails within 3 s (ETIMEDOUT), later calls within 100 ms; it is found again', async () => {
    const s = await connectedSocket();
    await silentThenFoundAgain(dev!, bad!, s);
  });

  it('streams an endless line (64 MiB, no LF): the recv fails within 3 s and memory stays bounded', async () => {
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

  it('announces +IPD of 2 GB: the recv fails at once (EIO, the length named), and the board is found again', async () => {
    const s = await connectedSocket();
    const pending = timed(s.recv(10));
    await new Promise((r) => setTimeout(r, 50));
    bad!.inject('\r\n+IPD,0,2147483647:garbage');
    const r = await pending;
    expect(r.err?.errno).toBe(E.EIO);
    expect(r.err?.message).toMatch(/2147483647/);
    expect(r.ms).toBeLessThan(1000);
    await new Promise((res) => dev!.once('ready', res));
    const s2 = await dev!.socket.socket();
    s2.settimeout(5);
    await s2.connect(['echo.test', 7]);
  });

  it('sends garbage (4 MiB of random bytes): calls end in data or an OSError, memory stays bounded', async () => {
    const s = await connectedSocket();
    await garbageSurvived(bad!, s, HELD_GROWTH_KIB);
  });

  it('hangs up mid-reply: the pending recv fails at once, and so does every later call', async () => {
    const s = await connectedSocket();
    const pending = timed(s.recv(10));
    await new Promise((r) => setTimeout(r, 50));
    bad!.disconnect('\r\n+CIPRECVDATA:100,"10.77.0.7",7,part');
    const r = await pending;
    expect(r.err?.errno).toBeTypeOf('number');
    expect(r.ms).toBeLessThan(500);
    await expectFastFailures(dev!, s);
  });

  it('restarts and says `ready`: the pending recv fails with ECONNRESET at once', async () => {
    const s = await connectedSocket();
    const pending = timed(s.recv(10));
    await new Promise((r) => setTimeout(r, 50));
    bad!.restart();
    const r = await pending;
    expect(r.err?.errno).toBe(E.ECONNRESET);
    expect(r.ms).toBeLessThan(500);
  });

  it('is replaced behind the open link, its `ready` lost: the pending recv fails with ECONNRESET within 3 s', async () => {
    const s = await connectedSocket();
    const pending = timed(s.recv(10));
    await new Promise((r) => setTimeout(r, 50));
    await bad!.replaceSilently();
    const r = await pending;
    expect(r.err?.errno).toBe(E.ECONNRESET);
    expect(r.ms).toBeLessThan(3000);
    // The new board is set up again and works.
    await new Promise((res) => setTimeout(res, 500));
    const s2 = await dev!.socket.socket();
    s2.settimeout(5);
    await s2.connect(['echo.test', 7]);
  });
});

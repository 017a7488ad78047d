/** Scenarios the hostile-device suites run against both host drivers (host-slip, host-at). */
import { expect } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import type { Driver } from '../../host-lib/driver.js';
import type { Device as DeviceOf } from '../../index.js';
import { type HostileDevice, timed } from './hostile-device.js';
import { heldHereKiB } from './rss.js';

/** A device over either driver. */
type Device = DeviceOf<Driver>;
type StreamSocket = Awaited<ReturnType<Device['socket']['socket']>>;

/** Once lost, each kind of call fails at once. */
export async function expectFastFailures(d: Device, s: { send(b: string): Promise<number> }): Promise<void> {
  const calls: (() => Promise<unknown>)[] = [
    () => d.socket.getaddrinfo('echo.test', 7),
    () => d.socket.socket(),
    () => s.send('x'),
  ];
  for (const call of calls) {
    const r = await timed(call());
    expect(r.err?.errno, r.err?.message).toBeTypeOf('number');
    expect(r.ms).toBeLessThan(100);
  }
}

/**
 * The board goes silent under a blocking recv: it fails within 3 s (ETIMEDOUT), later calls at
 * once; when the board answers again the driver finds it and new sockets work.
 */
export async function silentThenFoundAgain(dev: Device, bad: HostileDevice, s: StreamSocket): Promise<void> {
  const hang = new Promise((r) => dev.once('hang', r));
  const pending = timed(s.recv(10));
  bad.silence();
  const r = await pending;
  expect(r.err?.errno).toBe(E.ETIMEDOUT);
  expect(r.err?.message).toMatch(/not responding/);
  expect(r.ms).toBeLessThan(3000);
  await hang;
  await expectFastFailures(dev, s);
  const ready = new Promise((res) => dev.once('ready', res));
  bad.speak();
  await ready;
  const s2 = await dev.socket.socket();
  s2.settimeout(5);
  await s2.connect(['echo.test', 7]);
  await s2.sendall('again');
  expect(Buffer.from(await s2.recv(5)).toString()).toBe('again');
}

/**
 * 4 MiB of seeded random bytes from the board while a recv waits: it ends in data or an OSError
 * within 5 s, and this process holds less than `heldGrowthKiB` more afterwards.
 */
export async function garbageSurvived(bad: HostileDevice, s: StreamSocket, heldGrowthKiB: number): Promise<void> {
  const before = await heldHereKiB();
  const pending = timed(s.recv(10));
  let seed = 1;
  await bad.stream(4 << 20, (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      b[i] = seed >> 16;
    }
    return b;
  });
  const r = await pending;
  expect(r.err?.errno ?? 0).not.toBe(0);
  expect(r.ms).toBeLessThan(5000);
  const growth = (await heldHereKiB()) - before;
  expect(growth, `held ${growth} KiB more after the flood`).toBeLessThan(heldGrowthKiB);
}

/**
 * A blocking TCP connect to a host that never answers (blackhole.test) ends with ETIMEDOUT after
 * the device's connect timeout (ARCHITECTURE §9, docs/profiles.md), on both protocols, with no
 * user timeout: the device gives up, says so, and the host raises the right errno.
 */
import { describe, expect, it } from 'vitest';
import { createEmulator, PROFILES } from '../emulator/index.js';
import { OSError, openDevice } from '../index.js';
import { loopbackBlackhole, startAgent } from './conformance/targets.js';

const outcome = (p: Promise<unknown>, deadlineMs: number): Promise<unknown> =>
  Promise.race([
    p.then(
      () => 'connected',
      (e: unknown) => e,
    ),
    new Promise((r) => setTimeout(() => r(`still pending after ${deadlineMs} ms`), deadlineMs)),
  ]);

describe('blocking connect to blackhole.test', () => {
  it('every profile documents a device-side connect timeout', () => {
    for (const p of Object.values(PROFILES)) {
      expect(p.connectTimeoutMs, p.name).toBeGreaterThanOrEqual(5000);
      expect(p.connectTimeoutMs, p.name).toBeLessThanOrEqual(60_000);
    }
  });

  it.each(['wipy', 'esp32'])(
    'SLIP (%s): ETIMEDOUT after the connect timeout; the next connect works',
    async (profile) => {
      const emu = createEmulator({ profile, connectTimeoutMs: 800 });
      const dev = await openDevice(emu.uart);
      try {
        const s = await dev.socket.socket();
        const got = await outcome(s.connect(['blackhole.test', 80]), 5000);
        expect(got).toBeInstanceOf(OSError);
        expect((got as OSError).errno).toBe(dev.errno.ETIMEDOUT);
        await s.close();
        const t = await dev.socket.socket();
        await t.connect(['echo.test', 7]);
        await t.close();
      } finally {
        await dev.close();
        await emu.close();
      }
    },
  );

  it('ESP-AT: ETIMEDOUT (not ECONNREFUSED) after the timeout the host asked for; refused stays ECONNREFUSED', async () => {
    const emu = createEmulator({ protocol: 'at' });
    const dev = await openDevice(emu.uart, { protocol: 'at', connectTimeoutMs: 800 });
    try {
      const s = await dev.socket.socket();
      const got = await outcome(s.connect(['blackhole.test', 80]), 5000);
      expect(got).toBeInstanceOf(OSError);
      expect((got as OSError).errno).toBe(dev.errno.ETIMEDOUT);
      await s.close();
      const r = await dev.socket.socket();
      const refused = await outcome(r.connect(['refused.test', 80]), 5000);
      expect((refused as OSError).errno).toBe(dev.errno.ECONNREFUSED);
      await r.close();
    } finally {
      await dev.close();
      await emu.close();
    }
  });

  it('the MicroPython agent (CPython): ETIMEDOUT after its connect timeout, to a loopback blackhole', async () => {
    const agent = await startAgent('socket', { NETCOPROC_AGENT_CONNECT_TIMEOUT_MS: '800' });
    const hole = await loopbackBlackhole();
    const dev = await openDevice(agent.url);
    try {
      const s = await dev.socket.socket();
      const got = await outcome(s.connect(hole.addr), 5000);
      expect(got).toBeInstanceOf(OSError);
      expect((got as OSError).errno).toBe(dev.errno.ETIMEDOUT);
      // The same socket may try again (a fresh native socket stands behind it).
      const again = await outcome(s.connect(hole.addr), 5000);
      expect((again as OSError).errno).toBe(dev.errno.ETIMEDOUT);
      await s.close();
    } finally {
      await dev.close();
      await hole.close();
      await agent.stop();
    }
  });
});

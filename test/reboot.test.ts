/**
 * Reboot detection and recovery (issue "Faults and recovery"): the emulated board restarts in the
 * middle of transfers, 50 times; each time every open socket fails with ECONNRESET carrying
 * "coprocessor restarted" within 1 s, the device emits 'reset', no promise is left pending, and
 * the next socket works.
 */
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator/index.js';
import { OSError, openDevice } from '../index.js';
import { allBytes } from './helpers/patterns.js';

const settle = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'done',
    (e: unknown) => e,
  );

describe('coprocessor restart', () => {
  it('50 reboots mid-transfer: sockets fail fast and loudly, new sockets work', async () => {
    const emu = createEmulator({ seed: 7 });
    const dev = await openDevice(emu.uart);
    let resets = 0;
    dev.on('reset', () => resets++);
    const data = allBytes(2 * 1024 * 1024);
    for (let trial = 0; trial < 50; trial++) {
      const { socket, errno } = dev;
      const a = await socket.socket();
      const b = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
      await a.connect(['echo.test', 7]);
      // A writer in flight and a blocked recvfrom on `b` when the board restarts, part-way
      // through what `a` reads back (a different point each trial).
      const writing = settle(a.sendall(data));
      const waiting = settle(b.recvfrom(100));
      let got = 0;
      const rebootAt = 1000 + trial * 20_000;
      let t0 = 0;
      const reading = settle(
        (async () => {
          for (;;) {
            const c = await a.recv(4096);
            if (c.length === 0) return;
            got += c.length;
            if (got >= rebootAt && t0 === 0) {
              t0 = Date.now();
              emu.reboot();
            }
          }
        })(),
      );
      const outcomes = await Promise.all([reading, waiting, writing]);
      expect(t0).toBeGreaterThan(0);
      expect(Date.now() - t0).toBeLessThan(1000);
      for (const o of outcomes.slice(0, 2)) {
        expect(o).toBeInstanceOf(OSError);
        expect((o as OSError).errno).toBe(errno.ECONNRESET);
        expect((o as OSError).message).toMatch(/coprocessor restarted/);
      }
      // The writer may have handed everything to the device before the restart; if not, it failed the same way.
      if (outcomes[2] !== 'done') expect((outcomes[2] as OSError).errno).toBe(errno.ECONNRESET);
      await a.close();
      await b.close();
      // The next socket works once the driver has re-run its handshake.
      const c = await socket.socket();
      c.settimeout(5);
      await c.connect(['echo.test', 7]);
      await c.sendall('after reboot');
      expect(Buffer.from((await c.read(12)) as Uint8Array).toString()).toBe('after reboot');
      await c.close();
    }
    expect(resets).toBe(50);
    await dev.close();
    await emu.close();
  });
});

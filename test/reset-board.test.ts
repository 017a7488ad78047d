/**
 * The ESP auto-reset pulse from the host (esptool's classic sequence over DTR/RTS): over
 * rfc2217:// it reboots the emulated board and the device reports the restart; over a pty, which
 * has no modem lines, it fails with a clear message instead.
 */
import { describe, expect, it } from 'vitest';
import { type OSError, openDevice } from '../index.js';
import { spawnEmulator } from './helpers/spawn-emulator.js';

describe('dev.resetBoard()', () => {
  it('over rfc2217:// the board restarts: open sockets fail with ECONNRESET, a new one works', async () => {
    const emu = await spawnEmulator(['--rfc2217', '0']);
    const dev = await openDevice(emu.rfc2217 as string);
    try {
      const s = await dev.socket.socket();
      s.settimeout(5);
      await s.connect(['echo.test', 7]);
      const reset = new Promise((r) => dev.once('reset', r));
      await dev.resetBoard();
      await reset;
      const err = await s.recv(10).catch((e: unknown) => e);
      expect((err as OSError).errno).toBe(dev.errno.ECONNRESET);
      // The log line and the board's BOOT reach this process by two pipes; either may be read first.
      const logged = async (): Promise<string> => {
        for (const until = Date.now() + 5000; !/rfc2217: reset/.test(emu.stderr()) && Date.now() < until; )
          await new Promise((r) => setTimeout(r, 10));
        return emu.stderr();
      };
      expect(await logged()).toMatch(/rfc2217: reset/);
      const t = await dev.socket.socket();
      t.settimeout(5);
      await t.connect(['echo.test', 7]);
      await t.close();
    } finally {
      await dev.close();
      expect(await emu.stop()).toBe(0);
    }
  });

  it('over a pty (no modem lines) it fails with a clear message', async () => {
    const emu = await spawnEmulator(['--pty']);
    const dev = await openDevice(emu.pty as string);
    try {
      await expect(dev.resetBoard()).rejects.toThrow(/modem lines|ENOTTY|rfc2217/i);
    } finally {
      await dev.close();
      expect(await emu.stop()).toBe(0);
    }
  });
});

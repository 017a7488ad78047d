/**
 * `openDevice` on a link that cannot be opened: an OSError with the errno a user can test and a
 * message that names the locator (ARCHITECTURE.md §2, §8). Real parts: a closed loopback port,
 * real paths, and a real pty from `netcoproc emulate --pty` held open by another host.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errno } from '../firmware-protocol/index.js';
import { type Device, OSError, openDevice } from '../index.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function openFailure(locator: string): Promise<OSError> {
  const err = await openDevice(locator, { openTimeoutMs: 3000 }).then(
    async (dev) => {
      await dev.close();
      throw new Error(`${locator} opened`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OSError);
  return err as OSError;
}

describe('openDevice failures are OSError naming the locator', () => {
  it('socket:// and rfc2217:// to a closed port: ECONNREFUSED', async () => {
    for (const scheme of ['socket', 'rfc2217']) {
      const locator = `${scheme}://127.0.0.1:${await closedPort()}`;
      const err = await openFailure(locator);
      expect(err.errno).toBe(errno.ECONNREFUSED);
      expect(err.message).toBe(`[Errno 111] ECONNREFUSED: cannot open ${locator}: connection refused`);
      expect(err.args).toEqual([errno.ECONNREFUSED, `cannot open ${locator}: connection refused`]);
    }
  });

  it('a device path that does not exist: ENOENT; a file that is no serial port: ENOTTY; a directory: EISDIR', async () => {
    expect(await openFailure('/nonexistent/ttyUSB9')).toMatchObject({
      errno: errno.ENOENT,
      message: '[Errno 2] ENOENT: cannot open /nonexistent/ttyUSB9: no such file or directory',
    });
    const notTty = await openFailure('/etc/hostname');
    expect(notTty.errno).toBe(errno.ENOTTY);
    expect(notTty.message).toMatch(/^\[Errno 25\] ENOTTY: cannot open \/etc\/hostname: not a serial port/);
    expect((await openFailure('/')).errno).toBe(errno.EISDIR);
  });

  describe('a pty another host holds', () => {
    let emu: SpawnedEmulator;
    let first: Device;
    beforeAll(async () => {
      emu = await spawnEmulator(['--pty']);
      first = await openDevice(emu.pty as string);
    });
    afterAll(async () => {
      await first?.close();
      await emu?.stop();
    });

    it('is EBUSY (serialport locks the port)', async () => {
      const err = await openFailure(emu.pty as string);
      expect(err.errno).toBe(errno.EBUSY);
      expect(err.message).toBe(`[Errno 16] EBUSY: cannot open ${emu.pty}: device or resource busy`);
    });
  });

  it('a locator that is not one: a ValueError naming it', async () => {
    await expect(openDevice('bogus://x')).rejects.toMatchObject({
      name: 'ValueError',
      message: /locator: unknown locator 'bogus:\/\/x'/,
    });
    await expect(openDevice('socket://127.0.0.1')).rejects.toMatchObject({
      name: 'ValueError',
      message: /socket:\/\/ needs host and port/,
    });
  });
});

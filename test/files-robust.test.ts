/**
 * The device file store under attack and under pressure (issue "Nothing hangs, nothing is lost"):
 * a hard link planted in `--flash DIR` never reaches the file outside; a write that runs out of
 * room leaves nothing behind (the old file intact, the quota free); an over-long name is an
 * OSError (ENAMETOOLONG), never a RangeError.
 */
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, OSError, openDevice } from '../index.js';

let dev: Device | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await dev?.close();
  dev = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function raises(p: Promise<unknown>, errno: number): Promise<OSError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OSError);
  expect((err as OSError).errno).toBe(errno);
  return err as OSError;
}

describe('device file store robustness', () => {
  it('a hard link inside --flash DIR neither reads nor overwrites the file outside', async () => {
    const top = mkdtempSync(join(tmpdir(), 'netcoproc-hl-'));
    dirs.push(top);
    const flash = join(top, 'flash');
    const secret = join(top, 'secret.txt');
    writeFileSync(secret, 'outside the store');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(flash);
    linkSync(secret, join(flash, 'link.pem'));
    dev = await openDevice('emulator:', { emulator: { pki: undefined, flash: { dir: flash } } });
    const read = await dev.files.read('/flash/link.pem').then(
      (b) => new TextDecoder().decode(b),
      (e: unknown) => e,
    );
    expect(read).toBeInstanceOf(OSError);
    await dev.files.write('/flash/link.pem', 'overwritten').catch(() => undefined);
    expect(readFileSync(secret, 'utf8')).toBe('outside the store');
  });

  it.each([
    ['in memory', false],
    ['in --flash DIR', true],
  ])('a write that runs out of room leaves nothing behind (%s)', async (_name, onDisk) => {
    const flash = onDisk ? mkdtempSync(join(tmpdir(), 'netcoproc-q-')) : undefined;
    if (flash) dirs.push(flash);
    dev = await openDevice('emulator:', {
      emulator: { pki: undefined, flash: { quota: 16 * 1024, ...(flash ? { dir: flash } : {}) } },
    });
    const { ENOSPC } = dev.errno;
    await dev.files.write('/flash/keep.pem', 'old');
    // 20 KiB goes out in several frames: the first ones fit, a later one does not.
    await raises(dev.files.write('/flash/big.bin', new Uint8Array(20 * 1024)), ENOSPC);
    await raises(dev.files.write('/flash/keep.pem', new Uint8Array(20 * 1024)), ENOSPC);
    expect(new TextDecoder().decode(await dev.files.read('/flash/keep.pem'))).toBe('old');
    expect((await dev.files.list()).map((e) => e.name)).toEqual(['keep.pem']);
    // The quota is free again: 15 KiB fits.
    await dev.files.write('/flash/fits.bin', new Uint8Array(15 * 1024));
  });

  it('an over-long name is OSError ENAMETOOLONG, from the host (300 chars) and the device (100)', async () => {
    dev = await openDevice('emulator:', { emulator: { pki: undefined } });
    const { ENAMETOOLONG } = dev.errno;
    for (const n of [300, 100]) {
      const path = `/flash/${'n'.repeat(n)}`;
      await raises(dev.files.write(path, 'x'), ENAMETOOLONG);
      await raises(dev.files.read(path), ENAMETOOLONG);
      await raises(dev.files.remove(path), ENAMETOOLONG);
    }
    await raises(dev.files.list(`/flash/${'d'.repeat(300)}`), ENAMETOOLONG);
    expect(await dev.files.list()).toEqual([]);
  });
});

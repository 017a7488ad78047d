/**
 * The device file store end to end: `dev.files` in host-lib → SLIP FILE_* frames → the
 * emulator's FileStore, in-process through `openDevice('emulator:')`, and once through the
 * real `netcoproc emulate --flash DIR` process.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CAP } from '../firmware-protocol/index.js';
import { type FixturePki, generateFixturePki } from '../fixtures/certs/index.js';
import { SlipDriver } from '../host-lib/slip/slip-driver.js';
import { type Device, OSError, openDevice } from '../index.js';
import { spawnEmulator } from './helpers/spawn-emulator.js';

let pki: FixturePki;
let dev: Device | undefined;

beforeAll(async () => {
  pki = await generateFixturePki();
});
afterEach(async () => {
  await dev?.close();
  dev = undefined;
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

/** 10 KiB of every byte value in a scrambled order, so a misplaced frame shows. */
const BLOB = Uint8Array.from({ length: 10 * 1024 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);

describe('dev.files over SLIP, in-process', () => {
  it('announces the files capability and ships the network CA as /flash/cert/ca.pem', async () => {
    dev = await openDevice('emulator:', { emulator: { pki } });
    expect(dev.driver).toBeInstanceOf(SlipDriver);
    expect((dev.driver as SlipDriver).session.capabilities & CAP.files).toBe(CAP.files);
    expect(await dev.files.list()).toEqual([{ name: 'cert', size: 0, dir: true }]);
    expect(await dev.files.list('/flash/cert')).toEqual([{ name: 'ca.pem', size: pki.ca.length, dir: false }]);
    expect(new TextDecoder().decode(await dev.files.read('/flash/cert/ca.pem'))).toBe(pki.ca);
  });

  it("openDevice('emulator:') ships the fixture CA by default", async () => {
    dev = await openDevice('emulator:');
    expect(new TextDecoder().decode(await dev.files.read('/flash/cert/ca.pem'))).toBe(pki.ca);
  });

  it('without TLS material the store starts empty', async () => {
    dev = await openDevice('emulator:', { emulator: { pki: undefined } });
    expect(await dev.files.list()).toEqual([]);
    await raises(dev.files.read('/flash/cert/ca.pem'), dev.errno.ENOENT);
  });

  it.each([
    ['default frames', {}],
    ['1 KiB host frames (read in 11 frames)', { maxFrame: 1034 }],
  ])('writes, reads, lists and deletes a 10 KiB file intact (%s)', async (_name, opts) => {
    dev = await openDevice('emulator:', { ...opts, emulator: { pki: undefined } });
    // The wipy profile takes 4 KiB frames: the write goes out in three FILE_WRITEs.
    expect(await dev.files.write('/flash/data/blob.bin', BLOB)).toBe(BLOB.length);
    const back = await dev.files.read('/flash/data/blob.bin');
    expect(back.length).toBe(BLOB.length);
    expect(Buffer.from(back).equals(Buffer.from(BLOB))).toBe(true);
    expect(await dev.files.list('/flash/data')).toEqual([{ name: 'blob.bin', size: BLOB.length, dir: false }]);
    await dev.files.write('/flash/data/blob.bin', 'short'); // replaces, never appends
    expect(new TextDecoder().decode(await dev.files.read('/flash/data/blob.bin'))).toBe('short');
    await dev.files.remove('/flash/data/blob.bin');
    await raises(dev.files.read('/flash/data/blob.bin'), dev.errno.ENOENT);
    await raises(dev.files.list('/flash/data'), dev.errno.ENOENT);
  });

  it('path traversal and bad names fail with a clear OSError, and nothing is written', async () => {
    dev = await openDevice('emulator:', { emulator: { pki: undefined } });
    const { EACCES, EINVAL } = dev.errno;
    for (const path of ['../x', '/etc/passwd', '/flash/../x', '/flash/cert/../../etc/passwd']) {
      const err = await raises(dev.files.write(path, 'x'), EACCES);
      expect(err.message).toContain(path);
      await raises(dev.files.read(path), EACCES);
      await raises(dev.files.remove(path), EACCES);
    }
    await raises(dev.files.write('/flash/x\0.pem', 'x'), EINVAL);
    await raises(dev.files.write(`/flash/${'n'.repeat(100)}`, 'x'), dev.errno.ENAMETOOLONG); // SPEC rev 1.1
    expect(await dev.files.list()).toEqual([]);
    await expect(dev.files.write(42 as unknown as string, 'x')).rejects.toThrow(TypeError);
  });

  it('a file or directory where the other is expected, and the quota, give EISDIR / ENOTDIR / ENOSPC', async () => {
    dev = await openDevice('emulator:', { emulator: { flash: { quota: 16 * 1024 } } });
    const { EISDIR, ENOTDIR, ENOSPC } = dev.errno;
    await dev.files.write('/flash/cert/ca.pem', 'pem');
    await raises(dev.files.write('/flash/cert', 'x'), EISDIR);
    await raises(dev.files.read('/flash/cert'), EISDIR);
    await raises(dev.files.write('/flash/cert/ca.pem/x', 'x'), ENOTDIR);
    await raises(dev.files.write('/flash/big', new Uint8Array(20 * 1024)), ENOSPC);
    expect(await dev.files.read('/flash/cert/ca.pem')).toEqual(new TextEncoder().encode('pem'));
  });
});

describe('netcoproc emulate --flash DIR', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netcoproc-flash-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the files in DIR, with the generated network CA provisioned', async () => {
    const emu = await spawnEmulator(['--flash', dir]);
    try {
      dev = await openDevice(emu.url as string);
      const ca = new TextDecoder().decode(await dev.files.read('/flash/cert/ca.pem'));
      expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----\r?\n/);
      expect(readFileSync(join(dir, 'cert', 'ca.pem'), 'utf8')).toBe(ca);
      await dev.files.write('/flash/main.py', 'print(1)\n');
      expect(readFileSync(join(dir, 'main.py'), 'utf8')).toBe('print(1)\n');
      await dev.files.remove('/flash/main.py');
      expect(existsSync(join(dir, 'main.py'))).toBe(false);
      await dev.close();
      dev = undefined;
    } finally {
      expect(await emu.stop()).toBe(0);
    }
  });
});

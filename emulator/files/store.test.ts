import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceError } from '../core/device-error.js';
import { parseFlashPath } from './paths.js';
import { FileStore } from './store.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DeviceError);
    return (err as DeviceError).code;
  }
  throw new Error('expected a DeviceError');
}

describe('parseFlashPath', () => {
  it('accepts absolute paths under /flash', () => {
    expect(parseFlashPath('/flash/cert/ca.pem')).toEqual({
      path: '/flash/cert/ca.pem',
      segments: ['cert', 'ca.pem'],
      key: 'cert/ca.pem',
    });
    expect(parseFlashPath('/flash', true).key).toBe('');
    expect(parseFlashPath('/flash/cert/', true).key).toBe('cert');
  });

  it.each([
    ['../x', 'EACCES'],
    ['../../etc/passwd', 'EACCES'],
    ['/etc/passwd', 'EACCES'],
    ['/flash/../x', 'EACCES'],
    ['/flash/cert/../../etc/passwd', 'EACCES'],
    ['/flash/./x', 'EACCES'],
    ['/flashy/x', 'EACCES'],
    ['flash/x', 'EACCES'],
    ['/', 'EACCES'],
    ['/flash/x\0.pem', 'EINVAL'],
    ['/flash/\0', 'EINVAL'],
    ['/flash/a\\..\\b', 'EINVAL'],
    ['/flash/a\nb', 'EINVAL'],
    ['/flash//x', 'EINVAL'],
    ['/flash/x/', 'EINVAL'],
    ['/flash/x.', 'EINVAL'],
    ['', 'EINVAL'],
    [`/flash/${'a'.repeat(65)}`, 'ENAMETOOLONG'],
    [`/flash/${'abcdefgh/'.repeat(14)}x`, 'ENAMETOOLONG'],
    ['/flash', 'EISDIR'],
  ])('rejects %j with %s and a message naming the path', (path, code) => {
    try {
      parseFlashPath(path);
    } catch (err) {
      expect(err).toBeInstanceOf(DeviceError);
      expect((err as DeviceError).code).toBe(code);
      expect((err as DeviceError).message).toContain(JSON.stringify(path));
      return;
    }
    throw new Error(`${JSON.stringify(path)} was accepted`);
  });
});

describe('FileStore in memory', () => {
  it('writes, reads by offset and length, lists, and deletes', async () => {
    const store = new FileStore();
    await store.write('/flash/cert/ca.pem', bytes('hello world'), { truncate: true });
    expect(text(await store.read('/flash/cert/ca.pem'))).toBe('hello world');
    expect(text(await store.read('/flash/cert/ca.pem', 6, 3))).toBe('wor');
    expect(await store.read('/flash/cert/ca.pem', 11, 10)).toEqual(new Uint8Array(0));
    expect(await store.read('/flash/cert/ca.pem', 99, 10)).toEqual(new Uint8Array(0));
    expect(await store.list()).toEqual([{ name: 'cert', size: 0, dir: true }]);
    expect(await store.list('/flash/cert')).toEqual([{ name: 'ca.pem', size: 11, dir: false }]);
    await store.remove('/flash/cert/ca.pem');
    expect(await errnoOf(store.read('/flash/cert/ca.pem'))).toBe('ENOENT');
    expect(await store.list()).toEqual([]);
    expect(await errnoOf(store.list('/flash/cert'))).toBe('ENOENT');
  });

  it('writes at an offset, fills a gap with zeros, and truncates on request', async () => {
    const store = new FileStore();
    await store.write('/flash/f', bytes('abc'));
    await store.write('/flash/f', bytes('XY'), { offset: 1 });
    expect(text(await store.read('/flash/f'))).toBe('aXY');
    await store.write('/flash/f', bytes('!'), { offset: 5 });
    expect(await store.read('/flash/f')).toEqual(Uint8Array.from([97, 88, 89, 0, 0, 33]));
    await store.write('/flash/f', bytes('z'), { truncate: true });
    expect(text(await store.read('/flash/f'))).toBe('z');
    await store.write('/flash/empty', new Uint8Array(0), { truncate: true });
    expect(await store.list()).toEqual([
      { name: 'empty', size: 0, dir: false },
      { name: 'f', size: 1, dir: false },
    ]);
  });

  it('keeps files and directories apart: EISDIR and ENOTDIR', async () => {
    const store = new FileStore();
    await store.write('/flash/cert/ca.pem', bytes('x'));
    expect(await errnoOf(store.write('/flash/cert', bytes('x')))).toBe('EISDIR');
    expect(await errnoOf(store.read('/flash/cert'))).toBe('EISDIR');
    expect(await errnoOf(store.remove('/flash/cert'))).toBe('EISDIR');
    expect(await errnoOf(store.write('/flash/cert/ca.pem/x', bytes('x')))).toBe('ENOTDIR');
    expect(await errnoOf(store.list('/flash/cert/ca.pem'))).toBe('ENOTDIR');
    expect(await errnoOf(store.remove('/flash/nothing'))).toBe('ENOENT');
  });

  it('rejects path traversal on every operation, before touching anything', async () => {
    const store = new FileStore();
    for (const path of ['../x', '/etc/passwd', '/flash/../x', '/flash/x\0']) {
      const code = path.includes('\0') ? 'EINVAL' : 'EACCES';
      expect(await errnoOf(store.write(path, bytes('x')))).toBe(code);
      expect(await errnoOf(store.read(path))).toBe(code);
      expect(await errnoOf(store.remove(path))).toBe(code);
      expect(await errnoOf(store.list(path))).toBe(code);
    }
    expect(await store.usage()).toEqual({ bytes: 0, files: 0 });
  });

  it('holds the quota and the file count: ENOSPC, and nothing is written', async () => {
    const store = new FileStore({ quota: 100, maxFiles: 2 });
    await store.write('/flash/a', new Uint8Array(60));
    expect(await errnoOf(store.write('/flash/b', new Uint8Array(41)))).toBe('ENOSPC');
    await store.write('/flash/b', new Uint8Array(40));
    expect(await errnoOf(store.write('/flash/c', new Uint8Array(0)))).toBe('ENOSPC');
    // Rewriting a file counts its new size, not old + new.
    await store.write('/flash/a', new Uint8Array(60), { truncate: true });
    expect(await errnoOf(store.write('/flash/a', new Uint8Array(1), { offset: 60 }))).toBe('ENOSPC');
    expect(await store.usage()).toEqual({ bytes: 100, files: 2 });
  });

  it('provision takes its place in the queue at once, before its content exists', async () => {
    const store = new FileStore();
    let give!: (b: Uint8Array) => void;
    const shipped = store.provision('/flash/cert/ca.pem', new Promise<Uint8Array>((resolve) => (give = resolve)));
    const read = store.read('/flash/cert/ca.pem');
    setTimeout(() => give(bytes('CA')), 10);
    await shipped;
    expect(text(await read)).toBe('CA');
  });

  it('provisionOnDemand makes the file before the first request of any kind, once, never without one', async () => {
    const store = new FileStore({ quota: 10 });
    let made = 0;
    store.provisionOnDemand('/flash/cert/ca.pem', async () => {
      made += 1;
      return bytes('CA-PEM');
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(made).toBe(0);
    // The first request is a write elsewhere: the quota already counts the shipped file.
    expect(await errnoOf(store.write('/flash/x', new Uint8Array(5)))).toBe('ENOSPC');
    expect(made).toBe(1);
    expect(text(await store.read('/flash/cert/ca.pem'))).toBe('CA-PEM');
    expect(made).toBe(1);
  });

  it('provisionOnDemand that fails leaves the file absent and the request runs', async () => {
    const store = new FileStore();
    store.provisionOnDemand('/flash/cert/ca.pem', () => Promise.reject(new Error('no PKI')));
    const warned = new Promise<string>((resolve) => process.once('warning', (w) => resolve(w.message)));
    expect(await store.list('/flash')).toEqual([]);
    expect(await warned).toBe('could not pre-provision /flash/cert/ca.pem: no PKI');
  });

  it('runs pipelined operations in arrival order', async () => {
    const store = new FileStore();
    const ops = [
      store.write('/flash/f', bytes('one'), { truncate: true }),
      store.read('/flash/f'),
      store.write('/flash/f', bytes('two'), { truncate: true }),
      store.read('/flash/f'),
    ];
    const [, first, , second] = await Promise.all(ops);
    expect(text(first as Uint8Array)).toBe('one');
    expect(text(second as Uint8Array)).toBe('two');
  });
});

describe('FileStore in a directory', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'netcoproc-flash-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps files on disk across stores, and removes emptied directories', async () => {
    const dir = tmp();
    const store = new FileStore({ dir });
    await store.write('/flash/cert/ca.pem', bytes('pem'));
    await store.write('/flash/cert/ca.pem', bytes('!'), { offset: 5 });
    expect(readFileSync(join(dir, 'cert', 'ca.pem'))).toEqual(Buffer.from('pem\0\0!'));
    const again = new FileStore({ dir });
    expect(await again.list('/flash/cert')).toEqual([{ name: 'ca.pem', size: 6, dir: false }]);
    expect(text(await again.read('/flash/cert/ca.pem', 0, 3))).toBe('pem');
    await again.remove('/flash/cert/ca.pem');
    expect(existsSync(join(dir, 'cert'))).toBe(false);
    expect(existsSync(dir)).toBe(true);
  });

  it('ignores and never follows symbolic links, and skips names no path can reach', async () => {
    const dir = tmp();
    const outside = tmp();
    writeFileSync(join(outside, 'secret'), 'secret');
    symlinkSync(join(outside, 'secret'), join(dir, 'link'));
    symlinkSync(outside, join(dir, 'linkdir'));
    mkdirSync(join(dir, 'bad name.'));
    writeFileSync(join(dir, 'bad name.', 'x'), 'x');
    writeFileSync(join(dir, 'ok'), 'ok');
    const store = new FileStore({ dir });
    expect(await store.list()).toEqual([{ name: 'ok', size: 2, dir: false }]);
    expect(await errnoOf(store.read('/flash/link'))).toBe('ENOENT');
    expect(await errnoOf(store.write('/flash/link', bytes('x')))).toBe('EACCES');
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
    expect(await errnoOf(store.write('/flash/linkdir/new', bytes('x')))).toBe('EACCES');
    expect(existsSync(join(outside, 'new'))).toBe(false);
  });
});

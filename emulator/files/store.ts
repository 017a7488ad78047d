/**
 * The emulated board's file store (SPEC §4.5): files under `/flash` (certificates in
 * `/flash/cert/`), kept in memory or in a directory of this machine. Paths are checked by
 * `parseFlashPath`; sizes are held to a quota; every failure is a DeviceError with an errno
 * name the personality turns into its wire status. Directories are implicit, as in an object
 * store: one exists while a file lies below it (`/flash` always exists).
 */
import { ERRNO_TABLE, type ErrnoName } from '../../firmware-protocol/index.js';
import { DeviceError } from '../core/device-error.js';
import { DirectoryBacking, type FileBacking, MemoryBacking } from './backing.js';
import { type FlashPath, parseFlashPath } from './paths.js';

export interface FileStoreOptions {
  /** A directory of this machine that holds the files (`--flash DIR`); default: in memory. */
  dir?: string;
  /** Total bytes of all files (default 256 KiB, a small board's flash file system). */
  quota?: number;
  /** Most files (default 64; at most 255, what one FILE_LIST answer can carry). */
  maxFiles?: number;
}

/** One FILE_LIST entry: a file with its size, or a directory (size 0). */
export interface FileEntry {
  readonly name: string;
  readonly size: number;
  readonly dir: boolean;
}

export const FILE_STORE_DEFAULTS = { quota: 256 * 1024, maxFiles: 64 } as const;

const ERRNO_NAMES = new Set<string>(ERRNO_TABLE.map(([name]) => name));

/** A backing's failure (a Node fs error) as a DeviceError: its errno name when we have it, else EIO. */
function toDeviceError(err: unknown): DeviceError {
  if (err instanceof DeviceError) return err;
  const code = (err as { code?: unknown }).code;
  const name: ErrnoName = typeof code === 'string' && ERRNO_NAMES.has(code) ? (code as ErrnoName) : 'EIO';
  return new DeviceError(name, `file store: ${(err as Error).message}`);
}

/**
 * @example
 * const store = new FileStore();                       // in memory
 * await store.write('/flash/cert/ca.pem', pem, { truncate: true });
 * await store.list('/flash/cert');                     // [{ name: 'ca.pem', size: 629, dir: false }]
 * await store.read('/flash/cert/ca.pem', 0, 100);      // the first 100 bytes
 */
export class FileStore {
  readonly quota: number;
  readonly maxFiles: number;
  private readonly backing: FileBacking;
  private index?: Map<string, number>;
  /** Operations run one at a time in arrival order: pipelined requests never interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Files the board ships with whose content is made on the first request (provisionOnDemand). */
  private onDemand: { path: FlashPath; make: () => PromiseLike<Uint8Array> }[] = [];

  constructor(opts: FileStoreOptions = {}) {
    this.quota = opts.quota ?? FILE_STORE_DEFAULTS.quota;
    this.maxFiles = Math.min(opts.maxFiles ?? FILE_STORE_DEFAULTS.maxFiles, 255);
    this.backing = opts.dir === undefined ? new MemoryBacking() : new DirectoryBacking(opts.dir);
  }

  private run<T>(op: (index: Map<string, number>) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      try {
        this.index ??= usable(await this.backing.scan());
        if (this.onDemand.length > 0) await this.shipOnDemand(this.index);
        return await op(this.index);
      } catch (err) {
        throw toDeviceError(err);
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }

  /** Bytes and files in use. */
  async usage(): Promise<{ bytes: number; files: number }> {
    return this.run(async (index) => ({ bytes: sum(index), files: index.size }));
  }

  /**
   * Writes `data` at `offset` (bytes between the old end and `offset` read as zeros);
   * `truncate` starts the file anew first. Creates the file and its directories.
   * Errors: EACCES/EINVAL (path), EISDIR, ENOTDIR (a file where a directory should be), ENOSPC.
   */
  async write(path: string, data: Uint8Array, opts: { offset?: number; truncate?: boolean } = {}): Promise<void> {
    const p = parseFlashPath(path);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new DeviceError('EINVAL', `bad offset ${offset}`);
    return this.run(async (index) => {
      checkFileSlot(index, p);
      const old = index.get(p.key);
      const size = Math.max(opts.truncate ? 0 : (old ?? 0), offset + data.length);
      if (old === undefined && index.size >= this.maxFiles) {
        throw new DeviceError('ENOSPC', `${p.path}: the store holds its maximum of ${this.maxFiles} files`);
      }
      const used = sum(index) - (old ?? 0) + size;
      if (used > this.quota) {
        throw new DeviceError('ENOSPC', `${p.path}: ${used} bytes would exceed the store's ${this.quota} byte quota`);
      }
      await this.backing.write(p.key, data, offset, opts.truncate === true);
      index.set(p.key, size);
    });
  }

  /**
   * Writes a file the board ships with (the network's CA). It takes its place in the queue at
   * once, so every later request sees it, even while `data` is still being made.
   *
   * @example store.provision('/flash/cert/ca.pem', pkiPromise.then((p) => utf8(p.ca)));
   */
  async provision(path: string, data: Uint8Array | PromiseLike<Uint8Array>): Promise<void> {
    const p = parseFlashPath(path);
    return this.run(async (index) => {
      const bytes = await data;
      checkFileSlot(index, p);
      await this.backing.write(p.key, bytes, 0, true);
      index.set(p.key, bytes.length);
    });
  }

  /**
   * A file the board ships with whose content is made only when needed: before the first request
   * of any kind (every request can see it, in a listing, a stat or the quota), never if none comes.
   * If `make` fails the file is absent (with a process warning) and the request runs.
   *
   * @example store.provisionOnDemand('/flash/cert/ca.pem', () => pki().then((p) => utf8(p.ca)));
   */
  provisionOnDemand(path: string, make: () => PromiseLike<Uint8Array>): void {
    this.onDemand.push({ path: parseFlashPath(path), make });
  }

  private async shipOnDemand(index: Map<string, number>): Promise<void> {
    const due = this.onDemand;
    this.onDemand = [];
    for (const { path, make } of due) {
      // A file that cannot be shipped is absent; the request that brought it on still runs.
      try {
        const bytes = await make();
        checkFileSlot(index, path);
        await this.backing.write(path.key, bytes, 0, true);
        index.set(path.key, bytes.length);
      } catch (err) {
        process.emitWarning(`could not pre-provision ${path.path}: ${(err as Error).message}`);
      }
    }
  }

  /** Up to `length` bytes from `offset`; fewer (or none) at the end. ENOENT, EISDIR. */
  async read(path: string, offset = 0, length = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    const p = parseFlashPath(path);
    return this.run(async (index) => {
      const size = fileSize(index, p);
      const n = Math.max(0, Math.min(length, size - offset));
      return n === 0 ? new Uint8Array(0) : this.backing.read(p.key, offset, n);
    });
  }

  /** The entries directly in `dir`, sorted by name. ENOENT, ENOTDIR. */
  async list(dir = '/flash'): Promise<FileEntry[]> {
    const p = parseFlashPath(dir, true);
    return this.run(async (index) => {
      if (index.has(p.key)) throw new DeviceError('ENOTDIR', `${p.path}: not a directory`);
      const prefix = p.key === '' ? '' : `${p.key}/`;
      const entries = new Map<string, FileEntry>();
      for (const [key, size] of index) {
        if (!key.startsWith(prefix)) continue;
        const [name = '', ...below] = key.slice(prefix.length).split('/');
        entries.set(name, below.length > 0 ? { name, size: 0, dir: true } : { name, size, dir: false });
      }
      if (entries.size === 0 && p.key !== '') throw new DeviceError('ENOENT', `${p.path}: no such directory`);
      return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  /**
   * Puts file `from` in the place of `to` in one step, replacing a file there (rev 1.1
   * FILE_RENAME: a host stages a multi-frame write under another name, then renames it, so a
   * write that fails half-way leaves the old file). ENOENT, EISDIR, ENOTDIR.
   */
  async rename(from: string, to: string): Promise<void> {
    const a = parseFlashPath(from);
    const b = parseFlashPath(to);
    return this.run(async (index) => {
      const size = fileSize(index, a);
      if (a.key === b.key) return;
      checkFileSlot(index, b);
      await this.backing.rename(a.key, b.key);
      index.delete(a.key);
      index.set(b.key, size);
    });
  }

  /** Deletes a file. ENOENT, EISDIR (a directory goes away with its last file). */
  async remove(path: string): Promise<void> {
    const p = parseFlashPath(path);
    return this.run(async (index) => {
      fileSize(index, p);
      await this.backing.remove(p.key);
      index.delete(p.key);
    });
  }
}

/** Files found in a directory that no valid path names (too long, bad characters) are left out. */
function usable(found: Map<string, number>): Map<string, number> {
  return new Map(
    [...found].filter(([key]) => {
      try {
        return parseFlashPath(`/flash/${key}`).key === key;
      } catch {
        return false;
      }
    }),
  );
}

function sum(index: Map<string, number>): number {
  let total = 0;
  for (const size of index.values()) total += size;
  return total;
}

function isDir(index: Map<string, number>, key: string): boolean {
  for (const k of index.keys()) if (k.startsWith(`${key}/`)) return true;
  return false;
}

/** The size of an existing file, or the error a path that is not one deserves. */
function fileSize(index: Map<string, number>, p: FlashPath): number {
  const size = index.get(p.key);
  if (size !== undefined) return size;
  if (isDir(index, p.key)) throw new DeviceError('EISDIR', `${p.path}: is a directory`);
  throw new DeviceError('ENOENT', `${p.path}: no such file`);
}

/** A file may be created at `p`: no directory there, and no file where its directories go. */
function checkFileSlot(index: Map<string, number>, p: FlashPath): void {
  if (isDir(index, p.key)) throw new DeviceError('EISDIR', `${p.path}: is a directory`);
  for (let i = 1; i < p.segments.length; i++) {
    const parent = p.segments.slice(0, i).join('/');
    if (index.has(parent)) throw new DeviceError('ENOTDIR', `/flash/${parent}: not a directory`);
  }
}

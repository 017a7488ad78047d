/**
 * Where the file store keeps bytes: in memory (the default: a fresh board each run) or in a
 * directory of the machine (`--flash DIR`: the board's flash survives restarts). Backings see
 * only keys already checked by `parseFlashPath` ('cert/ca.pem'); the store does every other
 * check (quota, file vs directory) before calling them.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { DeviceError } from '../core/device-error.js';

export interface FileBacking {
  /** Every file with its size, read once when the store opens. */
  scan(): Promise<Map<string, number>>;
  /** Up to `length` bytes from `offset` (fewer at the end). */
  read(key: string, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Writes `data` at `offset` (a gap before it reads as zeros); `truncate` starts the file anew.
   * All or nothing: a write that fails leaves the file as it was.
   */
  write(key: string, data: Uint8Array, offset: number, truncate: boolean): Promise<void>;
  remove(key: string): Promise<void>;
  /** Puts file `from` in the place of `to` (replacing it) in one step. */
  rename(from: string, to: string): Promise<void>;
}

/** Files as byte arrays in a Map. */
export class MemoryBacking implements FileBacking {
  private readonly files = new Map<string, Uint8Array>();

  async scan(): Promise<Map<string, number>> {
    return new Map([...this.files].map(([k, v]) => [k, v.length]));
  }

  async read(key: string, offset: number, length: number): Promise<Uint8Array> {
    const data = this.files.get(key) ?? new Uint8Array(0);
    return data.slice(offset, offset + length);
  }

  async write(key: string, data: Uint8Array, offset: number, truncate: boolean): Promise<void> {
    const old = truncate ? new Uint8Array(0) : (this.files.get(key) ?? new Uint8Array(0));
    const next = new Uint8Array(Math.max(old.length, offset + data.length));
    next.set(old);
    next.set(data, offset);
    this.files.set(key, next);
  }

  async remove(key: string): Promise<void> {
    this.files.delete(key);
  }

  async rename(from: string, to: string): Promise<void> {
    const data = this.files.get(from);
    if (!data) return;
    this.files.delete(from);
    this.files.set(to, data);
  }
}

/**
 * Files in a directory: `/flash/cert/ca.pem` is `DIR/cert/ca.pem`. Only plain files with one
 * name and directories count; symbolic links, hard links (a file with more than one name may be
 * one outside DIR) and special files in DIR are ignored and never followed or written through,
 * so nothing outside DIR is ever read or written. Writes are atomic: the new content goes to a
 * temporary file beside the target (its name holds a ':', which no store name may, so a leftover
 * is never taken for a file), then replaces it with a rename; a write that fails (the disk full)
 * leaves the old file. The directory is read once at start: change it while the emulator is stopped.
 */
export class DirectoryBacking implements FileBacking {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private file(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  /**
   * Refuses a key that leads through a link or special file on disk (O_NOFOLLOW alone guards
   * only the last name): every directory must be a plain directory, the file a plain file with
   * one name (a hard link could be a file outside DIR).
   */
  private async checkPath(key: string): Promise<void> {
    const parts = key.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const st = await fs.lstat(join(this.root, ...parts.slice(0, i))).catch(() => undefined);
      if (st === undefined) return;
      const plain = i < parts.length ? st.isDirectory() : st.isFile() && st.nlink === 1;
      if (!plain) {
        throw new DeviceError('EACCES', `/flash/${parts.slice(0, i).join('/')} is a link or special file on disk`);
      }
    }
  }

  async scan(): Promise<Map<string, number>> {
    await fs.mkdir(this.root, { recursive: true });
    const found = new Map<string, number>();
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          const st = await fs.lstat(full);
          if (st.nlink === 1) found.set(relative(this.root, full).split(sep).join('/'), st.size);
        }
      }
    };
    await walk(this.root);
    return found;
  }

  async read(key: string, offset: number, length: number): Promise<Uint8Array> {
    await this.checkPath(key);
    const fh = await fs.open(this.file(key), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async write(key: string, data: Uint8Array, offset: number, truncate: boolean): Promise<void> {
    const path = this.file(key);
    await this.checkPath(key);
    await fs.mkdir(dirname(path), { recursive: true });
    const old = truncate ? new Uint8Array(0) : await this.readWhole(key);
    const next = new Uint8Array(Math.max(old.length, offset + data.length));
    next.set(old);
    next.set(data, offset);
    const temp = `${path}:${randomBytes(4).toString('hex')}.tmp`;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    try {
      const fh = await fs.open(temp, flags, 0o644);
      try {
        await fh.write(next, 0, next.length, 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(temp, path);
    } catch (err) {
      await fs.unlink(temp).catch(() => {});
      throw err;
    }
  }

  /** The whole file, or nothing if there is none yet. */
  private async readWhole(key: string): Promise<Uint8Array> {
    const st = await fs.lstat(this.file(key)).catch(() => undefined);
    return st ? this.read(key, 0, st.size) : new Uint8Array(0);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.checkPath(from);
    await this.checkPath(to);
    await fs.mkdir(dirname(this.file(to)), { recursive: true });
    await fs.rename(this.file(from), this.file(to));
    await this.pruneDirs(from);
  }

  async remove(key: string): Promise<void> {
    await this.checkPath(key);
    await fs.unlink(this.file(key));
    await this.pruneDirs(key);
  }

  /** Directories exist only while they hold files, as in the memory backing. */
  private async pruneDirs(key: string): Promise<void> {
    for (let dir = dirname(this.file(key)); dir !== this.root && dir.startsWith(this.root); dir = dirname(dir)) {
      const rest = await fs.readdir(dir).catch(() => ['(unreadable)']);
      if (rest.length > 0) break;
      await fs.rmdir(dir).catch(() => {});
    }
  }
}

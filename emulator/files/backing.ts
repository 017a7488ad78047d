/**
 * Where the file store keeps bytes: in memory (the default: a fresh board each run) or in a
 * directory of the machine (`--flash DIR`: the board's flash survives restarts). Backings see
 * only keys already checked by `parseFlashPath` ('cert/ca.pem'); the store does every other
 * check (quota, file vs directory) before calling them.
 */
import { constants, promises as fs } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { DeviceError } from '../core/device-error.js';

export interface FileBacking {
  /** Every file with its size, read once when the store opens. */
  scan(): Promise<Map<string, number>>;
  /** Up to `length` bytes from `offset` (fewer at the end). */
  read(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** Writes `data` at `offset` (a gap before it reads as zeros); `truncate` starts the file anew. */
  write(key: string, data: Uint8Array, offset: number, truncate: boolean): Promise<void>;
  remove(key: string): Promise<void>;
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
}

/**
 * Files in a directory: `/flash/cert/ca.pem` is `DIR/cert/ca.pem`. Only plain files and
 * directories count; symbolic links and special files in DIR are ignored and never followed,
 * so nothing outside DIR is ever read or written. The directory is read once at start: change
 * it while the emulator is stopped.
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
   * only the last name): every directory must be a plain directory, the file a plain file.
   */
  private async checkPath(key: string): Promise<void> {
    const parts = key.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const st = await fs.lstat(join(this.root, ...parts.slice(0, i))).catch(() => undefined);
      if (st === undefined) return;
      const plain = i < parts.length ? st.isDirectory() : st.isFile();
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
        else if (entry.isFile()) found.set(relative(this.root, full).split(sep).join('/'), (await fs.stat(full)).size);
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
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (truncate ? constants.O_TRUNC : 0);
    const fh = await fs.open(path, flags, 0o644);
    try {
      await fh.write(data, 0, data.length, offset);
    } finally {
      await fh.close();
    }
  }

  async remove(key: string): Promise<void> {
    await this.checkPath(key);
    await fs.unlink(this.file(key));
    // Directories exist only while they hold files, as in the memory backing.
    for (let dir = dirname(this.file(key)); dir !== this.root && dir.startsWith(this.root); dir = dirname(dir)) {
      const rest = await fs.readdir(dir).catch(() => ['(unreadable)']);
      if (rest.length > 0) break;
      await fs.rmdir(dir).catch(() => {});
    }
  }
}

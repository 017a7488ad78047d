/**
 * `dev.files`: the coprocessor's small file store (SPEC §4.5), where TLS certificates live
 * (`/flash/cert/ca.pem`, `/flash/cert/cert.pem`, `/flash/cert/private.key`), as the WiPy's FTP
 * server would put them. Large files are split into frames by offset, staged under another name
 * and renamed into place (all or nothing). Errors are OSError in Linux numbering: ENOENT, EACCES
 * (outside /flash, `..`), EINVAL (bad name), ENAMETOOLONG, EISDIR, ENOTDIR, ENOSPC (quota),
 * EOPNOTSUPP (a coprocessor without a file store).
 */

import { randomBytes } from 'node:crypto';
import {
  CAP,
  concatBytes,
  errno as E,
  FRAME_OVERHEAD,
  type RequestBody,
  type RequestOp,
  type ResponseBody,
} from '../firmware-protocol/index.js';
import { toBytes } from './args.js';
import type { FileInfo, FileStore } from './driver.js';
import { badArg, OSError } from './errors.js';

export type { FileInfo } from './driver.js';

/** What the file module needs from a driver (the SLIP driver has it). */
export interface FileRpc {
  call<N extends RequestOp>(op: N, body: RequestBody<N>): Promise<ResponseBody<N>>;
  /** Largest frame the host accepts. */
  readonly maxFrame: number;
  readonly session: { readonly capabilities: number; readonly maxFrame: number };
}

const utf8 = new TextEncoder();
const MAX_OFFSET = 2 ** 32 - 1;

/** A path as the wire carries it (str8): longer than 255 bytes is ENAMETOOLONG, as the device says for > 128. */
function pathArg(value: unknown, arg = 'path'): string {
  if (typeof value !== 'string') throw badArg('TypeError', arg, 'expected a str');
  if (utf8.encode(value).length > 255) throw new OSError(E.ENAMETOOLONG, `${arg}: longer than 255 bytes`);
  return value;
}

/** Where a multi-frame write is staged before FILE_RENAME puts it in place (a valid name no user picks). */
function stagingPath(): string {
  return `/flash/.netcoproc-${randomBytes(4).toString('hex')}.part`;
}

/**
 * @example
 * await dev.files.write('/flash/cert/ca.pem', pem);
 * const back = await dev.files.read('/flash/cert/ca.pem');      // Uint8Array
 * await dev.files.list('/flash/cert');                          // [{ name: 'ca.pem', size: 629, dir: false }]
 * await dev.files.remove('/flash/cert/ca.pem');
 */
export class Files implements FileStore {
  constructor(private readonly rpc: FileRpc) {}

  private check(): void {
    if ((this.rpc.session.capabilities & CAP.files) === 0) {
      throw new OSError(E.EOPNOTSUPP, 'this coprocessor has no file store');
    }
  }

  /**
   * Replaces the file with `data` (bytes or str, UTF-8); resolves with the byte count. All or
   * nothing: data that needs several frames is written under a staging name and renamed into
   * place (FILE_RENAME, SPEC rev 1.1), so a write that fails (ENOSPC half-way, a lost link)
   * leaves the old file, and its partial copy is deleted.
   */
  async write(path: string, data: Uint8Array | string): Promise<number> {
    const p = pathArg(path);
    const bytes = toBytes(data, 'data');
    this.check();
    if (bytes.length > MAX_OFFSET) throw badArg('ValueError', 'data', 'larger than 4 GiB');
    if (bytes.length <= this.room(p)) {
      await this.rpc.call('FILE_WRITE', { path: p, offset: 0, truncate: 1, data: bytes });
      return bytes.length;
    }
    const staged = stagingPath();
    try {
      await this.writeFrames(staged, bytes);
      await this.rpc.call('FILE_RENAME', { from: staged, to: p });
    } catch (err) {
      await this.rpc.call('FILE_DELETE', { path: staged }).catch(() => undefined);
      if (!isOldDevice(err)) throw err;
      // A rev 1.0 device has no FILE_RENAME: write in place; a failure removes the partial file.
      await this.writeFrames(p, bytes).catch(async (e: unknown) => {
        await this.rpc.call('FILE_DELETE', { path: p }).catch(() => undefined);
        throw e;
      });
    }
    return bytes.length;
  }

  /** FILE_WRITE payload per frame for `path`. Request body: path str8, offset u32, truncate u8, data. */
  private room(path: string): number {
    const room = this.rpc.session.maxFrame - FRAME_OVERHEAD - (1 + utf8.encode(path).length) - 5;
    if (room <= 0) throw badArg('ValueError', 'path', "too long for the coprocessor's frames");
    return room;
  }

  private async writeFrames(path: string, bytes: Uint8Array): Promise<void> {
    const room = this.room(path);
    let offset = 0;
    do {
      const chunk = bytes.subarray(offset, offset + room);
      await this.rpc.call('FILE_WRITE', { path, offset, truncate: offset === 0 ? 1 : 0, data: chunk });
      offset += chunk.length;
    } while (offset < bytes.length);
  }

  /** The whole file, read frame by frame until a short answer. */
  async read(path: string): Promise<Uint8Array> {
    const p = pathArg(path);
    this.check();
    // Response body: status i16, then the data.
    const length = Math.min(0xffff, this.rpc.maxFrame - FRAME_OVERHEAD - 2);
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const { data } = await this.rpc.call('FILE_READ', { path: p, offset, length });
      parts.push(data);
      offset += data.length;
      if (data.length < length) break;
      if (offset > MAX_OFFSET) throw new OSError(E.EIO, `${p}: the coprocessor sent more than 4 GiB`);
    }
    return concatBytes(parts, offset);
  }

  /** The entries of a directory (default `/flash`), sorted as the coprocessor sends them. */
  async list(dir = '/flash'): Promise<FileInfo[]> {
    const d = pathArg(dir, 'dir');
    this.check();
    const { entries } = await this.rpc.call('FILE_LIST', { dir: d });
    return entries.map((e) =>
      e.name.endsWith('/')
        ? { name: e.name.slice(0, -1), size: 0, dir: true }
        : { name: e.name, size: e.size, dir: false },
    );
  }

  /** Deletes a file. */
  async remove(path: string): Promise<void> {
    const p = pathArg(path);
    this.check();
    await this.rpc.call('FILE_DELETE', { path: p });
  }
}

/** FILE_RENAME refused as unknown (EINVAL, rev 1.0 answer to an unknown opcode) or unsupported. */
function isOldDevice(err: unknown): boolean {
  return err instanceof OSError && (err.errno === E.EINVAL || err.errno === E.EOPNOTSUPP);
}

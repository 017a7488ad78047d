/**
 * serialport's unix reads and writes go through libuv's thread pool (`fs.read`/`fs.write`): every
 * chunk costs a hop to a worker thread and back, and an idle read costs two (EAGAIN, wait for the
 * poller, read again). The port is opened O_NONBLOCK (bindings-cpp serialport_unix.cpp), so the
 * same calls made synchronously return at once (data, or EAGAIN and the binding waits for the
 * poller as before). Measured over a pty: small-request round trip p50 and unpaced echo, see
 * docs/performance.md. Only the fs functions change; the binding's retry and error logic stay.
 * They are libc's read/write through koffi where it loads (fd-io.ts: EAGAIN without an Error per
 * call), else Node's readSync/writeSync.
 */

import { readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { type FdIo, libcFdIo } from './fd-io.js';

interface BindingProto {
  read(this: UnixBinding, buffer: Buffer, offset: number, length: number): Promise<unknown>;
  write(this: UnixBinding, buffer: Buffer): Promise<void>;
  __netcoprocSyncIo?: boolean;
}
interface UnixBinding extends ReadablePort {
  writeOperation: Promise<void> | null;
}
type FsRead = (fd: number, b: Buffer, o: number, l: number, p: null) => Promise<{ bytesRead: number }>;
type FsWrite = (fd: number, b: Buffer, o: number, l: number) => Promise<{ bytesWritten: number }>;
/** The libc FsRead, and the same call answered at once: bytes read, or -errno. */
export type LibcRead = FsRead & { now(fd: number, b: Buffer, o: number, l: number): number };
/** The libc FsWrite, and the same call answered at once: bytes written, or -errno. */
export type LibcWrite = FsWrite & { now(fd: number, b: Buffer, o: number, l: number): number };

const ownRequire = createRequire(import.meta.url);
const { EAGAIN, EWOULDBLOCK, EINTR } = osConstants.errno;

/**
 * What unixRead/unixWrite look at (`code`) before they wait for the poller. A plain object, not an
 * Error: it never leaves them, and building an Error per EAGAIN is the cost this file avoids.
 */
const WOULD_BLOCK = Object.freeze({ code: 'EAGAIN' });

/** A failed call as Node reports it (negative `errno`, `code`, `syscall`): unixRead tells disconnects by `code`. */
function failure(errno: number, syscall: string): Promise<never> {
  if (wouldBlock(errno)) return Promise.reject(WOULD_BLOCK);
  const code = getSystemErrorName(-errno);
  return Promise.reject(Object.assign(new Error(`${syscall} failed: ${code}`), { code, errno: -errno, syscall }));
}

const fsReadNode: FsRead = (fd, buffer, offset, length, position) => {
  try {
    return Promise.resolve({ bytesRead: readSync(fd, buffer, offset, length, position) });
  } catch (error) {
    return Promise.reject(error);
  }
};

const fsWriteNode: FsWrite = (fd, buffer, offset, length) => {
  try {
    return Promise.resolve({ bytesWritten: writeSync(fd, buffer, offset, length) });
  } catch (error) {
    return Promise.reject(error);
  }
};

/** Reads per call at most: a flooding port still yields to the rest of the event loop. */
const READS_PER_CALL = 16;

const wouldBlock = (errno: number): boolean => errno === EAGAIN || errno === EWOULDBLOCK || errno === EINTR;

/**
 * Reads until the fd is empty (or the buffer full) before answering: a pty hands over at most
 * ~2-4 KiB per read, and each answer costs the stream a push, a 'data' pass through the decoder
 * and a nextTick before it asks again. A call that ended on EAGAIN makes the next one answer
 * EAGAIN without the syscall (the binding then waits for the poller, which reports at once if
 * bytes came meanwhile).
 */
export function fsReadLibc(io: FdIo): LibcRead {
  let drained = -1;
  const now = (fd: number, buffer: Buffer, offset: number, length: number): number => {
    if (drained === fd) {
      drained = -1;
      return -EAGAIN;
    }
    drained = -1;
    let got = 0;
    for (let i = 0; i < READS_PER_CALL && got < length; i++) {
      const n = io.read(fd, buffer.subarray(offset + got, offset + length));
      if (n > 0) {
        got += n;
        continue;
      }
      if (got === 0) return n;
      // Bytes first; an error other than EAGAIN is met again by the next call.
      if (n < 0 && wouldBlock(-n)) drained = fd;
      break;
    }
    return got;
  };
  const fsRead: FsRead = (fd, buffer, offset, length) => {
    const n = now(fd, buffer, offset, length);
    return n < 0 ? failure(-n, 'read') : Promise.resolve({ bytesRead: n });
  };
  return Object.assign(fsRead, { now });
}

/** What the binding's read needs of the port: its fd, and the poller that says when it is readable. */
export interface ReadablePort {
  fd: number | null;
  isOpen: boolean;
  poller?: { once(event: 'readable', listener: (err?: Error | null) => void): unknown };
}

type ReadResult = { bytesRead: number; buffer: Buffer };

/**
 * The binding's read without serialport's `unixRead` on the two paths a flowing port takes: bytes
 * are there (answered at once), or none are (wait for the poller, then read again). unixRead costs
 * an async function, debug calls and, per wait, a rejected promise; a small request's round trip
 * over a pty pays that on both of its reads (docs/performance.md item 33). A 0-byte read, an error,
 * a closed port and a port without a poller still go through `fallback` (unixRead), which reports
 * them as it always has.
 */
export function readNow(
  read: LibcRead,
  port: ReadablePort,
  buffer: Buffer,
  offset: number,
  length: number,
  fallback: () => Promise<unknown>,
): Promise<unknown> {
  const { poller } = port;
  if (!port.isOpen || port.fd === null || !poller) return fallback();
  const n = read.now(port.fd, buffer, offset, length);
  if (n > 0) return Promise.resolve<ReadResult>({ bytesRead: n, buffer });
  if (n === 0 || !wouldBlock(-n)) return fallback();
  return new Promise((resolve, reject) => {
    // A closing port's poller answers with an error: the read fails as unixRead's wait does.
    poller.once('readable', (err) =>
      err ? reject(err) : resolve(readNow(read, port, buffer, offset, length, fallback)),
    );
  });
}

/**
 * A short write means the fd is full: unixWrite then calls again at once for the rest, which
 * can only meet EAGAIN. That call is answered EAGAIN without the syscall; unixWrite waits for
 * the poller's writable, and the next call writes.
 */
export function fsWriteLibc(io: FdIo): LibcWrite {
  let short: { fd: number; buffer: Buffer; end: number } | null = null;
  const now = (fd: number, buffer: Buffer, offset: number, length: number): number => {
    if (short && short.fd === fd && short.buffer === buffer && short.end === offset) {
      short = null;
      return -EAGAIN;
    }
    short = null;
    const n = io.write(fd, buffer.subarray(offset, offset + length));
    if (n >= 0 && n < length) short = { fd, buffer, end: offset + n };
    return n;
  };
  const fsWrite: FsWrite = (fd, buffer, offset, length) => {
    const n = now(fd, buffer, offset, length);
    return n < 0 ? failure(-n, 'write') : Promise.resolve({ bytesWritten: n });
  };
  return Object.assign(fsWrite, { now });
}

/**
 * Makes serialport's Linux/macOS binding read and write without the thread pool (idempotent).
 * This reaches into bindings-cpp's dist files, so it is best effort: the binding is resolved from
 * serialport's own location (npm may nest it there), and if any file or function is not what this
 * expects (another bindings-cpp version), the port keeps serialport's own I/O: slower, never broken.
 */
export function syncSerialIo(): void {
  if (process.platform === 'win32') return;
  try {
    patchBinding(createRequire(ownRequire.resolve('serialport')));
  } catch {
    // Not the layout this was written against: serialport's thread-pool I/O stays in place.
  }
}

const WRITTEN = Promise.resolve();

/** `write` whose first call answers EAGAIN without the syscall (the caller has just met it). */
function afterEagain(write: FsWrite): FsWrite {
  let first = true;
  return (fd, buffer, offset, length) => {
    if (!first) return write(fd, buffer, offset, length);
    first = false;
    return Promise.reject(WOULD_BLOCK);
  };
}

function patchBinding(require: NodeRequire): void {
  const { unixRead } = require('@serialport/bindings-cpp/dist/unix-read.js') as {
    unixRead(o: {
      binding: UnixBinding;
      buffer: Buffer;
      offset: number;
      length: number;
      fsReadAsync: FsRead;
    }): Promise<unknown>;
  };
  const { unixWrite } = require('@serialport/bindings-cpp/dist/unix-write.js') as {
    unixWrite(o: { binding: UnixBinding; buffer: Buffer; offset: number; fsWriteAsync: FsWrite }): Promise<void>;
  };
  const mod = require(
    process.platform === 'darwin'
      ? '@serialport/bindings-cpp/dist/darwin.js'
      : '@serialport/bindings-cpp/dist/linux.js',
  ) as Record<string, { prototype: BindingProto }>;
  const Binding = mod.DarwinPortBinding ?? mod.LinuxPortBinding;
  if (!Binding || Binding.prototype.__netcoprocSyncIo) return;
  if (typeof unixRead !== 'function' || typeof unixWrite !== 'function') return;
  if (typeof Binding.prototype.read !== 'function' || typeof Binding.prototype.write !== 'function') return;
  const proto = Binding.prototype;
  const io = libcFdIo();
  const libcRead = io ? fsReadLibc(io) : null;
  const fsReadNow = libcRead ?? fsReadNode;
  const libcWrite = io ? fsWriteLibc(io) : null;
  const fsWriteNow = libcWrite ?? fsWriteNode;
  const read = proto.read;
  const write = proto.write;
  proto.read = function (this: UnixBinding, buffer, offset, length) {
    // The original checks its arguments and the open state, then calls unixRead: do the same.
    if (!Buffer.isBuffer(buffer) || buffer.length < offset + length || !this.isOpen)
      return read.call(this, buffer, offset, length);
    const fallback = () => unixRead({ binding: this, buffer, offset, length, fsReadAsync: fsReadNow });
    return libcRead ? readNow(libcRead, this, buffer, offset, length, fallback) : fallback();
  };
  proto.write = function (this: UnixBinding, buffer) {
    if (!Buffer.isBuffer(buffer) || !this.isOpen || buffer.length === 0) return write.call(this, buffer);
    let offset = 0;
    let fsWriteAsync = fsWriteNow;
    if (libcWrite && this.fd !== null) {
      // Most writes complete at once: then no async frames and no writeOperation to wait on.
      const n = libcWrite.now(this.fd, buffer, 0, buffer.length);
      if (n === buffer.length) return WRITTEN;
      // Short: unixWrite's call for the rest is answered EAGAIN (see fsWriteLibc) and it waits.
      if (n > 0) offset = n;
      else if (wouldBlock(-n)) fsWriteAsync = afterEagain(libcWrite);
      // Any other error: unixWrite meets it again and reports it as it always has.
    }
    this.writeOperation = (async () => {
      await unixWrite({ binding: this, buffer, offset, fsWriteAsync });
      this.writeOperation = null;
    })();
    return this.writeOperation;
  };
  proto.__netcoprocSyncIo = true;
}

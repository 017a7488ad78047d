/**
 * serialport's unix reads and writes go through libuv's thread pool (`fs.read`/`fs.write`): every
 * chunk costs a hop to a worker thread and back, and an idle read costs two (EAGAIN, wait for the
 * poller, read again). The port is opened O_NONBLOCK (bindings-cpp serialport_unix.cpp), so the
 * same calls made synchronously return at once (data, or EAGAIN and the binding waits for the
 * poller as before). Measured over a pty: small-request round trip p50 and unpaced echo, see
 * docs/performance.md. Only the fs functions change; the binding's retry and error logic stay.
 */

import { readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';

interface BindingProto {
  read(this: UnixBinding, buffer: Buffer, offset: number, length: number): Promise<unknown>;
  write(this: UnixBinding, buffer: Buffer): Promise<void>;
  __netcoprocSyncIo?: boolean;
}
interface UnixBinding {
  isOpen: boolean;
  writeOperation: Promise<void> | null;
}
type FsRead = (fd: number, b: Buffer, o: number, l: number, p: null) => Promise<{ bytesRead: number }>;
type FsWrite = (fd: number, b: Buffer, o: number, l: number) => Promise<{ bytesWritten: number }>;

const ownRequire = createRequire(import.meta.url);

const fsReadNow: FsRead = (fd, buffer, offset, length, position) => {
  try {
    return Promise.resolve({ bytesRead: readSync(fd, buffer, offset, length, position) });
  } catch (error) {
    return Promise.reject(error);
  }
};

const fsWriteNow: FsWrite = (fd, buffer, offset, length) => {
  try {
    return Promise.resolve({ bytesWritten: writeSync(fd, buffer, offset, length) });
  } catch (error) {
    return Promise.reject(error);
  }
};

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
    unixWrite(o: { binding: UnixBinding; buffer: Buffer; fsWriteAsync: FsWrite }): Promise<void>;
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
  const read = proto.read;
  const write = proto.write;
  proto.read = function (this: UnixBinding, buffer, offset, length) {
    // The original checks its arguments and the open state, then calls unixRead: do the same.
    if (!Buffer.isBuffer(buffer) || buffer.length < offset + length || !this.isOpen)
      return read.call(this, buffer, offset, length);
    return unixRead({ binding: this, buffer, offset, length, fsReadAsync: fsReadNow });
  };
  proto.write = function (this: UnixBinding, buffer) {
    if (!Buffer.isBuffer(buffer) || !this.isOpen || buffer.length === 0) return write.call(this, buffer);
    this.writeOperation = (async () => {
      await unixWrite({ binding: this, buffer, fsWriteAsync: fsWriteNow });
      this.writeOperation = null;
    })();
    return this.writeOperation;
  };
  proto.__netcoprocSyncIo = true;
}

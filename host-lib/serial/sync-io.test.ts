import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { fsReadLibc, fsWriteLibc, readNow, syncSerialIo } from './sync-io.js';

// The patch is best effort (it falls back silently on a bindings-cpp it does not recognise), so
// this test is what notices when an upgrade of serialport makes it stop applying.
describe('syncSerialIo', () => {
  it.skipIf(process.platform === 'win32')('patches the installed serialport binding, once', () => {
    const req = createRequire(createRequire(import.meta.url).resolve('serialport'));
    const binding = req(
      process.platform === 'darwin'
        ? '@serialport/bindings-cpp/dist/darwin.js'
        : '@serialport/bindings-cpp/dist/linux.js',
    );
    const proto = (binding.LinuxPortBinding ?? binding.DarwinPortBinding).prototype;
    syncSerialIo();
    const read = proto.read;
    expect(proto.__netcoprocSyncIo).toBe(true);
    syncSerialIo();
    expect(proto.read).toBe(read);
  });
});

/** A scripted FdIo: each call takes the next result (bytes moved, or -errno) and records its length. */
function scripted(results: number[]) {
  const calls: number[] = [];
  const next = (buf: Uint8Array): number => {
    calls.push(buf.length);
    const r = results.shift();
    if (r === undefined) throw new Error('unexpected call');
    return r;
  };
  return {
    io: { read: (_fd: number, b: Uint8Array) => next(b), write: (_fd: number, b: Uint8Array) => next(b) },
    calls,
  };
}

describe('libc-backed binding I/O', () => {
  const { EAGAIN, EBADF } = osConstants.errno;

  it('reads until EAGAIN in one call, then answers EAGAIN once without a syscall', async () => {
    const { io, calls } = scripted([2048, 1024, -EAGAIN, 7, -EAGAIN]);
    const read = fsReadLibc(io);
    const buf = Buffer.alloc(8192);
    await expect(read(3, buf, 100, 8000, null)).resolves.toEqual({ bytesRead: 3072 });
    expect(calls).toEqual([8000, 8000 - 2048, 8000 - 3072]);
    await expect(read(3, buf, 0, 10, null)).rejects.toEqual({ code: 'EAGAIN' });
    expect(calls).toHaveLength(3);
    await expect(read(3, buf, 0, 10, null)).resolves.toEqual({ bytesRead: 7 });
  });

  it('reports a real error as Node does (code, negative errno), and EAGAIN as a plain object', async () => {
    const { io } = scripted([-EBADF, -EAGAIN]);
    const read = fsReadLibc(io);
    await expect(read(3, Buffer.alloc(4), 0, 4, null)).rejects.toMatchObject({ code: 'EBADF', errno: -EBADF });
    await expect(read(3, Buffer.alloc(4), 0, 4, null)).rejects.toEqual({ code: 'EAGAIN' });
  });

  it("answers a short write's immediate retry EAGAIN without a syscall, then writes", async () => {
    const { io, calls } = scripted([100, 50]);
    const write = fsWriteLibc(io);
    const buf = Buffer.alloc(150);
    await expect(write(3, buf, 0, 150)).resolves.toEqual({ bytesWritten: 100 });
    await expect(write(3, buf, 100, 50)).rejects.toEqual({ code: 'EAGAIN' });
    await expect(write(3, buf, 100, 50)).resolves.toEqual({ bytesWritten: 50 });
    expect(calls).toEqual([150, 50]);
  });

  it('answers a read at once when bytes are there, else waits for the poller and reads again', async () => {
    const { io, calls } = scripted([5, -EAGAIN, 3, -EAGAIN, -EBADF]);
    const read = fsReadLibc(io);
    const waiters: ((err?: Error | null) => void)[] = [];
    const port = {
      fd: 3,
      isOpen: true,
      poller: { once: (_e: 'readable', cb: (err?: Error | null) => void) => waiters.push(cb) },
    };
    let fellBack = 0;
    const fallback = () => {
      fellBack++;
      return Promise.resolve('fallback');
    };
    const buf = Buffer.alloc(64);
    await expect(readNow(read, port, buf, 0, 64, fallback)).resolves.toEqual({ bytesRead: 5, buffer: buf });
    // The 5 bytes ended on EAGAIN: the next read waits for the poller without a syscall.
    const waiting = readNow(read, port, buf, 0, 64, fallback);
    expect(calls).toHaveLength(2);
    expect(waiters).toHaveLength(1);
    waiters.shift()?.();
    await expect(waiting).resolves.toEqual({ bytesRead: 3, buffer: buf });
    // A poller that fails (the port closing) fails the read; an error from the kernel goes to unixRead.
    const failing = readNow(read, port, buf, 0, 64, fallback);
    waiters.shift()?.(new Error('Canceled'));
    await expect(failing).rejects.toThrow('Canceled');
    await expect(readNow(read, port, buf, 0, 64, fallback)).resolves.toBe('fallback');
    await expect(readNow(read, { ...port, isOpen: false }, buf, 0, 64, fallback)).resolves.toBe('fallback');
    expect(fellBack).toBe(2);
  });
});

/**
 * read(2)/write(2) through libc (koffi), returning the byte count or `-errno` instead of throwing.
 *
 * A serial port that flows meets EAGAIN on most wakes: over a pty the line discipline hands over at
 * most 4 KiB per read and takes ~12 KiB before a write is short, so each side reads until EAGAIN
 * and writes until EAGAIN several thousand times a second. Node's `readSync`/`writeSync` build an
 * Error with a stack trace for each (~10 µs measured here, against ~3 µs for the syscall through
 * koffi); see docs/performance.md item 20. koffi is required on first use (a native addon, loaded
 * when the first serial port opens); null where it or libc cannot be loaded (the caller then keeps
 * Node's calls).
 */
import { createRequire } from 'node:module';

/** Non-throwing fd I/O: bytes moved, or `-errno`. */
export interface FdIo {
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array): number;
}

let loaded: FdIo | null | undefined;

export function libcFdIo(): FdIo | null {
  if (loaded !== undefined) return loaded;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load(process.platform === 'darwin' ? 'libSystem.B.dylib' : 'libc.so.6');
    // long/unsigned long = ssize_t/size_t on LP64 (Linux, macOS); a Buffer passes as a pointer to its bytes.
    const read = lib.func('long read(int fd, void *buf, unsigned long count)') as (...a: unknown[]) => number;
    const write = lib.func('long write(int fd, const void *buf, unsigned long count)') as (...a: unknown[]) => number;
    loaded = {
      read(fd, buf) {
        const n = read(fd, buf, buf.length);
        return n < 0 ? -koffi.errno() : n;
      },
      write(fd, buf) {
        const n = write(fd, buf, buf.length);
        return n < 0 ? -koffi.errno() : n;
      },
    };
  } catch {
    loaded = null;
  }
  return loaded;
}

import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libcFdIo } from './fd-io.js';

describe.skipIf(process.platform === 'win32')('libcFdIo', () => {
  it('reads and writes a non-blocking fd, returning -EAGAIN instead of throwing', () => {
    const io = libcFdIo();
    expect(io).not.toBeNull();
    if (!io) return;
    const dir = mkdtempSync(join(tmpdir(), 'fdio-'));
    const fifo = join(dir, 'f');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const buf = Buffer.alloc(16);
      expect(io.read(fd, buf)).toBe(-osConstants.errno.EAGAIN);
      const data = Buffer.from('xxhello');
      expect(io.write(fd, data.subarray(2))).toBe(5); // a view: its own bytes, not the whole buffer's
      expect(io.read(fd, buf.subarray(3, 8))).toBe(5);
      expect(buf.subarray(3, 8).toString()).toBe('hello');
      expect(buf.subarray(0, 3)).toEqual(Buffer.alloc(3));
      expect(io.read(-1, buf)).toBe(-osConstants.errno.EBADF);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });
});

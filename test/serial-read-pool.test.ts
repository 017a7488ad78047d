/**
 * A serial port's read pool, lent back by a reader that copies what it needs (host-lib/serial/
 * read-pool.ts), over a real pty and the real serialport stream: every byte arrives intact and in
 * order, and the reads land in the same memory again instead of a fresh 64 KiB pool per 64 KiB
 * read (docs/performance.md item 32). A reader that keeps its chunks gets them intact.
 */
import { closeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { fdIo, openPtyMaster } from '../emulator/transports/pty-native.js';
import { bytePattern, firstMismatch } from '../emulator/transports/testing.js';
import { lendReads } from '../host-lib/serial/read-pool.js';
import { closeTransport, openTransport } from '../host-lib/transports.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function portOnPty(): Promise<{ port: Duplex; master: number }> {
  const { fd, path } = openPtyMaster();
  cleanup.push(() => closeSync(fd));
  const port = await openTransport(path, { baudRate: 921600 });
  cleanup.push(() => closeTransport(port));
  return { port, master: fd };
}

/** Writes `data` into the master in `piece`-byte writes, waiting while the pty is full; deadline 10 s. */
async function feed(master: number, data: Buffer, piece: number): Promise<void> {
  const io = fdIo();
  const deadline = Date.now() + 10_000;
  for (let at = 0; at < data.length; ) {
    const n = io.write(master, data.subarray(at, Math.min(at + piece, data.length)));
    if (n > 0) at += n;
    else if (n !== -osConstants.errno.EAGAIN) throw new Error(`write: errno ${-n}`);
    if (Date.now() > deadline) throw new Error(`fed ${at} of ${data.length} bytes in time`);
    await new Promise((r) => setTimeout(r, n > 0 ? 0 : 1));
  }
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe.skipIf(process.platform === 'win32')('serial read pool lent back (lendReads)', () => {
  it('a reader that copies gets every byte in order, read into the same memory again', async () => {
    const { port, master } = await portOnPty();
    const release = lendReads(port);
    expect(release).toBeDefined();
    const copies: Buffer[] = [];
    const pools = new Set<ArrayBufferLike>();
    let got = 0;
    port.on('data', (chunk: Buffer) => {
      copies.push(Buffer.from(chunk));
      pools.add(chunk.buffer);
      got += chunk.length;
      release?.(chunk);
    });
    const data = bytePattern(512 * 1024);
    await feed(master, data, 4096);
    await until(() => got >= data.length, 'all bytes');
    expect(firstMismatch(Buffer.concat(copies), data)).toBe(-1);
    // 512 KiB through 64 KiB pools would take 8 or more of them.
    expect(pools.size).toBe(1);
  });

  it('a reader that keeps its chunks (no release) gets them intact: each pool is left to it', async () => {
    const { port, master } = await portOnPty();
    const kept: Buffer[] = [];
    port.on('data', (chunk: Buffer) => kept.push(chunk));
    const data = bytePattern(512 * 1024);
    await feed(master, data, 4096);
    await until(() => kept.reduce((n, c) => n + c.length, 0) >= data.length, 'all bytes');
    expect(firstMismatch(Buffer.concat(kept), data)).toBe(-1);
    expect(new Set(kept.map((c) => c.buffer)).size).toBeGreaterThan(1);
  });

  it('is not offered for a stream it does not know', async () => {
    const { PassThrough } = await import('node:stream');
    expect(lendReads(new PassThrough())).toBeUndefined();
  });
});

import { closeSync, constants, existsSync, openSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { openPty, type PtyTransport } from './pty.js';
import { bytePattern, collect, createLoopbackUart, firstMismatch } from './testing.js';

const open: PtyTransport[] = [];
const CHUNK = 16 * 1024;
const WINDOW = 64 * 1024;

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

async function pty(uart: Duplex, events: string[] = [], link?: string): Promise<PtyTransport> {
  const transport = await openPty(uart, {
    ...(link ? { link } : {}),
    onAttach: () => events.push('attach'),
    onDetach: () => events.push('detach'),
  });
  open.push(transport);
  return transport;
}

/** Polls `predicate` every 5 ms until true or `timeoutMs` passes. */
async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function openSerial(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 921600, autoOpen: false });
    port.open((error) => (error ? reject(error) : resolve(port)));
  });
}

function call(fn: (cb: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
}

/** The host side with plain fs, non-blocking so a read can never hang the test. */
function openRaw(path: string): number {
  return openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
}

async function readRaw(fd: number, length: number, timeoutMs = 2000): Promise<Buffer> {
  const out = Buffer.alloc(length);
  let got = 0;
  const deadline = Date.now() + timeoutMs;
  while (got < length) {
    try {
      got += readSync(fd, out, got, length - got, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      if (Date.now() > deadline) throw new Error(`timeout: ${got} of ${length} bytes`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  return out;
}

describe('openPty', () => {
  it('echoes 1 MiB of all byte values through serialport, intact and in order', async () => {
    const p = await pty(createLoopbackUart());
    const port = await openSerial(p.path); // opened before any write: its open-time flush loses nothing
    const data = bytePattern(1 << 20);
    const started = performance.now();
    const rx = collect(port);
    try {
      // A window of bytes in flight, far below the transport's 256 KiB queue: serialport's poller stops
      // watching readability while one of its writes waits for room (tooling notes §1), so a host that
      // writes without bound while the device answers deadlocks against any device that applies
      // backpressure (measured here: 16 MiB in 16 KiB chunks + drain stalled after ~9 MB).
      for (let i = 0; i < data.length; i += CHUNK) {
        await rx.until(i + CHUNK - WINDOW, 5000);
        port.write(data.subarray(i, i + CHUNK));
      }
      await rx.until(data.length, 10_000);
      const seconds = (performance.now() - started) / 1000;
      expect(firstMismatch(rx.take(), data)).toBe(-1);
      console.log(`pty echo: 1 MiB each way in ${(seconds * 1000).toFixed(0)} ms = ${(1 / seconds).toFixed(1)} MiB/s`);
    } finally {
      rx.stop();
      await call((cb) => port.close(cb));
    }
  });

  it('is detached until a host opens, and reopens after serialport closed', async () => {
    const events: string[] = [];
    const p = await pty(createLoopbackUart(), events);
    await new Promise((resolve) => setTimeout(resolve, 40)); // a few idle polls
    expect(p.attached).toBe(false);
    const port = await openSerial(p.path);
    await until(() => p.attached);
    await call((cb) => port.close(cb));
    await until(() => !p.attached);
    const fd = openRaw(p.path);
    try {
      writeSync(fd, 'hello\x00\r\n');
      expect((await readRaw(fd, 8)).toString('latin1')).toBe('hello\x00\r\n');
      expect(p.attached).toBe(true);
    } finally {
      closeSync(fd);
    }
    await until(() => !p.attached);
    expect(events).toEqual(['attach', 'detach', 'attach', 'detach']);
  });

  it('drops device output while no host has the port open', async () => {
    const deviceOut = new PassThrough();
    const uart = Duplex.from({ writable: new PassThrough(), readable: deviceOut });
    const p = await pty(uart);
    deviceOut.write('stale boot banner\r\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fd = openRaw(p.path);
    try {
      await until(() => p.attached);
      deviceOut.write('fresh\r\n');
      expect((await readRaw(fd, 7)).toString()).toBe('fresh\r\n');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(() => readSync(fd, Buffer.alloc(64))).toThrow(/EAGAIN/); // nothing else came
    } finally {
      closeSync(fd);
    }
  });

  it('waits on the master while a host is attached: no polling timer, wakes on its write', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    const p = await pty(createLoopbackUart());
    const fd = openRaw(p.path);
    try {
      writeSync(fd, 'a');
      expect((await readRaw(fd, 1)).toString()).toBe('a');
      await new Promise((resolve) => setTimeout(resolve, 40)); // idle: a poll loop would keep a timer armed
      writeSync(fd, 'b');
      expect((await readRaw(fd, 1)).toString()).toBe('b');
      const idle = timers();
      await p.close(); // closing drops whatever timer the transport held
      expect(timers()).toBe(idle);
    } finally {
      closeSync(fd);
    }
  });

  it('holds device output the host is slow to read and delivers all of it once it reads', async () => {
    const deviceOut = new PassThrough();
    const uart = Duplex.from({ writable: new PassThrough(), readable: deviceOut });
    const p = await pty(uart);
    const fd = openRaw(p.path);
    try {
      await until(() => p.attached);
      const data = bytePattern(512 * 1024); // far more than the pty buffers: writes meet EAGAIN
      deviceOut.write(data);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(firstMismatch(await readRaw(fd, data.length, 5000), data)).toBe(-1);
    } finally {
      closeSync(fd);
    }
  });

  it('links the slave, and close() removes link, path and timers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netcoproc-pty-'));
    const link = join(dir, 'ttyNETCOPROC');
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    const before = timers(); // vitest's own test timeout is one of them
    try {
      const p = await pty(createLoopbackUart(), [], link);
      expect(readlinkSync(link)).toBe(p.path);
      const fd = openRaw(link);
      writeSync(fd, 'x');
      expect((await readRaw(fd, 1)).toString()).toBe('x');
      closeSync(fd);
      await p.close();
      expect(existsSync(link)).toBe(false);
      expect(existsSync(p.path)).toBe(false);
      expect(timers()).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lends its read buffer to a UART that keeps nothing, and copies for one that keeps its chunks', async () => {
    const data = bytePattern(512 * 1024);
    // A UART that copies what it is written, in the write itself: it keeps nothing.
    const copies: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const copying = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        copies.push(Buffer.from(chunk));
        buffers.add(chunk.buffer);
        done();
      },
    });
    // The loopback UART keeps every chunk (it echoes them), and says so.
    const keeping = createLoopbackUart();
    const ports = [
      await openPty(copying, { keptNothing: () => copying.writableLength === 0 }),
      await openPty(keeping, { keptNothing: () => false }),
    ];
    open.push(...ports);
    for (const p of ports) {
      const fd = openRaw(p.path);
      try {
        let at = 0;
        const deadline = Date.now() + 10_000;
        // The copying UART answers nothing; the loopback echoes, read back below.
        const echoed: Buffer[] = [];
        let echoedBytes = 0;
        while ((p === ports[0] ? copies.reduce((n, c) => n + c.length, 0) : echoedBytes) < data.length) {
          if (Date.now() > deadline) throw new Error('not delivered in time');
          if (at < data.length) {
            try {
              at += writeSync(fd, data, at, Math.min(4096, data.length - at));
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
            }
          }
          if (p === ports[1]) {
            const got = Buffer.alloc(65536);
            try {
              const n = readSync(fd, got, 0, got.length, null);
              echoed.push(got.subarray(0, n));
              echoedBytes += n;
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
            }
          }
          await new Promise((r) => setTimeout(r, 0));
        }
        if (p === ports[0]) {
          expect(firstMismatch(Buffer.concat(copies), data)).toBe(-1);
          expect(buffers.size).toBe(1); // every read went to the UART as a view of the one read buffer
        } else expect(firstMismatch(Buffer.concat(echoed), data)).toBe(-1);
      } finally {
        closeSync(fd);
      }
    }
  });
});

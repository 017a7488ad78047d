/**
 * The emulator's device output cut from recycled memory and its read buffer lent to the SLIP
 * personality (docs/performance.md item 32), as `netcoproc emulate --pty` runs them, under a real
 * host: serialport on the pty, the SLIP driver, a socket echoing 2 MiB through echo.test. Every byte
 * comes back intact, and the output's memory is used again (a few blocks carry megabytes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../emulator/emulator.js';
import { openPty, type PtyTransport } from '../emulator/transports/pty.js';
import { bytePattern, firstMismatch } from '../emulator/transports/testing.js';
import type { Device } from '../host-lib/index.js';
import { openDevice } from '../index.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe.skipIf(process.platform === 'win32')('emulated board over a pty, output recycled', () => {
  it('echoes 2 MiB intact while a few output blocks carry all of it', async () => {
    const emu: Emulator = createEmulator({});
    cleanup.push(() => emu.close());
    const done = emu.recycleUartOutput();
    expect(done).toBeDefined();
    // Chunks in the personality's 64 KiB output blocks (others are the line's joined copies of small frames).
    const blocks = new Set<ArrayBufferLike>();
    let reported = 0;
    const pty: PtyTransport = await openPty(emu.uart, {
      keptNothing: emu.uartKeptNothing,
      outputDone: (chunk) => {
        if (chunk.buffer.byteLength === 65536) {
          blocks.add(chunk.buffer);
          reported += chunk.length;
        }
        done?.(chunk);
      },
    });
    cleanup.push(() => pty.close());
    const dev = (await openDevice(pty.path, { baudRate: 921600, protocol: 'slip' })) as unknown as Device;
    cleanup.push(() => dev.close());
    const s = await dev.socket.socket();
    await s.connect(['echo.test', 7]);
    const data = bytePattern(2 * 1024 * 1024);
    const writer = (async () => {
      for (let at = 0; at < data.length; at += 65536) await s.sendall(data.subarray(at, at + 65536));
    })();
    const got: Uint8Array[] = [];
    let n = 0;
    while (n < data.length) {
      const c = await s.recv(65536);
      if (c.length === 0) break;
      got.push(c);
      n += c.length;
    }
    await writer;
    await s.close();
    expect(firstMismatch(Buffer.concat(got), data)).toBe(-1);
    // Over 2 MiB of DATA frames went out in blocks of 64 KiB, and at most 8 blocks are reused.
    expect(reported).toBeGreaterThan(data.length);
    expect(blocks.size).toBeLessThanOrEqual(8);
  });

  it('is not offered where the output is not the SLIP personality on a direct line', async () => {
    for (const opts of [{ baud: 115200 }, { protocol: 'at' as const }, { observers: [{ serial: () => {} }] }]) {
      const emu = createEmulator(opts);
      cleanup.push(() => emu.close());
      expect(emu.recycleUartOutput()).toBeUndefined();
    }
  });
});

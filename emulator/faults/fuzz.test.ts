/**
 * Fuzzing the device side: random garbage written into a running emulator's UART (SLIP and
 * ESP-AT personalities) never crashes it, never piles up input or output without bound, and
 * afterwards a proper host session works on the same UART.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../../index.js';
import { createEmulator, type Emulator } from '../index.js';
import type { SlipPersonality } from '../slip/personality.js';

const PROTOCOLS = ['slip', 'at'] as const;
const END = 0xc0;

let emu: Emulator | undefined;
let dev: Device<never> | undefined;
afterEach(async () => {
  await dev?.close().catch(() => {});
  await emu?.close();
  dev = undefined;
  emu = undefined;
});

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A running board whose output is read and thrown away, as a transport with no host does. */
function runningBoard(protocol: 'slip' | 'at'): { emu: Emulator; output: () => number } {
  emu = createEmulator({ protocol, seed: 9, pki: undefined, atTiming: { joinMs: 1 } });
  let bytes = 0;
  emu.uart.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  return { emu, output: () => bytes };
}

/** SLIP bytes since the last END: all the decoder may be holding for an unfinished frame. */
function sinceLastEnd(prev: number, chunk: Uint8Array): number {
  const i = chunk.lastIndexOf(END);
  return i < 0 ? prev + chunk.length : chunk.length - i - 1;
}

async function echoWorks(d: Device<never>): Promise<void> {
  const { socket } = d as unknown as Device;
  const s = await socket.socket();
  s.settimeout(5);
  await s.connect((await socket.getaddrinfo('echo.test', 7))[0]![4]);
  await s.sendall('still alive');
  expect(Buffer.from(await s.recv(100)).toString()).toBe('still alive');
  await s.close();
}

describe.each(PROTOCOLS)('garbage into a running %s emulator', (protocol) => {
  it('no crash, bounded buffers, then a proper host session works', async () => {
    const board = runningBoard(protocol);
    const uart = board.emu.uart;
    const slip = protocol === 'slip' ? (board.emu.personality as SlipPersonality) : undefined;
    let held = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 2048 }), { maxLength: 10 }),
        async (chunks) => {
          for (const c of chunks) {
            uart.write(c);
            held = sinceLastEnd(held, c);
            // The decoder never holds more than what came after the last END (nothing leaks across frames).
            if (slip) expect(slip.inputPending).toBeLessThanOrEqual(held);
          }
          await tick();
          expect(uart.writableLength).toBe(0);
          expect(uart.readableLength).toBeLessThan(64 * 1024);
        },
      ),
      { numRuns: 60 },
    );
    if (slip) {
      uart.write(Uint8Array.of(END));
      expect(slip.inputPending).toBe(0);
    }
    await tick();
    expect(board.output()).toBeGreaterThan(0);
    dev = (await openDevice(uart, { protocol })) as Device<never>;
    await echoWorks(dev);
  });

  it('4 MiB with no line or frame end keeps memory flat (an oversize frame / line is discarded)', async () => {
    const { emu: e } = runningBoard(protocol);
    const junk = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < junk.length; i++) junk[i] = 0x20 + ((i * 7919) % 90); // printable, no C0, no CR/LF
    await tick();
    const before = process.memoryUsage().arrayBuffers;
    for (let o = 0; o < junk.length; o += 4096) e.uart.write(junk.subarray(o, o + 4096));
    await tick();
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(1024 * 1024);
    // What the SLIP decoder holds for the endless frame: nothing once it passed the frame limit.
    if (protocol === 'slip') expect((e.personality as SlipPersonality).inputPending).toBe(0);
    expect(e.uart.writableLength).toBe(0);
    e.uart.write(protocol === 'slip' ? Uint8Array.of(END) : new TextEncoder().encode('\r\n'));
    dev = (await openDevice(e.uart, { protocol })) as Device<never>;
    await echoWorks(dev);
  });
});

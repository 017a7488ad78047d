import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createPacer, paceDuplex } from './pace.js';
import { bytePattern, firstMismatch, readBytes } from './testing.js';

describe('createPacer', () => {
  it('moves 20 KB at 115200 baud in about 20000/11520 s, intact', async () => {
    const pacer = createPacer(115200);
    const data = bytePattern(20_000);
    const started = performance.now();
    const received = readBytes(pacer, data.length, 5000);
    // One big write is over the writable high-water mark: the pacer must push back until it is sent.
    expect(pacer.write(data)).toBe(false);
    const drained = new Promise<number>((resolve) => pacer.once('drain', () => resolve(performance.now())));
    const got = await received;
    const seconds = (performance.now() - started) / 1000;
    expect(firstMismatch(got, data)).toBe(-1);
    expect(seconds).toBeGreaterThan(1.4); // nominal 1.736 s
    expect(seconds).toBeLessThan(2.6);
    expect((await drained) - started).toBeGreaterThan(1400);
    pacer.destroy();
  });

  it('saves nothing while idle: after a pause a frame still takes its line time (a UART cannot go faster)', async () => {
    const pacer = createPacer(19200); // 1,920 bytes/s: 16 bytes take 8.3 ms
    pacer.resume();
    await new Promise((resolve) => setTimeout(resolve, 300)); // idle: the old pacer saved 10 ms here
    const data = bytePattern(16);
    const started = performance.now();
    const received = readBytes(pacer, data.length, 2000);
    pacer.write(data);
    expect(firstMismatch(await received, data)).toBe(-1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(8);
    pacer.destroy();
  });

  it('is an unpaced passthrough at baud 0', async () => {
    const pacer = createPacer(0);
    const data = bytePattern(1 << 20);
    const started = performance.now();
    const received = readBytes(pacer, data.length, 2000);
    pacer.end(data);
    expect(firstMismatch(await received, data)).toBe(-1);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('keeps order across many small writes', async () => {
    const pacer = createPacer(921600);
    const data = bytePattern(9000);
    const received = readBytes(pacer, data.length, 2000);
    for (let i = 0; i < data.length; i += 7) pacer.write(data.subarray(i, i + 7));
    expect(firstMismatch(await received, data)).toBe(-1);
    pacer.destroy();
  });

  it('stops its timer when destroyed mid-chunk', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers(); // vitest's own test timeout is one of them
    const pacer = createPacer(9600);
    pacer.write(bytePattern(10_000)); // ~10 s of traffic
    pacer.resume();
    await new Promise((resolve) => setTimeout(resolve, 20));
    pacer.destroy();
    await new Promise((resolve) => pacer.once('close', resolve));
    expect(timers()).toBe(before);
  });

  it('rejects a negative baud', () => {
    expect(() => createPacer(-1)).toThrow(RangeError);
  });
});

describe('paceDuplex', () => {
  it('returns the UART itself when unpaced', () => {
    const uart = new PassThrough();
    expect(paceDuplex(uart, 0)).toBe(uart);
  });

  it('paces both directions independently', async () => {
    const hostToDevice = new PassThrough();
    const deviceToHost = new PassThrough();
    const uart = Duplex.from({ writable: hostToDevice, readable: deviceToHost });
    const line = paceDuplex(uart, 115200);
    const data = bytePattern(2304); // 0.2 s each way at 11520 B/s
    const started = performance.now();
    const atDevice = readBytes(hostToDevice, data.length, 2000);
    const atHost = readBytes(line, data.length, 2000);
    line.write(data);
    deviceToHost.write(data);
    const [a, b] = await Promise.all([atDevice, atHost]);
    const seconds = (performance.now() - started) / 1000;
    expect(firstMismatch(a, data)).toBe(-1);
    expect(firstMismatch(b, data)).toBe(-1);
    // Sequential sharing of one budget would take 0.4 s; independent directions take ~0.19 s.
    expect(seconds).toBeGreaterThan(0.14);
    expect(seconds).toBeLessThan(0.33);
    line.destroy();
  });
});

/**
 * The faulty line as a stream: latency and jitter never reorder bytes, a big transfer keeps
 * its backpressure, stalls hold bytes back, a hung device ignores input and holds its output.
 */
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../random.js';
import { bytePattern, collect, createLoopbackUart, firstMismatch, readBytes } from '../transports/testing.js';
import { FaultyLine } from './faulty-line.js';
import { LineFaults } from './line-faults.js';
import type { LineConfig } from './scenario.js';
import type { FaultEvent } from './trace.js';

const lines: FaultyLine[] = [];
afterEach(() => {
  for (const l of lines.splice(0)) l.destroy();
});

function makeLine(uart: Duplex, toDevice: LineConfig = {}, toHost: LineConfig = {}, seed = 1) {
  const trace: FaultEvent[] = [];
  const rng = seededRandom(seed);
  const triggers: string[] = [];
  const line = new FaultyLine(
    uart,
    new LineFaults('hostToDevice', toDevice, rng, (e) => trace.push(e)),
    new LineFaults('deviceToHost', toHost, rng, (e) => trace.push(e)),
    (t) => (t.kind === 'call' ? t.run() : triggers.push(t.kind)),
  );
  lines.push(line);
  return { line, trace, triggers };
}

/** A device whose output the test pushes by hand; host bytes are recorded. */
function fakeDevice(): Duplex & { got: Buffer[] } {
  const got: Buffer[] = [];
  const d = new Duplex({
    write(chunk: Buffer, _e, cb) {
      got.push(chunk);
      cb();
    },
    read() {},
  });
  return Object.assign(d, { got });
}

describe('FaultyLine', () => {
  it('keeps byte order under latency and jitter both ways', async () => {
    const { line } = makeLine(createLoopbackUart(), { latencyMs: 3, jitterMs: 12 }, { latencyMs: 1, jitterMs: 9 });
    const data = bytePattern(64 * 1024);
    const t0 = performance.now();
    const rx = readBytes(line, data.length, 5000);
    for (let o = 0; o < data.length; o += 331) line.write(data.subarray(o, o + 331));
    const back = await rx;
    expect(firstMismatch(back, data)).toBe(-1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(4);
  });

  it('moves 2 MiB intact with jitter, holding the writer back instead of buffering without bound', async () => {
    const { line } = makeLine(createLoopbackUart(), { jitterMs: 2 }, { jitterMs: 2 });
    const data = bytePattern(2 * 1024 * 1024);
    const rx = readBytes(line, data.length, 10_000);
    let refused = 0;
    for (let o = 0; o < data.length; o += 16384) {
      if (!line.write(data.subarray(o, o + 16384))) {
        refused++;
        await new Promise((r) => line.once('drain', r));
      }
    }
    expect(firstMismatch(await rx, data)).toBe(-1);
    expect(refused).toBeGreaterThan(0);
  });

  it('a stall holds the bytes back for its duration, then delivers them in order', async () => {
    const { line, trace } = makeLine(createLoopbackUart(), {}, { stalls: [{ atByte: 100, forMs: 120 }] });
    const rx = collect(line);
    const t0 = performance.now();
    line.write(bytePattern(300));
    await rx.until(100, 1000);
    expect(rx.length).toBe(100);
    await rx.until(300, 2000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    expect(rx.take().equals(bytePattern(300))).toBe(true);
    expect(trace).toEqual([{ dir: 'deviceToHost', kind: 'stall', offset: 100, ms: 120, source: 'scenario' }]);
  });

  it('a hung device ignores input and holds its output until it resumes', async () => {
    const dev = fakeDevice();
    const { line } = makeLine(dev);
    const rx = collect(line);
    line.hangDevice();
    line.write(Buffer.from('ignored'));
    dev.push(Buffer.from('held'));
    await new Promise((r) => setTimeout(r, 30));
    expect(dev.got).toEqual([]);
    expect(line.ignoredWhileHung).toBe(7);
    expect(rx.length).toBe(0);
    line.resumeDevice();
    line.write(Buffer.from('heard'));
    await rx.until(4, 1000);
    expect(rx.take().toString()).toBe('held');
    expect(Buffer.concat(dev.got).toString()).toBe('heard');
  });

  it('a power cycle of a hung device loses what its UART held', async () => {
    const dev = fakeDevice();
    const { line } = makeLine(dev);
    const rx = collect(line);
    line.hangDevice();
    dev.push(Buffer.from('stale reply'));
    await new Promise((r) => setImmediate(r));
    line.powerCycle();
    dev.push(Buffer.from('BOOT'));
    await rx.until(4, 1000);
    await new Promise((r) => setTimeout(r, 10));
    expect(rx.take().toString()).toBe('BOOT');
    expect(line.hung).toBe(false);
  });

  it('runs byte-offset triggers after exactly the bytes before them', async () => {
    const dev = fakeDevice();
    const { line, triggers } = makeLine(dev);
    let seenAtReboot = -1;
    line.faults('hostToDevice').at(5, { kind: 'call', run: () => (seenAtReboot = Buffer.concat(dev.got).length) });
    line.write(Buffer.from('0123456789'));
    await new Promise((r) => setImmediate(r));
    expect(seenAtReboot).toBe(5);
    expect(triggers).toEqual([]);
    line.faults('hostToDevice').at(12, { kind: 'reboot' });
    line.write(Buffer.from('abc'));
    expect(triggers).toEqual(['reboot']);
  });
});

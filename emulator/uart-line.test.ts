/**
 * The in-process line (uart-line.ts): device output never inside the host's write, in order with
 * its end, and on turns of the loop only when asked (`netcoproc emulate`).
 */
import { type Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { asLine } from './uart-line.js';

/** A stand-in device: what the host writes comes back as device output, chunk for chunk. */
function echoDevice(): Duplex {
  return new PassThrough();
}

function collect(line: Duplex): { chunks: Uint8Array[]; ended: Promise<void> } {
  const chunks: Uint8Array[] = [];
  const ended = new Promise<void>((resolve) => line.once('end', () => resolve()));
  line.on('data', (c: Uint8Array) => chunks.push(c));
  return { chunks, ended };
}

describe.each([false, true])('asLine (output per turn: %s)', (perTurn) => {
  it('never delivers inside the host write', async () => {
    const line = asLine(echoDevice(), perTurn);
    let inWrite = false;
    let duringWrite = 0;
    let total = 0;
    const ended = new Promise<void>((resolve) => line.once('end', () => resolve()));
    line.on('data', (c: Uint8Array) => {
      total += c.length;
      if (inWrite) duringWrite++;
    });
    let sent = 0;
    for (let i = 0; i < 100; i++) {
      inWrite = true;
      line.write(new Uint8Array(1 + (i % 9)));
      inWrite = false;
      sent += 1 + (i % 9);
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    line.end();
    await ended;
    expect(total).toBe(sent);
    expect(duringWrite).toBe(0);
    line.destroy();
  });

  it('hands over exactly what the device sent, in order, with small chunks joined', async () => {
    const device = echoDevice();
    const line = asLine(device, perTurn);
    const got = collect(line);
    const expected: number[] = [];
    for (let i = 0; i < 300; i++) {
      const chunk = new Uint8Array(i % 11 === 0 ? 3000 : 1 + (i % 17)).fill(i & 0xff);
      expected.push(...chunk);
      line.write(chunk);
      if (i % 3 === 0) await Promise.resolve();
      if (i % 40 === 0) await new Promise((r) => setImmediate(r));
    }
    line.end();
    await got.ended;
    expect(Buffer.concat(got.chunks).equals(Buffer.from(expected))).toBe(true);
    expect(got.chunks.length).toBeLessThan(300);
    line.destroy();
  });
});

describe('asLine output timing', () => {
  it('per turn: nothing arrives before a check phase', async () => {
    const line = asLine(echoDevice(), true);
    const got = collect(line);
    line.write(new Uint8Array([1, 2, 3]));
    await new Promise<void>((r) => process.nextTick(r));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(got.chunks.length).toBe(0);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(got.chunks)).toEqual(Buffer.from([1, 2, 3]));
    line.destroy();
  });

  it('in-process: output arrives without a turn, yet a host and device answering each other let the loop turn', async () => {
    const line = asLine(echoDevice(), false);
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // The first answer comes before any turn of the loop.
    const first = new Promise<Uint8Array>((r) => line.once('data', r));
    line.write(new Uint8Array([7]));
    expect(await first).toEqual(Buffer.from([7]));
    expect(turns).toBe(0);
    // A host that writes again on every answer (a loop of requests) still lets timers run.
    let timerFired = false;
    setTimeout(() => {
      timerFired = true;
    }, 0);
    let answers = 0;
    await new Promise<void>((resolve) => {
      line.on('data', () => {
        answers++;
        // Bounded, so a line that never lets the loop turn fails here instead of hanging.
        if (timerFired || answers >= 200_000) resolve();
        else line.write(new Uint8Array([answers & 0xff]));
      });
      line.write(new Uint8Array([0]));
    });
    ticking = false;
    expect(timerFired).toBe(true);
    expect(turns).toBeGreaterThan(0);
    line.destroy();
  });
});

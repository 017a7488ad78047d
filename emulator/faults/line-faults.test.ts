/**
 * The pure line-fault decisions: rates give about the expected number of faults, the same seed
 * gives the same trace and bytes whatever the chunking, triggers land on exact byte offsets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.js';
import { type LineAction, LineFaults } from './line-faults.js';
import type { LineConfig } from './scenario.js';
import type { FaultEvent } from './trace.js';

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

/** Feeds `input` in chunks of the given sizes (cycled); returns output bytes, actions and trace. */
function run(config: LineConfig, input: Uint8Array, seed = 1, sizes: number[] = [input.length]) {
  const trace: FaultEvent[] = [];
  const f = new LineFaults('hostToDevice', config, seededRandom(seed), (e) => trace.push(e));
  const actions: LineAction[] = [];
  for (let o = 0, k = 0; o < input.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length] as number);
    actions.push(...f.push(input.subarray(o, o + n)));
    o += n;
  }
  const data = actions.flatMap((a) => (a.type === 'data' ? [a.bytes] : []));
  return { out: Buffer.concat(data), actions, trace, faults: f };
}

const kinds = (t: FaultEvent[], kind: string) => t.filter((e) => e.kind === kind);

describe('LineFaults', () => {
  it('passes clean bytes through without copying', () => {
    const input = pattern(4096);
    const f = new LineFaults('deviceToHost', {}, seededRandom(1), () => {});
    const [a] = f.push(input);
    expect(a).toEqual({ type: 'data', bytes: input, delayMs: 0 });
    expect((a as { bytes: Uint8Array }).bytes).toBe(input);
    expect(f.offset).toBe(4096);
  });

  it('corrupts about rate × bytes, exactly at the traced offsets, with the traced masks', () => {
    const input = pattern(1_000_000);
    const { out, trace } = run({ corrupt: 1e-3 }, input, 7);
    const events = kinds(trace, 'corrupt');
    expect(events.length).toBeGreaterThan(850);
    expect(events.length).toBeLessThan(1150);
    expect(out.length).toBe(input.length);
    const diffs: number[] = [];
    for (let i = 0; i < input.length; i++) if (out[i] !== input[i]) diffs.push(i);
    expect(diffs).toEqual(events.map((e) => e.offset));
    for (const e of events)
      expect(out[e.offset as number]).toBe((input[e.offset as number] as number) ^ (e.bytes?.[0] as number));
  });

  it('drops and inserts about rate × bytes; the output length adds up', () => {
    const input = pattern(500_000);
    const { out, trace } = run({ drop: 2e-3, insert: 1e-3 }, input, 3);
    const drops = kinds(trace, 'drop');
    const inserts = kinds(trace, 'insert');
    expect(drops.length).toBeGreaterThan(850);
    expect(drops.length).toBeLessThan(1150);
    expect(inserts.length).toBeGreaterThan(400);
    expect(inserts.length).toBeLessThan(600);
    expect(out.length).toBe(input.length - drops.length + inserts.length);
  });

  it('bursts hit N consecutive bytes per event, and the rate stays the fraction of bytes hit', () => {
    const input = pattern(400_000);
    const { out, trace } = run({ corrupt: 2e-3, burst: 8 }, input, 5);
    const events = kinds(trace, 'corrupt');
    expect(events.length).toBeGreaterThan(70);
    expect(events.length).toBeLessThan(130);
    for (const e of events) {
      expect(e.count).toBe(8);
      for (let j = 0; j < 8; j++) expect(out[(e.offset as number) + j]).not.toBe(input[(e.offset as number) + j]);
    }
  });

  it('the same seed gives the same trace and bytes; another seed does not', () => {
    const input = pattern(200_000);
    const cfg: LineConfig = { corrupt: 1e-3, drop: 1e-3, insert: 1e-3, burst: 2 };
    const a = run(cfg, input, 42);
    const b = run(cfg, input, 42);
    const c = run(cfg, input, 43);
    expect(b.trace).toEqual(a.trace);
    expect(b.out.equals(a.out)).toBe(true);
    expect(c.trace).not.toEqual(a.trace);
  });

  it('does not depend on how the stream was chunked', () => {
    const input = pattern(30_000);
    const cfg: LineConfig = { corrupt: 3e-3, drop: 3e-3, insert: 3e-3, burst: 3 };
    const whole = run(cfg, input, 9);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        const split = run(cfg, input, 9, sizes);
        expect(split.trace).toEqual(whole.trace);
        expect(split.out.equals(whole.out)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('fires a trigger exactly at its byte offset, in order with the data', () => {
    const trace: FaultEvent[] = [];
    const f = new LineFaults('hostToDevice', { stalls: [{ atByte: 250, forMs: 40 }] }, seededRandom(1), (e) =>
      trace.push(e),
    );
    f.at(100, { kind: 'reboot' });
    const actions = [...f.push(pattern(60)), ...f.push(pattern(300))];
    const shape = actions.map((a) => (a.type === 'data' ? a.bytes.length : a.trigger.kind));
    expect(shape).toEqual([60, 40, 'reboot', 150, 'stall', 110]);
    expect(trace).toEqual([
      { dir: 'hostToDevice', kind: 'reboot', offset: 100, source: 'scenario' },
      { dir: 'hostToDevice', kind: 'stall', offset: 250, ms: 40, source: 'scenario' },
    ]);
  });

  it('corruptNext(n) damages exactly the next n bytes', () => {
    const trace: FaultEvent[] = [];
    const f = new LineFaults('deviceToHost', {}, seededRandom(1), (e) => trace.push(e));
    f.push(pattern(10));
    f.corruptNext(3);
    const input = pattern(20);
    const out = Buffer.concat(f.push(input).map((a) => (a.type === 'data' ? a.bytes : new Uint8Array())));
    const changed = [...out.keys()].filter((i) => out[i] !== input[i]);
    expect(changed).toEqual([0, 1, 2]);
    expect(trace[0]).toMatchObject({ kind: 'corrupt', offset: 10, count: 3, source: 'api' });
  });

  it('gives each chunk a delay within latency + jitter', () => {
    const f = new LineFaults('deviceToHost', { latencyMs: 10, jitterMs: 5 }, seededRandom(1), () => {});
    const delays = Array.from({ length: 200 }, () => (f.push(pattern(16))[0] as { delayMs: number }).delayMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...delays)).toBeLessThan(15);
    expect(new Set(delays).size).toBeGreaterThan(150);
  });

  it('configure() changes rates from the current offset on', () => {
    const trace: FaultEvent[] = [];
    const f = new LineFaults('hostToDevice', {}, seededRandom(2), (e) => trace.push(e));
    f.push(pattern(100_000));
    expect(trace).toEqual([]);
    f.configure({ drop: 1 });
    const out = f.push(pattern(10));
    expect(out).toEqual([]);
    expect(trace.length).toBe(10);
    expect(trace[0]).toMatchObject({ kind: 'drop', offset: 100_000 });
  });
});

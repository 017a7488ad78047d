import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineRate, MIN_SEND, SEND_LINE_BUDGET_MS, SLOWEST_BAUD } from './line-rate.js';

describe('LineRate', () => {
  it('plans with the slowest plausible line until it knows better', () => {
    const r = new LineRate();
    expect(r.bytesPerSecond).toBe(SLOWEST_BAUD / 10);
    expect(r.sendSize(8192)).toBe(Math.floor((960 * SEND_LINE_BUDGET_MS) / 1000));
  });

  it('a configured baud rate wins over measurements; a new one forgets them', () => {
    const r = new LineRate(115200);
    r.delivered(8192, 10_000);
    expect(r.bytesPerSecond).toBe(11520);
    expect(r.sendSize(8192)).toBe(5760);
    expect(new LineRate(921600).sendSize(8192)).toBe(8192);
    r.setBaud(19200);
    expect(r.lineMs(1920)).toBe(1000);
  });

  it('a payload confirmed N ms after it was written: the fastest delivery sets the rate', () => {
    const r = new LineRate();
    r.delivered(691, 360); // 19200 baud: 0.36 s for 691 bytes
    r.delivered(1300, 2000); // a late answer (a loaded host) lowers nothing
    expect(r.bytesPerSecond).toBeCloseTo(1919.4, 0);
    expect(r.lineMs(r.sendSize(8192))).toBeLessThanOrEqual(SEND_LINE_BUDGET_MS);
  });

  it('a planned payload never takes longer than the budget at a rate no faster than the true one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2400, max: 3_000_000 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 8192 }), fc.double({ min: 1, max: 4, noNaN: true }))),
        (baud, sends) => {
          const r = new LineRate();
          // Each confirmation comes no sooner than the line can carry the bytes.
          for (const [n, slower] of sends) r.delivered(n, ((n * 10 * 1000) / baud) * slower);
          const size = r.sendSize(8192);
          const trueMs = (size * 10 * 1000) / baud;
          const planned = Math.max(MIN_SEND, Math.floor((r.bytesPerSecond * SEND_LINE_BUDGET_MS) / 1000));
          expect(size).toBeLessThanOrEqual(Math.min(8192, planned));
          if (baud >= SLOWEST_BAUD) expect(trueMs).toBeLessThanOrEqual(SEND_LINE_BUDGET_MS + 1);
          // The silence allowed for it covers its true line time (below 9600 only once measured).
          if (baud >= SLOWEST_BAUD || sends.length > 0) expect(r.lineMs(size)).toBeGreaterThanOrEqual(trueMs - 1);
        },
      ),
    );
  });
});

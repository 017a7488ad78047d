import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineRate, SLOWEST_BAUD } from '../../firmware-protocol/index.js';
import { MIN_SEND, SEND_LINE_BUDGET_MS, sendSize } from './line-rate.js';

describe('sendSize', () => {
  it('plans with the slowest plausible line until it knows better', () => {
    expect(sendSize(new LineRate(), 8192)).toBe(Math.floor(((SLOWEST_BAUD / 10) * SEND_LINE_BUDGET_MS) / 1000));
  });

  it('a configured baud rate sizes the payload; a fast line is held to the module`s own limit', () => {
    const r = new LineRate(115200);
    r.delivered(8192, 10_000);
    expect(sendSize(r, 8192)).toBe(5760);
    expect(sendSize(new LineRate(921600), 8192)).toBe(8192);
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
          const size = sendSize(r, 8192);
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

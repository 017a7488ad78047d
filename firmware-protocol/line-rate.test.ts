import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Message } from './frame.js';
import { escapedBytes, FASTEST_MODELLED, LineModel } from './line-model.js';
import { DeliveryMeter, LineRate, SLOWEST_BAUD } from './line-rate.js';
import { LinkState } from './link.js';
import type { LinkOptions } from './link-options.js';

const sendOf = (n: number, data: Uint8Array): Message =>
  ({ kind: 'request', seq: n, op: 'SEND', body: { sock: 0, data } }) as Message;

describe('LineRate', () => {
  it('plans with the slowest plausible line until it knows better', () => {
    expect(new LineRate().bytesPerSecond).toBe(SLOWEST_BAUD / 10);
    expect(new LineRate().configured).toBe(false);
  });

  it('a configured baud rate wins over measurements; a new one forgets them', () => {
    const r = new LineRate(115200);
    r.delivered(8192, 100);
    expect(r.bytesPerSecond).toBe(11520);
    r.setBaud(19200);
    expect(r.measured).toBe(0);
    expect(r.lineMs(1920)).toBe(1000);
  });

  it('the fastest delivery sets the rate; a late proof lowers nothing', () => {
    const r = new LineRate();
    r.delivered(691, 360); // 19200 baud: 0.36 s for 691 bytes
    r.delivered(1300, 2000);
    expect(r.bytesPerSecond).toBeCloseTo(1919.4, 0);
  });
});

/**
 * A FIFO line at `rate` bytes/s: frames of the given sizes written at the given gaps, each
 * acknowledged (cumulatively, in order) some time after its last byte arrived.
 */
function meterOnLine(rate: number, frames: [bytes: number, gapMs: number, ackDelayMs: number][]): LineRate {
  const lineRate = new LineRate();
  const meter = new DeliveryMeter(lineRate);
  let now = 0;
  let freeAt = 0;
  let lastAck = 0;
  const acks: { at: number; end: number }[] = [];
  for (const [bytes, gap, delay] of frames) {
    now += gap;
    // Acknowledgements due by now arrive before this write.
    while (acks.length > 0 && (acks[0] as { at: number }).at <= now) {
      const a = acks.shift() as { at: number; end: number };
      meter.acked(a.end, a.at);
    }
    const end = meter.wrote(bytes, now, acks.length === 0);
    freeAt = Math.max(now, freeAt) + (bytes * 1000) / rate;
    lastAck = Math.max(lastAck, freeAt + delay); // cumulative: never before an earlier frame's
    acks.push({ at: lastAck, end });
  }
  for (const a of acks) meter.acked(a.end, a.at);
  return lineRate;
}

describe('DeliveryMeter', () => {
  it('never measures a line faster than it is, whatever the frames, gaps and acknowledgement delays', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 120, max: 500_000 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: 17, max: 70_000 }),
            fc.integer({ min: 0, max: 3000 }),
            fc.integer({ min: 0, max: 500 }),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        (rate, frames) => {
          expect(meterOnLine(rate, frames).measured).toBeLessThanOrEqual(rate * 1.000001);
        },
      ),
    );
  });

  it('a bulk transfer (frames back to back) measures the line within a few per cent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 960, max: 92_160 }), fc.integer({ min: 256, max: 4096 }), (rate, bytes) => {
        const frames = Array.from({ length: 40 }, () => [bytes, 0, 5] as [number, number, number]);
        expect(meterOnLine(rate, frames).measured).toBeGreaterThan(rate * 0.95);
      }),
    );
  });
});

describe('LineModel learning the speed', () => {
  const c0 = (n: number) => sendOf(1, new Uint8Array(n).fill(0xc0));

  it('counts SLIP escapes while it learns: 1 KiB of 0xC0 is 2 KiB of line', () => {
    expect(escapedBytes(Uint8Array.from([1, 0xc0, 2, 0xdb, 0xc0]))).toBe(3);
    expect(new LineModel(new LineRate(), true).bytesOf(c0(1024))).toBe(2048);
    // Not modelled and not learning: the scan would only cost.
    expect(new LineModel(new LineRate(), false).bytesOf(c0(1024))).toBe(1024);
  });

  it('is off until a delivery is measured, on at a serial line`s speed, off again past FASTEST_MODELLED', () => {
    const rate = new LineRate();
    const line = new LineModel(rate, true);
    expect(line.trusted).toBe(false);
    expect(line.depart(1024, 0)).toBe(0); // no line time counted yet
    rate.delivered(1920, 1000);
    expect(line.trusted).toBe(true);
    expect(line.frameMs(1904)).toBe(1000);
    line.pullBack(500); // a learnt speed is a lower bound: an early acknowledgement does not discard it
    expect(line.trusted).toBe(true);
    rate.delivered(FASTEST_MODELLED, 1000);
    expect(line.trusted).toBe(false);
    expect(line.bytesOf(c0(1024))).toBe(1024);
  });

  it('a configured speed an acknowledgement disproves is dropped (a pty ignores baud)', () => {
    const line = new LineModel(new LineRate(19200), true);
    expect(line.trusted).toBe(true);
    line.pullBack(100);
    expect(line.trusted).toBe(false);
  });

  it('a frame sent last clears the line after the frames held before it', () => {
    const line = new LineModel(new LineRate(19200), false);
    expect(new LineModel(new LineRate(), false).clearsAt(5, [c0(1024)])).toBe(5);
    line.depart(1904, 0); // on the line until 1000 ms
    expect(line.clearsAt(0, [c0(952)])).toBe(2000); // held: 1904 + 16 bytes of line, 1000 ms more
    expect(line.clearsAt(2500, [])).toBe(2500);
  });
});

describe('a link over a line of unknown speed (lineRate, nothing configured)', () => {
  const lineBytes = (m: Message): number => {
    const data = (m as { body?: { data?: Uint8Array } }).body?.data;
    return (data ? data.length + escapedBytes(data) : 0) + 16;
  };

  /**
   * A sends `count` frames of `bytes` bytes of `fill` to B over a FIFO line at `rate` bytes/s
   * (after a few small requests, as a socket's SOCKET and CONNECT); B's answers come back 2 ms
   * after it sent them.
   */
  function run(count: number, bytes: number, fill: number, rate: number, opts: Partial<LinkOptions>) {
    const a = new LinkState({ window: 32, initialRtoMs: 30, ...opts });
    const b = new LinkState({ window: 32 });
    let lineFreeAt = 0;
    const toB: { at: number; msg: Message }[] = [];
    const toA: { at: number; msg: Message }[] = [];
    const putB = (msgs: Message[], now: number): void => {
      for (const msg of msgs) {
        lineFreeAt = Math.max(now, lineFreeAt) + (lineBytes(msg) * 1000) / rate;
        toB.push({ at: lineFreeAt, msg });
      }
    };
    let delivered = 0;
    const step = (now: number): void => {
      while (toB.length > 0 && (toB[0] as { at: number }).at <= now) {
        const r = b.receive((toB.shift() as { msg: Message }).msg, now);
        delivered += r.deliver.length;
        for (const msg of r.wire) toA.push({ at: now + 2, msg });
      }
      for (const msg of b.tick(now).wire) toA.push({ at: now + 2, msg });
      while (toA.length > 0 && (toA[0] as { at: number }).at <= now)
        putB(a.receive((toA.shift() as { msg: Message }).msg, now).wire, now);
      putB(a.tick(now).wire, now);
    };
    let now = 0;
    for (let i = 0; i < 3; i++) {
      putB(a.send(sendOf(i, new Uint8Array(20)), now).wire, now);
      for (const end = now + 200; now < end; now++) step(now);
    }
    const start = now;
    for (let i = 0; i < count; i++) putB(a.send(sendOf(i, new Uint8Array(bytes).fill(fill)), now).wire, now);
    for (; now < start + 120_000 && delivered < count + 3; now++) step(now);
    return { a, delivered: delivered - 3, ms: now - start };
  }

  it('learns the speed, never faster than the line: 8 KiB of 0xC0 at 19200 cross with no false timeout', () => {
    const rate = new LineRate();
    const { a, delivered, ms } = run(8, 1024, 0xc0, 1920, { lineRate: rate });
    expect(delivered).toBe(8);
    expect(a.stats.retransmitted).toBe(0);
    expect(rate.measured).toBeLessThanOrEqual(1920);
    expect(rate.measured).toBeGreaterThan(1920 * 0.8);
    const lineMs = (8 * (2048 + 16) * 1000) / 1920; // 8.6 s
    expect(ms).toBeLessThan(lineMs * 1.15);
  });

  it('without learning (the link before line-rate.ts) the same transfer times out falsely', () => {
    const { a, delivered } = run(8, 1024, 0xc0, 1920, {});
    expect(delivered).toBe(8);
    expect(a.stats.retransmitted).toBeGreaterThan(0);
  });

  it('on a fast link the learnt speed soon passes FASTEST_MODELLED and the model is off', () => {
    const rate = new LineRate();
    const { a, delivered } = run(64, 4096, 0x5a, 100_000_000, { lineRate: rate });
    expect(delivered).toBe(64);
    expect(a.stats.retransmitted).toBe(0);
    expect(rate.measured).toBeGreaterThanOrEqual(FASTEST_MODELLED);
  });
});

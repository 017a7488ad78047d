import { describe, expect, it } from 'vitest';
import { OwedAck } from './ack-ride.js';
import type { Message } from './frame.js';
import { LineModel } from './line-model.js';
import { LinkState } from './link.js';

const send = (n: number, bytes: number): Message =>
  ({ kind: 'request', seq: n, op: 'SEND', body: { sock: 0, data: new Uint8Array(bytes) } }) as Message;
/** A SEND's answer: no payload. */
const answer = (n: number): Message =>
  ({ kind: 'response', seq: n, op: 'SEND', status: 0, body: { count: 2048 } }) as Message;
const dataEvent = (bytes: number): Message =>
  ({ kind: 'event', seq: 0, op: 'DATA', body: { sock: 0, data: new Uint8Array(bytes) } }) as Message;

/**
 * A sends six 2 KiB SENDs on a line of `rate` bytes/s (one or two go, the rest wait in the link);
 * B sends `fromB` back (its frames carry B's acknowledgement of A's first SEND); A receives them at
 * 30 ms and runs its timers for 300 ms. Returns what A put on the wire after that, in order.
 */
function afterAnswers(rate: number, fromB: Message[], window = 32): Message[] {
  const a = new LinkState({ lineBytesPerSecond: rate, window });
  const b = new LinkState({ lineBytesPerSecond: rate, window });
  const first = [1, 2, 3, 4, 5, 6].flatMap((n) => a.send(send(n, 2048), 0).wire);
  expect(first.length).toBeLessThan(3);
  b.receive(first[0] as Message, 25);
  const out: Message[] = [];
  for (const m of fromB.flatMap((m) => b.send(m, 26).wire)) out.push(...a.receive(m, 30).wire);
  for (let now = 30; now < 330; now++) out.push(...a.tick(now).wire);
  return out;
}

/**
 * An upload over a line of `rate` bytes/s each way: A sends `count` SENDs of `bytes` (the first four
 * of `firstBytes`), held in its link as the line allows; B answers each one `answerMs` after it
 * arrived whole. Frames take their line time (payload + 16 bytes), one after another per direction.
 */
function upload(rate: number, count: number, bytes: number, answerMs: number, firstBytes = bytes) {
  const a = new LinkState({ lineBytesPerSecond: rate });
  const b = new LinkState({ lineBytesPerSecond: rate });
  const lines = {
    ab: { freeAt: 0, q: [] as { at: number; msg: Message }[] },
    ba: { freeAt: 0, q: [] as { at: number; msg: Message }[] },
  };
  const put = (dir: 'ab' | 'ba', msgs: Message[], now: number): void => {
    const l = lines[dir];
    for (const msg of msgs) {
      const data = (msg as { body?: { data?: Uint8Array } }).body?.data;
      l.freeAt = Math.max(now, l.freeAt) + (((data?.length ?? 0) + 16) * 1000) / rate;
      l.q.push({ at: l.freeAt, msg });
    }
  };
  let ackFramesByA = 0;
  let delivered = 0;
  const answers: { at: number; n: number }[] = [];
  for (let n = 0; n < count; n++) put('ab', a.send(send(n, n < 4 ? firstBytes : bytes), 0).wire, 0);
  for (let now = 0; now < 30_000 && delivered < count; now++) {
    while (lines.ab.q.length > 0 && (lines.ab.q[0] as { at: number }).at <= now) {
      const r = b.receive((lines.ab.q.shift() as { msg: Message }).msg, now);
      put('ba', r.wire, now);
      for (const m of r.deliver) answers.push({ at: now + answerMs, n: (m as { seq: number }).seq });
      delivered += r.deliver.length;
    }
    while (answers.length > 0 && (answers[0] as { at: number }).at <= now)
      put('ba', b.send(answer((answers.shift() as { n: number }).n), now).wire, now);
    put('ba', b.tick(now).wire, now);
    while (lines.ba.q.length > 0 && (lines.ba.q[0] as { at: number }).at <= now) {
      const w = a.receive((lines.ba.q.shift() as { msg: Message }).msg, now).wire;
      ackFramesByA += ackFrames(w);
      put('ab', w, now);
    }
    const w = a.tick(now).wire;
    ackFramesByA += ackFrames(w);
    put('ab', w, now);
  }
  return { delivered, ackFramesByA, resentByB: b.stats.retransmitted };
}

const ackFrames = (wire: Message[]): number => wire.filter((m) => m.link?.unnumbered).length;
/** What first carried A's acknowledgement of B's first two frames (seq 0 and 1). */
const firstAcking = (wire: Message[]): string | undefined => {
  const m = wire.find((w) => w.link?.ack === 1);
  return m?.link?.unnumbered ? 'ACK' : m?.op;
};

describe('an acknowledgement owed for frames without payload (docs/performance.md item 22)', () => {
  it('rides on our next frame when that frame is short (921600: 2 KiB is 22 ms), no ACK frame of its own', () => {
    const wire = afterAnswers(92_160, [answer(1), answer(2)]);
    expect(ackFrames(wire)).toBe(0);
    expect(firstAcking(wire)).toBe('SEND');
  });

  it('rides on a long SEND held for the answer (115200: 4 KiB is 356 ms), and no answer is resent', () => {
    const r = upload(11_520, 12, 4085, 3);
    expect(r.delivered).toBe(12);
    expect(r.resentByB).toBe(0);
    expect(r.ackFramesByA).toBeLessThanOrEqual(1); // the last answers: no SEND left to ride on
  });

  it('an answer later than the hold goes in an ACK frame of its own, in time (no resend)', () => {
    const r = upload(11_520, 12, 4085, 150);
    expect(r.delivered).toBe(12);
    expect(r.resentByB).toBe(0);
    expect(r.ackFramesByA).toBeGreaterThan(0);
  });

  it('growing frames: an acknowledgement never waits for a frame longer than the other end has seen', () => {
    // B's floor counts the frames it has received; A's next frames are four times as long.
    const r = upload(11_520, 12, 4085, 3, 1024);
    expect(r.resentByB).toBe(0);
    expect(r.delivered).toBe(12);
  });

  it('after frames with payload it goes in an ACK frame of its own, as before', () => {
    const wire = afterAnswers(92_160, [answer(1), dataEvent(512)]);
    expect(ackFrames(wire)).toBe(1);
    expect(firstAcking(wire)).toBe('ACK');
  });

  it('with half the other end’s window owed it does not wait', () => {
    // 921600, two 2 KiB frames of ours on the line and one held; answers arrive at 1 ms.
    const dueWith = (answers: number): number => {
      const line = LineModel.of(undefined, 92_160);
      line.send(send(0, 2048), 0, true);
      line.send(send(1, 2048), 0, false); // below the link until 44.8 ms
      const owed = new OwedAck({ window: 8, ackDelayMs: 5 }, line, { limit: 2048 });
      const got = Array.from({ length: answers }, (_, i) => answer(i));
      return owed.dueAt(got, 1, undefined, send(2, 2048), 2);
    };
    expect(dueWith(3)).toBeGreaterThan(6); // waits for the held frame
    expect(dueWith(4)).toBe(6); // the usual delayed ACK
  });

  it('with nothing of ours in flight it goes after the usual delay', () => {
    const a = new LinkState({ lineBytesPerSecond: 92_160 });
    const b = new LinkState({ lineBytesPerSecond: 92_160 });
    const [m] = b.send(answer(1), 0).wire;
    a.receive(m as Message, 1);
    expect(ackFrames(a.tick(10).wire)).toBe(1);
  });
});

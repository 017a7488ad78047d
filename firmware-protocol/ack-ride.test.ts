import { describe, expect, it } from 'vitest';
import type { Message } from './frame.js';
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

  it('goes in an ACK frame ahead of a long frame, as before (115200: 2 KiB is 179 ms)', () => {
    const wire = afterAnswers(11_520, [answer(1), answer(2)]);
    expect(ackFrames(wire)).toBe(1);
    expect(firstAcking(wire)).toBe('ACK');
  });

  it('after frames with payload it goes in an ACK frame of its own, as before', () => {
    const wire = afterAnswers(92_160, [answer(1), dataEvent(512)]);
    expect(ackFrames(wire)).toBe(1);
    expect(firstAcking(wire)).toBe('ACK');
  });

  it('with half the other end’s window owed it does not wait', () => {
    expect(ackFrames(afterAnswers(92_160, [answer(1), answer(2), answer(3)], 8))).toBe(0);
    expect(ackFrames(afterAnswers(92_160, [answer(1), answer(2), answer(3), answer(4)], 8))).toBe(1);
  });

  it('with nothing of ours in flight it goes after the usual delay', () => {
    const a = new LinkState({ lineBytesPerSecond: 92_160 });
    const b = new LinkState({ lineBytesPerSecond: 92_160 });
    const [m] = b.send(answer(1), 0).wire;
    a.receive(m as Message, 1);
    expect(ackFrames(a.tick(10).wire)).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { FrameSize, MAX_FRAME_MS, ONE_WAY_AFTER_MS, ONE_WAY_FRAME_MS, Traffic } from './frame-size.js';

describe('FrameSize', () => {
  const ack = (s: FrameSize, n: number, bytes: number, largest = 65536): void => {
    for (let i = 0; i < n; i++) s.acked(bytes, largest);
  };

  it('doubles per four frames of clean acknowledgements until the first loss, up to the largest allowed', () => {
    const s = new FrameSize();
    expect(s.limit).toBe(1024);
    ack(s, 3, 1024);
    expect(s.limit).toBe(1024);
    ack(s, 1, 1024);
    expect(s.limit).toBe(2048);
    ack(s, 4, 2048, 3000);
    expect(s.limit).toBe(3000);
  });

  it('a gap in what it receives ends the doubling (the line is not clean), without shrinking', () => {
    const s = new FrameSize();
    s.lossSeen();
    ack(s, 15, 1024);
    expect(s.limit).toBe(1024);
    ack(s, 1, 1024);
    expect(s.limit).toBe(1536);
  });

  it('counts only frames near the current size (empty responses do not grow it)', () => {
    const s = new FrameSize();
    for (let i = 0; i < 100; i++) s.acked(0, 65536);
    for (let i = 0; i < 100; i++) s.acked(511, 65536);
    expect(s.limit).toBe(1024);
  });

  it('after a loss halves, then grows by half per 16 clean frames only', () => {
    const s = new FrameSize();
    s.resent(1024);
    expect(s.limit).toBe(512);
    for (let i = 0; i < 15; i++) s.acked(512, 65536);
    expect(s.limit).toBe(512);
    s.acked(512, 65536);
    expect(s.limit).toBe(768);
    s.resent(100); // a small frame says nothing about the size
    expect(s.limit).toBe(768);
  });

  it('a false timeout is undone: the size and the clean-line doubling come back', () => {
    const s = new FrameSize();
    const before = s.snapshot();
    s.resent(1024);
    s.restore(before);
    expect(s.limit).toBe(1024);
    ack(s, 4, 1024);
    expect(s.limit).toBe(2048);
  });

  it('never shrinks on growth when the allowed size is below the current one', () => {
    const s = new FrameSize();
    ack(s, 4, 1024);
    ack(s, 4, 2048, 100);
    expect(s.limit).toBe(2048);
  });

  it('a cap from the direction of traffic limits the size in use, not what was learnt', () => {
    const s = new FrameSize();
    ack(s, 4, 1024);
    expect(s.limit).toBe(2048);
    s.cap = 1712;
    expect(s.limit).toBe(1712);
    ack(s, 40, 1712); // frames held at the cap test nothing larger
    s.cap = Number.POSITIVE_INFINITY;
    expect(s.limit).toBe(2048);
    ack(s, 4, 2048);
    expect(s.limit).toBe(4096);
    s.cap = 1712;
    s.resent(1712); // a loss halves the size in use
    s.cap = Number.POSITIVE_INFINITY;
    expect(s.limit).toBe(856);
  });

  it('the other end’s frames received in order count as clean acknowledgements until the first loss', () => {
    const s = new FrameSize();
    s.cap = 1712; // our own frames held below what the other end's show: its evidence still counts
    for (let i = 0; i < 3; i++) s.peerClean(1024, 65536);
    expect(s.snapshot().limit).toBe(1024);
    s.peerClean(1024, 65536);
    expect(s.snapshot().limit).toBe(2048);
    for (let i = 0; i < 12; i++) s.peerClean(4085, 8192);
    expect(s.snapshot().limit).toBe(8192);
    for (let i = 0; i < 100; i++) s.peerClean(4085, 65536); // frames below half the size test nothing
    expect(s.snapshot().limit).toBe(8192);
    expect(s.limit).toBe(1712);
  });

  it('a loss takes back what only the other end’s frames showed, and ends their counting', () => {
    const s = new FrameSize();
    ack(s, 4, 1024); // our own frames showed 2 KiB
    for (let i = 0; i < 8; i++) s.peerClean(2048, 65536);
    expect(s.limit).toBe(4096);
    s.lossSeen();
    expect(s.limit).toBe(2048);
    for (let i = 0; i < 100; i++) s.peerClean(2048, 65536);
    expect(s.limit).toBe(2048);
  });
});

describe('Traffic', () => {
  it('allows ONE_WAY_FRAME_MS once our payload has flowed ONE_WAY_AFTER_MS with none coming back', () => {
    const t = new Traffic();
    const after = ONE_WAY_AFTER_MS;
    expect(after).toBeGreaterThan(2 * MAX_FRAME_MS); // an echo's first answer comes back before it
    expect(t.frameMs(0)).toBe(MAX_FRAME_MS);
    for (let now = 0; now < after; now += 50) t.sent(1024, now);
    t.received(0, after - 50); // acknowledgements and answers without payload
    t.received(60, after - 40); // a request line: not a transfer coming back
    expect(t.frameMs(after - 1)).toBe(MAX_FRAME_MS);
    expect(t.frameMs(after)).toBe(ONE_WAY_FRAME_MS);
  });

  it('holds MAX_FRAME_MS while the other end sends payload too (an echo), and after a pause', () => {
    const t = new Traffic();
    for (let now = 0; now <= 1000; now += 100) {
      t.sent(1024, now);
      if (now >= 200) t.received(1024, now);
    }
    expect(t.frameMs(1000)).toBe(MAX_FRAME_MS);
    expect(t.frameMs(1600)).toBe(ONE_WAY_FRAME_MS); // nothing came back for 600 ms
    // Silent for over a second: the next transfer may be an echo again.
    expect(t.frameMs(2100)).toBe(MAX_FRAME_MS);
    t.sent(1024, 2100);
    expect(t.frameMs(2200)).toBe(MAX_FRAME_MS);
    t.sent(0, 2650); // an empty frame does not keep a run going, nor start one
    expect(t.frameMs(2650)).toBe(ONE_WAY_FRAME_MS);
  });
});

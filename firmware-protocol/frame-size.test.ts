import { describe, expect, it } from 'vitest';
import { FrameSize } from './frame-size.js';

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
});

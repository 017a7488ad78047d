/** ByteQueue: take/peek/drop across chunk boundaries. */
import { describe, expect, it } from 'vitest';
import { ByteQueue, Fifo } from './byte-queue.js';

const b = (s: string) => Buffer.from(s);
const t = (u: Uint8Array) => Buffer.from(u).toString();

describe('ByteQueue', () => {
  it('takes and peeks across chunks, in order', () => {
    const q = new ByteQueue();
    q.push(b('hel'));
    q.push(b(''));
    q.push(b('lo '));
    q.push(b('world'));
    expect(q.bytes).toBe(11);
    expect(t(q.peek(5))).toBe('hello');
    expect(t(q.take(4))).toBe('hell');
    expect(t(q.take(1))).toBe('o');
    q.drop(2);
    expect(t(q.take(100))).toBe('orld');
    expect(q.bytes).toBe(0);
    expect(q.take(5).length).toBe(0);
  });

  it('stays correct over many small pushes and takes', () => {
    const q = new ByteQueue();
    let expected = '';
    let got = '';
    for (let i = 0; i < 500; i++) {
      const piece = String(i % 10).repeat((i % 7) + 1);
      q.push(b(piece));
      expected += piece;
      got += t(q.take((i % 5) + 1));
    }
    got += t(q.take(q.bytes));
    expect(got).toBe(expected);
  });
});

describe('ByteQueue.indexOf', () => {
  it('finds a byte across chunk boundaries, within a limit', () => {
    const q = new ByteQueue();
    q.push(b('ab'));
    q.push(b('cd\nef'));
    q.take(1);
    expect(q.indexOf(0x0a)).toBe(3);
    expect(q.indexOf(0x0a, 3)).toBe(-1);
    expect(q.indexOf(0x7a)).toBe(-1);
  });
});

describe('Fifo', () => {
  it('keeps order over many pushes and shifts', () => {
    const f = new Fifo<number>();
    const out: number[] = [];
    for (let i = 0; i < 300; i++) {
      f.push(i);
      if (i % 3 === 0) out.push(f.shift()!);
    }
    expect(f.peek()).toBe(out.length);
    while (f.length > 0) out.push(f.shift()!);
    expect(out).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(f.shift()).toBeUndefined();
  });
});

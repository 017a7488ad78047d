/** SocketQueue: take/peek/drop across chunk boundaries. */
import { describe, expect, it } from 'vitest';
import { SocketQueue } from './queue.js';

const b = (s: string) => Buffer.from(s);
const t = (u: Uint8Array) => Buffer.from(u).toString();

describe('SocketQueue', () => {
  it('takes and peeks across chunks, in order', () => {
    const q = new SocketQueue();
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
    const q = new SocketQueue();
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

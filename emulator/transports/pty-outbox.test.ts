import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PtyOutbox } from './pty-outbox.js';

/** Drains `box` through writes that take what `takes` says (a fraction of each run), until empty. */
function drain(box: PtyOutbox, takes: number[], out: number[]): void {
  let i = 0;
  while (box.size > 0) {
    const run = box.next();
    expect(run.length).toBeGreaterThan(0);
    const n = Math.max(1, Math.floor(run.length * (takes[i++ % takes.length] ?? 1)));
    out.push(...run.subarray(0, n));
    box.consumed(n);
  }
}

describe('PtyOutbox', () => {
  it('writes every pushed byte once, in order, whatever each write takes and whenever chunks arrive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 30 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 16, max: 512 }),
        (chunks, takes, perRound, stageSize) => {
          const box = new PtyOutbox(stageSize);
          const out: number[] = [];
          let expectedSize = 0;
          for (let i = 0; i < chunks.length; i++) {
            box.push(chunks[i] as Uint8Array);
            expectedSize += (chunks[i] as Uint8Array).length;
            expect(box.size).toBe(expectedSize);
            // Some writes between pushes: partial writes leave staged bytes that new chunks join.
            if (i % perRound === 0 && box.size > 0) {
              const run = box.next();
              const n = Math.floor(run.length * (takes[i % takes.length] as number));
              out.push(...run.subarray(0, n));
              box.consumed(n);
              expectedSize -= n;
              expect(box.size).toBe(expectedSize);
            }
          }
          drain(box, takes, out);
          expect(Buffer.from(out)).toEqual(Buffer.concat(chunks));
        },
      ),
    );
  });

  it('hands a lone chunk over as it is, and joins small ones into one run', () => {
    const box = new PtyOutbox(64);
    const big = new Uint8Array(100).fill(1);
    box.push(big);
    expect(box.next()).toBe(big);
    box.consumed(100);
    box.push(new Uint8Array([1, 2]));
    box.push(new Uint8Array([3]));
    expect([...box.next()]).toEqual([1, 2, 3]);
    box.consumed(1);
    box.push(new Uint8Array([4]));
    expect([...box.next()]).toEqual([2, 3, 4]);
    box.clear();
    expect(box.size).toBe(0);
    expect(box.next().length).toBe(0);
  });

  it('reports every pushed byte done exactly once, and only when it no longer needs it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 30 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 16, max: 512 }),
        fc.boolean(),
        (originals, takes, stageSize, clearHalfWay) => {
          const chunks = originals.map((c) => Uint8Array.from(c));
          let reported = 0;
          // What is reported done may be reused at once: scribble over it.
          const box = new PtyOutbox(stageSize, (part) => {
            reported += part.length;
            part.fill(0xee);
          });
          const out: number[] = [];
          let pushed = 0;
          for (const [i, c] of chunks.entries()) {
            box.push(c);
            pushed += c.length;
            const run = box.next();
            const n = Math.floor(run.length * (takes[i % takes.length] as number));
            out.push(...run.subarray(0, n));
            box.consumed(n);
            if (clearHalfWay && i === chunks.length >> 1) {
              box.clear();
              expect(reported).toBe(pushed);
              expect(Buffer.from(out)).toEqual(Buffer.concat(originals).subarray(0, out.length));
              return;
            }
          }
          drain(box, takes, out);
          expect(Buffer.from(out)).toEqual(Buffer.concat(originals));
          expect(reported).toBe(pushed);
        },
      ),
    );
  });
});

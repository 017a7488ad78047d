import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteSlab, concatBytes, indexOfByte, joinAdjacent, joinSmall } from './bytes.js';

describe('concatBytes', () => {
  it('joins any parts in order, with or without the total', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 6 }), (parts) => {
        const want = Buffer.concat(parts);
        expect(Buffer.from(concatBytes(parts))).toEqual(want);
        expect(Buffer.from(concatBytes(parts, want.length))).toEqual(want);
      }),
    );
  });

  it('returns a single part itself (no copy)', () => {
    const one = Uint8Array.of(1, 2);
    expect(concatBytes([one])).toBe(one);
  });
});

describe('indexOfByte', () => {
  it('finds what Array#indexOf finds, in views at any offset, from any start', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(310),
        fc.nat(10),
        fc.integer({ min: -5, max: 320 }),
        (all, cut, byte, from) => {
          const view = all.subarray(Math.min(cut, all.length));
          expect(indexOfByte(view, byte, from)).toBe(Array.from(view).indexOf(byte, Math.max(0, from)));
        },
      ),
    );
  });
});

describe('ByteSlab', () => {
  it('hands out zeroed, disjoint arrays of the asked size; large ones get their own buffer', () => {
    const slab = new ByteSlab(1024, 256);
    const got = [10, 256, 300, 700, 1, 0, 255].map((n) => slab.alloc(n));
    expect(got.map((a) => a.length)).toEqual([10, 256, 300, 700, 1, 0, 255]);
    for (const a of got) expect(a.every((b) => b === 0)).toBe(true);
    for (const [i, a] of got.entries()) a.fill(i + 1);
    for (const [i, a] of got.entries()) expect(a.every((b) => b === i + 1)).toBe(true);
    expect(got[2]?.byteOffset).toBe(0); // 300 > largest: a buffer of its own
    expect(got[2]?.buffer.byteLength).toBe(300);
  });
});

describe('joinSmall', () => {
  it('keeps every byte in order, joins only runs of small parts, and leaves large parts as they are', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 })), fc.integer({ min: 1, max: 32 }), (parts, below) => {
        const out = joinSmall(parts, below);
        expect(concatBytes(out)).toEqual(concatBytes(parts));
        for (const p of parts) if (p.length >= below) expect(out).toContain(p);
        // No two small outputs stand side by side: each run became one.
        for (let i = 1; i < out.length; i++)
          expect((out[i - 1] as Uint8Array).length < below && (out[i] as Uint8Array).length < below).toBe(false);
      }),
    );
  });
});

describe('joinAdjacent', () => {
  it('joins parts that follow each other in one buffer as one view of it, without a copy', () => {
    const block = new Uint8Array(100).map((_, i) => i);
    const other = Uint8Array.of(1, 2, 3);
    const out = joinAdjacent([
      block.subarray(0, 10),
      block.subarray(10, 60),
      other,
      block.subarray(60, 70),
      block.subarray(80, 90),
    ]);
    expect(out).toHaveLength(4);
    expect(out[0]?.buffer).toBe(block.buffer);
    expect([out[0]?.byteOffset, out[0]?.length]).toEqual([0, 60]);
    expect(out[1]).toBe(other);
    expect([out[2]?.byteOffset, out[2]?.length, out[3]?.byteOffset]).toEqual([60, 10, 80]);
  });

  it('keeps every byte in order whatever the parts, and joinSmall sends adjacent large frames as one', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 }))), (plan) => {
        const block = new Uint8Array(64 * 51).map((_, i) => i * 7);
        let at = 0;
        const parts = plan.map(([fromBlock, n]) => {
          if (!fromBlock) return new Uint8Array(n).fill(n);
          at += n;
          return block.subarray(at - n, at);
        });
        expect(concatBytes(joinAdjacent(parts))).toEqual(concatBytes(parts));
        expect(concatBytes(joinSmall(parts, 8))).toEqual(concatBytes(parts));
      }),
    );
    const block = new Uint8Array(9000);
    expect(
      joinSmall([block.subarray(0, 4000), block.subarray(4000, 8100), block.subarray(8100, 8130)], 2048),
    ).toHaveLength(1);
  });
});

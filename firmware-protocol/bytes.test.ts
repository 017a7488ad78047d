import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteSlab, concatBytes, indexOfByte, joinSmall } from './bytes.js';

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

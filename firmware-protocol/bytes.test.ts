import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from './bytes.js';

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

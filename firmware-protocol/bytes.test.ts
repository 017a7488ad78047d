import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteRing, ByteSlab, concatBytes, indexOfByte, joinAdjacent, joinSmall, RecyclingSlab } from './bytes.js';

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

describe('ByteRing', () => {
  it('never hands out bytes still in use, and reuses released ones (any sizes, any release points)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 700 }), fc.constant(-1)), { maxLength: 80 }), (steps) => {
        const ring = new ByteRing(1024);
        const probe = ring.alloc(1); // which buffer is the ring's
        ring.release(ring.mark);
        // Arrays in use, each filled with its own tag; a release frees those allocated before the mark.
        let live: { a: Uint8Array; tag: number; mark: number }[] = [];
        let tag = 0;
        for (const step of steps) {
          if (step === -1) {
            const mark = ring.mark;
            ring.release(mark);
            live = live.filter((l) => l.mark > mark);
            continue;
          }
          const a = ring.alloc(step);
          expect(a.length).toBe(step);
          tag = (tag % 250) + 1;
          a.fill(tag);
          live.push({ a, tag, mark: ring.mark });
          // Nothing in use was overwritten by this one.
          for (const l of live) expect(l.a.every((b) => b === l.tag)).toBe(true);
          expect(ring.inUse).toBeLessThanOrEqual(ring.size);
        }
        // Once all is released the ring serves again from its own buffer.
        ring.release(ring.mark);
        expect(ring.alloc(600).buffer).toBe(probe.buffer);
      }),
    );
  });

  it('gives fresh arrays while full, and its own bytes again after a release', () => {
    const ring = new ByteRing(100);
    const a = ring.alloc(60);
    const mark = ring.mark;
    const b = ring.alloc(50); // 40 left at the end: does not fit, and the start is in use
    expect(b.buffer).not.toBe(a.buffer);
    expect(ring.inUse).toBe(60);
    ring.release(mark);
    const c = ring.alloc(50); // skips the 40 at the end, starts again at 0
    expect(c.buffer).toBe(a.buffer);
    expect(c.byteOffset).toBe(0);
    expect(ring.alloc(200).buffer).not.toBe(a.buffer); // larger than the ring
  });
});

describe('RecyclingSlab', () => {
  it('never cuts from bytes not reported done, whatever the order and pieces of the reports', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ alloc: fc.integer({ min: 0, max: 300 }) }),
            fc.record({ done: fc.nat(), piece: fc.nat() }),
          ),
          { maxLength: 120 },
        ),
        (steps) => {
          const slab = new RecyclingSlab(1024, 512, 3);
          let live: { a: Uint8Array; tag: number }[] = [];
          let tag = 0;
          for (const step of steps) {
            if ('alloc' in step) {
              const a = slab.alloc(step.alloc);
              tag = (tag % 250) + 1;
              a.fill(tag);
              live.push({ a, tag });
            } else if (live.length > 0) {
              // Report one live array done, sometimes in two pieces.
              const i = step.done % live.length;
              const { a } = live[i] as { a: Uint8Array };
              const cut = a.length > 1 ? step.piece % a.length : 0;
              if (cut > 0) {
                slab.done(a.subarray(0, cut));
                slab.done(a.subarray(cut));
              } else slab.done(a);
              live = live.filter((_, k) => k !== i);
            }
            for (const l of live) expect(l.a.every((b) => b === l.tag)).toBe(true);
          }
        },
      ),
    );
  });

  it('cuts from the same memory again once everything is reported done', () => {
    const slab = new RecyclingSlab(1024, 512);
    const a = [slab.alloc(500), slab.alloc(500)]; // one block
    const b = slab.alloc(500); // does not fit: a second block
    expect(b.buffer).not.toBe(a[0]?.buffer);
    for (const x of a) slab.done(x);
    const c = slab.alloc(500); // fits beside b
    const d = slab.alloc(500); // does not: the first block, free again
    expect(c.buffer).toBe(b.buffer);
    expect(d.buffer).toBe(a[0]?.buffer);
    for (const x of [b, c, d]) slab.done(x);
    const e = slab.alloc(10); // nothing out of the current block: from its start
    expect([e.buffer, e.byteOffset]).toEqual([d.buffer, 0]);
    expect(slab.alloc(513).buffer.byteLength).toBe(513); // above `largest`: its own
  });
});

describe('joinSmall', () => {
  it('tells `copied` of exactly the parts whose bytes went into a joined copy', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 })),
        fc.integer({ min: 1, max: 32 }),
        (parts, below) => {
          const copied: Uint8Array[] = [];
          const out = joinSmall(parts, below, (p) => copied.push(p));
          const fresh = out.filter((o) => !parts.some((p) => p.buffer === o.buffer));
          expect(copied.reduce((n, p) => n + p.length, 0)).toBe(fresh.reduce((n, o) => n + o.length, 0));
          for (const p of copied) expect(parts).toContain(p);
        },
      ),
    );
  });

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

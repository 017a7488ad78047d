import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSlip, SlipDecoder } from './slip.js';

function chunksOf(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

function decodeAll(d: SlipDecoder, chunks: Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const c of chunks) for (const o of d.push(c)) if (o.type === 'frame') frames.push(o.frame);
  return frames;
}

describe('SLIP codec', () => {
  it('escapes END and ESC as RFC 1055 says, END at both ends', () => {
    expect(Buffer.from(encodeSlip(Uint8Array.of(0x01, 0xc0, 0x02, 0xdb, 0x03))).toString('hex')).toBe(
      'c001dbdc02dbdd03c0',
    );
    expect(Buffer.from(encodeSlip(new Uint8Array(0))).toString('hex')).toBe('c0c0');
  });

  it('round-trips any frames split at any chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeSlip(f)));
          const got = decodeAll(new SlipDecoder(1000), chunksOf(wire, cuts));
          expect(got.map((f) => Buffer.from(f).toString('hex'))).toEqual(
            frames.map((f) => Buffer.from(f).toString('hex')),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('matches a byte-by-byte reference on long frames dense in END/ESC, kept while more are coded', () => {
    const reference = (f: Uint8Array): string => {
      const out = [0xc0];
      for (const b of f) out.push(...(b === 0xc0 ? [0xdb, 0xdc] : b === 0xdb ? [0xdb, 0xdd] : [b]));
      out.push(0xc0);
      return Buffer.from(out).toString('hex');
    };
    const byte = fc.oneof(fc.constantFrom(0xc0, 0xdb, 0xdc, 0xdd), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(
        fc.array(fc.array(byte, { maxLength: 6000, size: 'max' }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (lists, cuts) => {
          const frames = lists.map((l) => Uint8Array.from(l));
          const wire = frames.map((f) => encodeSlip(f));
          expect(wire.map((w) => Buffer.from(w).toString('hex'))).toEqual(frames.map(reference));
          const got = decodeAll(new SlipDecoder(12002), chunksOf(Buffer.concat(wire), cuts));
          expect(got.map((f) => Buffer.from(f).toString('hex'))).toEqual(
            frames.filter((f) => f.length > 0).map((f) => Buffer.from(f).toString('hex')),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('decodes a frame fed one byte at a time', () => {
    const frame = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
    const wire = encodeSlip(frame);
    const d = new SlipDecoder(2000);
    const got = decodeAll(
      d,
      Array.from(wire, (b) => Uint8Array.of(b)),
    );
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0] as Uint8Array).equals(Buffer.from(frame))).toBe(true);
  });

  it('drops an oversize frame and resynchronises at the next END', () => {
    const d = new SlipDecoder(10);
    const out = d.push(Buffer.concat([encodeSlip(new Uint8Array(50)), encodeSlip(Uint8Array.of(7))]));
    expect(out[0]).toMatchObject({ type: 'error', code: 'oversize' });
    expect(out[1]).toMatchObject({ type: 'frame', frame: Uint8Array.of(7) });
    expect(d.pending).toBe(0);
    // The same when the oversize frame comes in pieces.
    const wire = encodeSlip(new Uint8Array(50));
    expect(d.push(wire.subarray(0, 7))).toEqual([]);
    expect(d.pending).toBeLessThanOrEqual(10 + 7);
    const rest = d.push(Buffer.concat([wire.subarray(7), encodeSlip(Uint8Array.of(8))]));
    expect(rest).toEqual([
      { type: 'error', code: 'oversize', dropped: 50 },
      { type: 'frame', frame: Uint8Array.of(8) },
    ]);
    expect(d.pending).toBe(0);
  });

  it('an endless frame holds nothing past the limit, and is reported with its full size at END', () => {
    const d = new SlipDecoder(1000);
    for (let i = 0; i < 1024; i++) {
      expect(d.push(new Uint8Array(1024).fill(0x55))).toEqual([]);
      expect(d.pending).toBeLessThanOrEqual(1000);
    }
    expect(d.pending).toBe(0);
    expect(d.push(Uint8Array.of(0xc0, 7, 0xc0))).toEqual([
      { type: 'error', code: 'oversize', dropped: 1 << 20 },
      { type: 'frame', frame: Uint8Array.of(7) },
    ]);
  });

  it('reports a bad escape and keeps going; garbage never throws', () => {
    const d = new SlipDecoder(100);
    const out = d.push(Uint8Array.of(0xc0, 0xdb, 0x41, 0xc0, 0x05, 0xc0));
    expect(out).toEqual([
      { type: 'error', code: 'bad-escape', dropped: 2 },
      { type: 'frame', frame: Uint8Array.of(5) },
    ]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (junk) => {
        const dec = new SlipDecoder(64);
        dec.push(junk);
        expect(dec.pending).toBeLessThanOrEqual(64);
      }),
    );
  });
});

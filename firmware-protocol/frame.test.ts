import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeWire, MessageDecoder } from './codec.js';
import { decodeMessage, encodeMessage, FrameError, type Message } from './frame.js';
import { OPS } from './opcodes.js';
import { type Wire, WireReader } from './wire.js';

const data = Uint8Array.from({ length: 256 }, (_, i) => i);
const samples: Message[] = [
  { kind: 'request', seq: 1, op: 'HELLO', body: { version: 1, maxFrame: 4106, rxWindow: 65536 } },
  { kind: 'request', seq: 2, op: 'CONNECT', body: { sock: 3, addr: ['10.77.0.7', 7] } },
  { kind: 'request', seq: 3, op: 'SENDTO', body: { sock: 1, addr: ['2001:db8::1', 53], data } },
  { kind: 'response', seq: 3, op: 'SEND', status: 0, body: { count: 256 } },
  { kind: 'response', seq: 4, op: 'CONNECT', status: 111, message: 'connection refused' },
  {
    kind: 'response',
    seq: 5,
    op: 'GETADDRINFO',
    status: 0,
    body: { entries: [{ family: 2, type: 1, proto: 6, canonname: 'echo.test', addr: ['10.77.0.7', 7] }] },
  },
  { kind: 'event', seq: 9, op: 'DATA', body: { sock: 0, data } },
  { kind: 'event', seq: 10, op: 'CREDIT', body: { sock: 0, bytes: 4096 } },
];

describe('RPC frames', () => {
  it('round-trips every sample through encode/decode', () => {
    for (const m of samples) expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });

  it('matches the worked example of SPEC.md byte for byte', () => {
    const req = encodeMessage({ kind: 'request', seq: 0x0102, op: 'SOCKET', body: { family: 2, type: 1, proto: 6 } });
    expect(Buffer.from(req).toString('hex')).toBe('01000102100002010689d17dca');
    const res = encodeMessage({ kind: 'response', seq: 0x0102, op: 'SOCKET', status: 0, body: { sock: 0 } });
    expect(Buffer.from(res).toString('hex')).toBe('010101021000000000b6873d4e');
  });

  it('rejects a frame with any one bit flipped (CRC or header check)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), (m, bit) => {
        const f = encodeMessage(m);
        const i = bit % (f.length * 8);
        f[i >> 3] = (f[i >> 3] as number) ^ (1 << (i & 7));
        expect(() => decodeMessage(f)).toThrow(FrameError);
      }),
      { numRuns: 2000 },
    );
  });

  it('names the field of a bad body and never throws from the stream decoder', () => {
    expect(() =>
      encodeMessage({ kind: 'request', seq: 1, op: 'SOCKET', body: { family: 300, type: 1, proto: 6 } }),
    ).toThrow(/family/);
    const dec = new MessageDecoder(4096);
    const items = dec.push(Buffer.concat([Buffer.from('garbage\xc0'), encodeWire(samples[1] as Message)]));
    expect(items.map((i) => i.type)).toEqual(['bad-frame', 'message']);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (junk) => {
        expect(() => new MessageDecoder(512).push(junk)).not.toThrow();
      }),
    );
  });

  it('reads only values its schema accepts, for every layout (decoding relies on it, no zod pass)', () => {
    const layouts: [string, Wire<unknown>][] = [];
    for (const [name, op] of Object.entries(OPS))
      for (const kind of ['request', 'response', 'event'] as const)
        if (kind in op) layouts.push([`${name} ${kind}`, (op as unknown as Record<string, Wire<unknown>>)[kind]]);
    // Bodies biased toward what readers accept: small counts and lengths, families 2 and 10, ASCII.
    const byte = fc.oneof(fc.constantFrom(0, 1, 2, 4, 10, 0x41, 0x7a, 0xff), fc.integer({ min: 0, max: 255 }));
    let read = 0;
    fc.assert(
      fc.property(fc.constantFrom(...layouts), fc.array(byte, { maxLength: 80 }), ([name, layout], body) => {
        const r = new WireReader(Uint8Array.from(body));
        let value: unknown;
        try {
          value = layout.read(r);
        } catch {
          return; // a body the reader refuses never reaches the caller
        }
        read++;
        const parsed = layout.schema.safeParse(value);
        expect(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      }),
      { numRuns: 20000 },
    );
    expect(read).toBeGreaterThan(1000);
  });
});

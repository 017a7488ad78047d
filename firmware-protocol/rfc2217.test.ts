import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeComPort,
  encodeNegotiation,
  encodeSub,
  escapeIac,
  MAX_SUB,
  parseComPort,
  TelnetDecoder,
  type TelnetItem,
  TelnetNegotiator,
  VERBS,
  type Verb,
} from './rfc2217.js';

const VERB_NAMES = Object.fromEntries(Object.entries(VERBS).map(([name, code]) => [code, name]));

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/** Items as comparable values, adjacent data runs merged (chunking may split a run, never reorder). */
function normalize(items: TelnetItem[]): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    const last = out.at(-1) as { type: string; data: string } | undefined;
    if (item.type === 'data' && last?.type === 'data') last.data += hex(item.data);
    else if (item.type === 'data') out.push({ type: 'data', data: hex(item.data) });
    else if (item.type === 'sub') out.push({ ...item, payload: hex(item.payload) });
    else out.push(item);
  }
  return out;
}

function decodeChunks(chunks: Uint8Array[]): unknown[] {
  const d = new TelnetDecoder();
  return normalize(chunks.flatMap((c) => d.push(c)));
}

function dataOf(items: TelnetItem[]): Uint8Array {
  return Buffer.concat(items.flatMap((i) => (i.type === 'data' ? [i.data] : [])));
}

/**
 * A session's worth of wire: data with 0xFF, a negotiation, a SET-BAUDRATE whose value holds
 * 0xFF (doubled inside SB), a signature, a NOP, more data ending in an escaped 0xFF.
 */
const SESSION = bytes(`
  41 ff ff 42
  ff fb 2c
  ff fa 2c 01 00 ff ff ff ff ff ff ff f0
  ff fa 2c 00 6e 63 70 ff f0
  ff f1
  ff ff 00 0d 0a ff ff
`);
const SESSION_ITEMS = [
  { type: 'data', data: '41ff42' },
  { type: 'negotiate', verb: 'WILL', option: 44 },
  { type: 'sub', option: 44, payload: '0100ffffff' },
  { type: 'sub', option: 44, payload: '006e6370' },
  { type: 'command', code: 0xf1 },
  { type: 'data', data: 'ff000d0aff' },
];

describe('IAC doubling', () => {
  it('doubles 0xFF and leaves other bytes alone; no 0xFF → the same array', () => {
    expect(hex(escapeIac(bytes('41 ff 42 ff ff')))).toBe('41ffff42ffffffff');
    const plain = bytes('00 01 fe');
    expect(escapeIac(plain)).toBe(plain);
  });

  it('decode(escape(x)) = x for all 256 byte values, in both directions of a link', () => {
    const all = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
    const wire = escapeIac(all);
    expect(wire.length).toBe(all.length + 16);
    const items = new TelnetDecoder().push(wire);
    expect(items.every((i) => i.type === 'data')).toBe(true);
    expect(Buffer.from(dataOf(items)).equals(Buffer.from(all))).toBe(true);
  });

  it('round-trips any data split at any chunk boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 12 }), (data, cuts) => {
        const wire = escapeIac(data);
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const d = new TelnetDecoder();
        const items: TelnetItem[] = [];
        let prev = 0;
        for (const p of [...points, wire.length]) {
          // Copy each chunk as the decoder may alias it, like a socket's fresh Buffers.
          items.push(...d.push(wire.slice(prev, p)));
          prev = p;
        }
        expect(hex(dataOf(items))).toBe(hex(data));
      }),
      { numRuns: 300 },
    );
  });

  it('doubles 0xFF inside sub-negotiation values', () => {
    expect(hex(encodeSub(44, bytes('01 00 ff ff ff')))).toBe(`fffa2c0100${'ff'.repeat(6)}fff0`);
  });
});

describe('TelnetDecoder', () => {
  it('decodes a session into data, negotiations, sub-negotiations and commands', () => {
    expect(decodeChunks([SESSION])).toEqual(SESSION_ITEMS);
  });

  it('gives the same items with the wire split at every byte position', () => {
    for (let i = 0; i <= SESSION.length; i++) {
      expect(decodeChunks([SESSION.slice(0, i), SESSION.slice(i)]), `split at ${i}`).toEqual(SESSION_ITEMS);
    }
  });

  it('gives the same items fed one byte at a time', () => {
    expect(decodeChunks(Array.from(SESSION, (b) => Uint8Array.of(b)))).toEqual(SESSION_ITEMS);
  });

  it('drops a sub-negotiation broken by another command, and honours the command', () => {
    expect(decodeChunks([bytes('ff fa 2c 01 00 ff fd 2c 41')])).toEqual([
      { type: 'error', code: 'sub-aborted' },
      { type: 'negotiate', verb: 'DO', option: 44 },
      { type: 'data', data: '41' },
    ]);
  });

  it('reports an oversize sub-negotiation and an empty one, then carries on', () => {
    const long = new Uint8Array(MAX_SUB + 10).fill(0x2c);
    const wire = Buffer.concat([bytes('ff fa'), long, bytes('ff f0 ff fa ff f0 42')]);
    expect(decodeChunks([wire])).toEqual([
      { type: 'error', code: 'sub-oversize' },
      { type: 'error', code: 'sub-empty' },
      { type: 'data', data: '42' },
    ]);
  });
});

describe('COM-PORT-OPTION commands', () => {
  it('encodes the literal frames of RFC 2217', () => {
    expect(hex(encodeComPort('SET-BAUDRATE', 921600))).toBe('fffa2c01000e1000fff0');
    expect(hex(encodeComPort('SET-BAUDRATE', 921600, true))).toBe('fffa2c65000e1000fff0');
    expect(hex(encodeComPort('SET-CONTROL', 8))).toBe('fffa2c0508fff0');
    expect(hex(encodeComPort('FLOWCONTROL-SUSPEND', null, true))).toBe('fffa2c6cfff0');
    expect(hex(encodeComPort('NOTIFY-MODEMSTATE', null))).toBe('fffa2c07fff0');
  });

  it('parses what it encodes, 0xFF in values included', () => {
    for (const baud of [115200, 921600, 0x00ffffff, 0xffffffff]) {
      const [item] = new TelnetDecoder().push(encodeComPort('SET-BAUDRATE', baud, true));
      expect(item?.type).toBe('sub');
      const msg = parseComPort((item as { payload: Uint8Array }).payload);
      expect(msg).toMatchObject({ command: 'SET-BAUDRATE', fromServer: true, value: baud });
    }
    expect(parseComPort(bytes('07'))).toMatchObject({ command: 'NOTIFY-MODEMSTATE', fromServer: false, value: null });
    expect(parseComPort(bytes('63 00'))).toBeNull(); // 99: no such command
  });
});

describe('TelnetNegotiator', () => {
  it('answers a request it accepts once, and refuses others', () => {
    const server = new TelnetNegotiator({ us: [0], him: [0, 44] });
    expect(server.receive('WILL', 44)).toEqual({
      reply: encodeNegotiation('DO', 44),
      change: { side: 'him', option: 44, enabled: true },
    });
    expect(server.receive('WILL', 44)).toEqual({ reply: null, change: null }); // no echo: RFC 1143
    expect(server.receive('DO', 1)).toEqual({ reply: encodeNegotiation('WONT', 1), change: null });
    expect(server.receive('WONT', 44)).toEqual({
      reply: encodeNegotiation('DONT', 44),
      change: { side: 'him', option: 44, enabled: false },
    });
  });

  it('settles crossing requests between two peers without a loop', () => {
    const a = new TelnetNegotiator({ us: [0, 44], him: [0, 44] });
    const b = new TelnetNegotiator({ us: [0, 44], him: [0, 44] });
    let toB = [a.request('us', 0), a.request('him', 0), a.request('us', 44)];
    let toA = [b.request('us', 0), b.request('him', 0)];
    let rounds = 0;
    const deliver = (to: TelnetNegotiator, wire: (Uint8Array | null)[]): (Uint8Array | null)[] =>
      wire.flatMap((w) => (w ? [to.receive(VERB_NAMES[w[1] as number] as Verb, w[2] as number).reply] : []));
    while ((toA.some(Boolean) || toB.some(Boolean)) && rounds++ < 10) [toA, toB] = [deliver(b, toB), deliver(a, toA)];
    expect(rounds).toBeLessThan(4);
    expect([a.enabled('us', 0), a.enabled('him', 0), a.enabled('us', 44), b.enabled('him', 44)]).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });
});

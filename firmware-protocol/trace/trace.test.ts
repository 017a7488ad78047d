import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMessage, type Message } from '../frame.js';
import { encodeSlip } from '../slip.js';
import { dissectorSource } from '../wireshark/generate.js';
import { SerialDescriber } from './describe.js';
import { internetChecksum, tcpPacket, udpPacket } from './packets.js';
import {
  DIRECTION,
  enhancedPacket,
  interfaceDescription,
  LINKTYPE_RAW,
  LINKTYPE_USER0,
  PcapngError,
  readPcapng,
  sectionHeader,
} from './pcapng.js';
import { TraceRecorder } from './recorder.js';
import {
  AtRecordSplitter,
  decodeRecord,
  encodeRecord,
  recordSplitter,
  type SerialRecord,
  SlipRecordSplitter,
} from './serial-records.js';
import { TcpFlows } from './tcp-flows.js';

const enc = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder('latin1').decode(b);
const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('pcapng', () => {
  it('reads back what it wrote: interfaces, link types, times, bytes and directions', () => {
    const file = concat([
      sectionHeader('test'),
      interfaceDescription(LINKTYPE_USER0, 'serial'),
      interfaceDescription(LINKTYPE_RAW, 'network'),
      enhancedPacket(0, 1_700_000_000_123_456, Uint8Array.of(1, 2, 3), { direction: DIRECTION.inbound, comment: 'x' }),
      enhancedPacket(1, 1_700_000_000_223_456, new Uint8Array(0)),
      enhancedPacket(0, 5, Uint8Array.of(9, 9, 9, 9, 9)),
    ]);
    expect(file.length % 4).toBe(0);
    const packets = readPcapng(file);
    expect(packets.map((p) => [p.iface, p.linkType, p.timestampUs, [...p.data], p.direction])).toEqual([
      [0, LINKTYPE_USER0, 1_700_000_000_123_456, [1, 2, 3], DIRECTION.inbound],
      [1, LINKTYPE_RAW, 1_700_000_000_223_456, [], 0],
      [0, LINKTYPE_USER0, 5, [9, 9, 9, 9, 9], 0],
    ]);
  });

  it('rejects what is not pcapng, naming the problem', () => {
    expect(() => readPcapng(enc.encode('root:x:0:0:root:/root:/bin/bash\n'))).toThrow(PcapngError);
    const truncated = concat([sectionHeader('t'), interfaceDescription(147, 's')]).subarray(0, 50);
    expect(() => readPcapng(truncated)).toThrow(/offset/);
    const orphan = concat([sectionHeader('t'), enhancedPacket(3, 0, Uint8Array.of(1))]);
    expect(() => readPcapng(orphan)).toThrow(/unknown interface 3/);
  });
});

describe('packets', () => {
  it('IPv4 header and TCP/UDP checksums verify (the sum over each, checksum included, is 0)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.nat(0xffffffff), (payload, seq) => {
        const ends = { src: '10.77.0.2', dst: '10.77.0.80', sport: 49152, dport: 80 };
        const tcp = tcpPacket({ ...ends, seq, ack: 7, flags: 0x18, payload });
        expect(internetChecksum(tcp.subarray(0, 20))).toBe(0);
        const pseudo = concat([
          tcp.subarray(12, 20),
          Uint8Array.of(0, 6, (tcp.length - 20) >> 8, (tcp.length - 20) & 255),
        ]);
        expect(internetChecksum(pseudo, tcp.subarray(20))).toBe(0);
        const udp = udpPacket(ends, payload);
        const upseudo = concat([
          udp.subarray(12, 20),
          Uint8Array.of(0, 17, (udp.length - 20) >> 8, (udp.length - 20) & 255),
        ]);
        expect(internetChecksum(upseudo, udp.subarray(20))).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('the checksum of parts equals the checksum of their concatenation, whatever the split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        expect(internetChecksum(bytes.subarray(0, at), bytes.subarray(at))).toBe(internetChecksum(bytes));
      }),
    );
  });
});

describe('TcpFlows', () => {
  const ends = { src: '10.77.0.2', dst: '10.77.0.80', sport: 49152, dport: 80 };
  const fields = (p: Uint8Array) => {
    const v = new DataView(p.buffer, p.byteOffset + 20);
    return { seq: v.getUint32(4), ack: v.getUint32(8), flags: p[33] as number, len: p.length - 40 };
  };

  it('numbers follow the bytes: handshake, MSS-sized segments, FINs that consume one number each', () => {
    const f = new TcpFlows();
    const [syn, synAck, ack] = f.open(1, ends).map(fields);
    expect([syn?.flags, synAck?.flags, ack?.flags]).toEqual([0x02, 0x12, 0x10]);
    expect(synAck?.ack).toBe(((syn?.seq as number) + 1) >>> 0);
    const data = f.data(1, 'client', new Uint8Array(3000)).map(fields);
    expect(data.map((d) => d.len)).toEqual([1460, 1460, 80]);
    expect(data[1]?.seq).toBe(((syn?.seq as number) + 1 + 1460) >>> 0);
    const [fin, finAck] = f.end(1, 'client').map(fields);
    expect(fin?.seq).toBe(((syn?.seq as number) + 1 + 3000) >>> 0);
    expect(finAck?.ack).toBe(((fin?.seq as number) + 1) >>> 0);
    expect(f.end(1, 'server')).toHaveLength(2);
    expect(f.size).toBe(0);
    expect(f.reset(1, 'client')).toEqual([]);
  });
});

/** Every way of cutting `wire` in two, and one byte at a time, gives the same records. */
function splitsAgree(make: () => { push(c: Uint8Array): SerialRecord[] }, wire: Uint8Array): SerialRecord[] {
  const whole = make().push(wire);
  for (let cut = 0; cut <= wire.length; cut++) {
    const s = make();
    expect([...s.push(wire.subarray(0, cut)), ...s.push(wire.subarray(cut))]).toEqual(whole);
  }
  const s = make();
  expect([...wire].flatMap((b) => s.push(Uint8Array.of(b)))).toEqual(whole);
  return whole;
}

describe('serial records', () => {
  it('SLIP: one record per frame, any chunking', () => {
    const frames = [
      encodeMessage({ kind: 'request', seq: 1, op: 'PING', body: { payload: Uint8Array.of(0xc0, 0xdb, 1) } }),
      encodeMessage({ kind: 'event', seq: 0, op: 'EOF', body: { sock: 3 } }),
    ];
    const wire = concat(frames.map((f) => encodeSlip(f)));
    const records = splitsAgree(() => new SlipRecordSplitter('hostToDevice'), wire);
    expect(records.map((r) => [...r.bytes])).toEqual(frames.map((f) => [...f]));
  });

  it('AT host→device: command lines, and the CIPSEND payload as one data record even with line ends in it', () => {
    const wire = enc.encode('AT+CIPSTART=0,"TCP","echo.test",7\r\nAT+CIPSEND=0,6\r\nab\r\ncdAT\r\n');
    const records = splitsAgree(() => new AtRecordSplitter('hostToDevice'), wire);
    expect(records.map((r) => [r.kind, text(r.bytes)])).toEqual([
      ['line', 'AT+CIPSTART=0,"TCP","echo.test",7\r\n'],
      ['line', 'AT+CIPSEND=0,6\r\n'],
      ['data', 'ab\r\ncd'],
      ['line', 'AT\r\n'],
    ]);
  });

  it('AT device→host: the > prompt, +IPD and +CIPRECVDATA payloads as data', () => {
    const wire = enc.encode('\r\nOK\r\n\r\n>');
    expect(splitsAgree(() => new AtRecordSplitter('deviceToHost'), wire).map((r) => text(r.bytes))).toEqual([
      '\r\n',
      'OK\r\n',
      '\r\n',
      '>',
    ]);
    const ipd = enc.encode('\r\n+IPD,0,5,"10.77.0.7",7:a\nbc\r+IPD,3:xyz+CIPRECVDATA:4,"1.2.3.4",80,\r\n\r\nOK\r\n');
    const records = splitsAgree(() => new AtRecordSplitter('deviceToHost'), ipd);
    expect(records.map((r) => [r.kind, text(r.bytes)])).toEqual([
      ['line', '\r\n'],
      ['line', '+IPD,0,5,"10.77.0.7",7:'],
      ['data', 'a\nbc\r'],
      ['line', '+IPD,3:'],
      ['data', 'xyz'],
      ['line', '+CIPRECVDATA:4,"1.2.3.4",80,'],
      ['data', '\r\n\r\n'],
      ['line', 'OK\r\n'],
    ]);
  });

  it("'auto' follows a SLIP hello that fell back to AT", () => {
    const split = recordSplitter('auto', 'hostToDevice');
    const hello = encodeSlip(
      encodeMessage({ kind: 'request', seq: 1, op: 'PING', body: { payload: new Uint8Array(0) } }),
    );
    expect(split.push(hello).map((r) => r.kind)).toEqual(['slip']);
    expect(split.push(enc.encode('AT\r\nAT+GMR\r\n')).map((r) => [r.kind, text(r.bytes)])).toEqual([
      ['line', 'AT\r\n'],
      ['line', 'AT+GMR\r\n'],
    ]);
  });

  it('a record survives its trace encoding', () => {
    const r: SerialRecord = { dir: 'deviceToHost', kind: 'line', bytes: enc.encode('OK\r\n') };
    expect(decodeRecord(encodeRecord(r))).toEqual(r);
    expect(decodeRecord(Uint8Array.of(7, 1))).toBeUndefined();
  });
});

describe('SerialDescriber', () => {
  const slip = (m: Message): SerialRecord => ({ dir: 'deviceToHost', kind: 'slip', bytes: encodeMessage(m) });
  it('names ops, sockets, lengths and errno names (in the numbering the HELLO announced)', () => {
    const d = new SerialDescriber();
    expect(
      d.line({
        ...slip({ kind: 'request', seq: 4, op: 'CONNECT', body: { sock: 0, addr: ['10.77.0.80', 80] } }),
        dir: 'hostToDevice',
      }),
    ).toBe('host→dev  #4 CONNECT sock 0 addr 10.77.0.80:80');
    expect(d.text(slip({ kind: 'event', seq: 0, op: 'DATA', body: { sock: 2, data: new Uint8Array(512) } }))).toBe(
      'DATA sock 2 data 512 bytes',
    );
    expect(d.text(slip({ kind: 'response', seq: 9, op: 'CONNECT', status: 111, message: 'refused' }))).toBe(
      '#9 CONNECT ECONNREFUSED "refused"',
    );
    const hello = {
      ...{ version: 1, profile: 'esp32', capabilities: 0, maxFrame: 4096, txWindow: 1, maxSockets: 10 },
      ...{ errnoBase: 1, bootNonce: new Uint8Array(8) },
    };
    d.text(slip({ kind: 'response', seq: 1, op: 'HELLO', status: 0, body: hello }));
    // newlib's ETIMEDOUT is 116 (Linux's 110).
    expect(d.text(slip({ kind: 'response', seq: 10, op: 'SEND', status: 116, message: '' }))).toMatch(/ETIMEDOUT/);
    expect(d.text({ dir: 'hostToDevice', kind: 'slip', bytes: Uint8Array.of(1, 2, 3) })).toMatch(
      /^bad frame \(short\)/,
    );
  });
});

describe('TraceRecorder', () => {
  it('writes a readable file: serial records on interface 0, the network on interface 1', () => {
    const parts: Uint8Array[] = [];
    let t = 1_000_000;
    const rec = new TraceRecorder({ side: 'host', protocol: 'auto', sink: (b) => parts.push(b), now: () => (t += 10) });
    rec.serial('hostToDevice', enc.encode('AT\r\n'));
    rec.serial('deviceToHost', enc.encode('\r\nOK\r\n'));
    rec.dns('10.77.0.2', 'http.test', ['10.77.0.80']);
    const packets = readPcapng(concat(parts));
    expect(packets.map((p) => [p.iface, p.direction])).toEqual([
      [0, DIRECTION.outbound],
      [0, DIRECTION.inbound],
      [0, DIRECTION.inbound],
      [1, 0],
      [1, 0],
    ]);
    expect(packets.map((p) => p.timestampUs)).toEqual([1_000_010, 1_000_020, 1_000_030, 1_000_040, 1_000_050]);
  });
});

describe('the Wireshark dissector', () => {
  it('is the generator output for the current opcode and errno tables (npx tsx firmware-protocol/wireshark/generate.ts)', () => {
    const shipped = readFileSync(new URL('../wireshark/netcoproc.lua', import.meta.url), 'utf8');
    expect(shipped).toBe(dissectorSource());
    expect(shipped).toContain('[0x15] = "CONNECT"');
  });
});

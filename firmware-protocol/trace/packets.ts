/**
 * IPv4 packets as a capture shows them: a 20-byte IPv4 header, then a TCP or UDP header with
 * a real checksum over the pseudo-header, then the payload. Also the two DNS messages of an
 * A lookup, so a name the board resolved dissects as DNS. Pure byte builders.
 */
import { concatBytes } from '../bytes.js';

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** `'10.77.0.2'` → its four bytes; anything else (IPv6, garbage) maps to 0.0.0.0. */
export function ipv4Bytes(ip: string): Uint8Array {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return new Uint8Array(4);
  return Uint8Array.from(parts);
}

/** The Internet checksum (RFC 1071) of `parts` laid end to end, as if concatenated. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = -1; // a byte left over from the previous part
  for (const p of parts) {
    let i = 0;
    if (odd >= 0 && p.length > 0) {
      sum += (odd << 8) | (p[0] as number);
      odd = -1;
      i = 1;
    }
    for (; i + 1 < p.length; i += 2) sum += ((p[i] as number) << 8) | (p[i + 1] as number);
    if (i < p.length) odd = p[i] as number;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Endpoints {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** An IPv4 packet around `l4` (a TCP or UDP header and payload, checksum already set). */
function ipv4(src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array): Uint8Array {
  const out = new Uint8Array(20 + l4.length);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, out.length);
  v.setUint16(6, 0x4000); // don't fragment, so an identification of 0 is fine (RFC 6864)
  out[8] = 64;
  out[9] = proto;
  out.set(src, 12);
  out.set(dst, 16);
  v.setUint16(10, internetChecksum(out.subarray(0, 20)));
  out.set(l4, 20);
  return out;
}

function pseudoHeader(src: Uint8Array, dst: Uint8Array, proto: number, length: number): Uint8Array {
  const p = new Uint8Array(12);
  p.set(src, 0);
  p.set(dst, 4);
  p[9] = proto;
  new DataView(p.buffer).setUint16(10, length);
  return p;
}

export interface TcpFields extends Endpoints {
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  payload?: Uint8Array;
}

/** An IPv4 packet holding one TCP segment (20-byte header, no options). */
export function tcpPacket(f: TcpFields): Uint8Array {
  const payload = f.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(20 + payload.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, f.sport);
  v.setUint16(2, f.dport);
  v.setUint32(4, f.seq >>> 0);
  v.setUint32(8, f.ack >>> 0);
  seg[12] = 5 << 4;
  seg[13] = f.flags;
  v.setUint16(14, f.window ?? 65535);
  seg.set(payload, 20);
  const src = ipv4Bytes(f.src);
  const dst = ipv4Bytes(f.dst);
  v.setUint16(16, internetChecksum(pseudoHeader(src, dst, PROTO_TCP, seg.length), seg));
  return ipv4(src, dst, PROTO_TCP, seg);
}

/** An IPv4 packet holding one UDP datagram. */
export function udpPacket(e: Endpoints, payload: Uint8Array): Uint8Array {
  const dgram = new Uint8Array(8 + payload.length);
  const v = new DataView(dgram.buffer);
  v.setUint16(0, e.sport);
  v.setUint16(2, e.dport);
  v.setUint16(4, dgram.length);
  dgram.set(payload, 8);
  const src = ipv4Bytes(e.src);
  const dst = ipv4Bytes(e.dst);
  v.setUint16(6, internetChecksum(pseudoHeader(src, dst, PROTO_UDP, dgram.length), dgram) || 0xffff);
  return ipv4(src, dst, PROTO_UDP, dgram);
}

const utf8 = new TextEncoder();

function dnsName(name: string): Uint8Array {
  const labels = name
    .split('.')
    .filter((l) => l.length > 0)
    .map((l) => utf8.encode(l).subarray(0, 63));
  const out = new Uint8Array(labels.reduce((n, l) => n + 1 + l.length, 1));
  let at = 0;
  for (const l of labels) {
    out[at++] = l.length;
    out.set(l, at);
    at += l.length;
  }
  return out;
}

/**
 * The DNS query for `name`'s A record, and its answer: `addresses` (each with a 60 s TTL), or
 * NXDOMAIN when there are none.
 */
export function dnsExchange(id: number, name: string, addresses: string[]): { query: Uint8Array; answer: Uint8Array } {
  const qname = dnsName(name);
  const question = new Uint8Array(qname.length + 4);
  question.set(qname);
  new DataView(question.buffer).setUint32(qname.length, 0x00010001); // QTYPE A, QCLASS IN
  const header = (flags: number, answers: number): Uint8Array => {
    const h = new Uint8Array(12);
    const v = new DataView(h.buffer);
    v.setUint16(0, id & 0xffff);
    v.setUint16(2, flags);
    v.setUint16(4, 1);
    v.setUint16(6, answers);
    return h;
  };
  const query = concatBytes([header(0x0100, 0), question]);
  const records = addresses.map((ip) => {
    const rr = new Uint8Array(16);
    const v = new DataView(rr.buffer);
    v.setUint16(0, 0xc00c); // pointer to the question's name
    v.setUint32(2, 0x00010001);
    v.setUint32(6, 60);
    v.setUint16(10, 4);
    rr.set(ipv4Bytes(ip), 12);
    return rr;
  });
  const rcode = addresses.length ? 0 : 3;
  const answer = concatBytes([header(0x8180 | rcode, records.length), question, ...records]);
  return { query, answer };
}

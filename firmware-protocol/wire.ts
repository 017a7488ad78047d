/**
 * Wire types: each describes one field's binary layout AND its zod schema, so a message
 * layout is written once and both the codec and the validation come from it.
 * All integers are big-endian (network order).
 */
import { z } from 'zod';

/** A cursor over a frame body; reads throw WireError when the body is short. */
export class WireReader {
  readonly view: DataView;
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }
  need(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length) throw new WireError(`body too short: need ${n} bytes at offset ${at}`);
    this.pos = at + n;
    return at;
  }
}

/** Raised for a body that does not match its layout (stable code for callers). */
export class WireError extends Error {
  readonly code = 'EBADMSG';
}

export interface Wire<T> {
  readonly schema: z.ZodType<T>;
  size(v: T): number;
  write(view: DataView, bytes: Uint8Array, at: number, v: T): number;
  read(r: WireReader): T;
}

export type WireValue<W> = W extends Wire<infer T> ? T : never;

function int(bytes: 1 | 2 | 4, signed: boolean): Wire<number> {
  const min = signed ? -(2 ** (bytes * 8 - 1)) : 0;
  const max = signed ? 2 ** (bytes * 8 - 1) - 1 : 2 ** (bytes * 8) - 1;
  const get = (d: DataView, at: number): number =>
    bytes === 1
      ? signed
        ? d.getInt8(at)
        : d.getUint8(at)
      : bytes === 2
        ? signed
          ? d.getInt16(at)
          : d.getUint16(at)
        : signed
          ? d.getInt32(at)
          : d.getUint32(at);
  const set = (d: DataView, at: number, v: number): void => {
    if (bytes === 1) signed ? d.setInt8(at, v) : d.setUint8(at, v);
    else if (bytes === 2) signed ? d.setInt16(at, v) : d.setUint16(at, v);
    else signed ? d.setInt32(at, v) : d.setUint32(at, v);
  };
  return {
    schema: z.number().int().min(min).max(max),
    size: () => bytes,
    write: (view, _b, at, v) => {
      set(view, at, v);
      return at + bytes;
    },
    read: (r) => get(r.view, r.need(bytes)),
  };
}

export const u8 = int(1, false);
export const u16 = int(2, false);
export const u32 = int(4, false);
export const i16 = int(2, true);
export const i32 = int(4, true);

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

/** A UTF-8 string with a 1-byte length prefix (host names, profile names). */
export const str8: Wire<string> = {
  schema: z.string().refine((s) => utf8.encode(s).length <= 255, 'string longer than 255 UTF-8 bytes'),
  size: (v) => 1 + utf8.encode(v).length,
  write: (view, bytes, at, v) => {
    const enc = utf8.encode(v);
    view.setUint8(at, enc.length);
    bytes.set(enc, at + 1);
    return at + 1 + enc.length;
  },
  read: (r) => {
    const n = r.bytes[r.need(1)] as number;
    const at = r.need(n);
    return decodeText(r.bytes.subarray(at, at + n));
  },
};

function decodeText(b: Uint8Array): string {
  try {
    return utf8d.decode(b);
  } catch {
    throw new WireError('string is not valid UTF-8');
  }
}

/** Bytes with a 2-byte length prefix (option values, file contents in a chunk). */
export const blob16: Wire<Uint8Array> = {
  schema: z.instanceof(Uint8Array).refine((b) => b.length <= 0xffff, 'blob longer than 65535 bytes'),
  size: (v) => 2 + v.length,
  write: (view, bytes, at, v) => {
    view.setUint16(at, v.length);
    bytes.set(v, at + 2);
    return at + 2 + v.length;
  },
  read: (r) => {
    const n = r.view.getUint16(r.need(2));
    const at = r.need(n);
    return r.bytes.subarray(at, at + n);
  },
};

/** Fixed-size bytes (the 8-byte boot nonce). */
export function fixed(n: number): Wire<Uint8Array> {
  return {
    schema: z.instanceof(Uint8Array).refine((b) => b.length === n, `must be exactly ${n} bytes`),
    size: () => n,
    write: (_v, bytes, at, v) => {
      bytes.set(v, at);
      return at + n;
    },
    read: (r) => {
      const at = r.need(n);
      return r.bytes.subarray(at, at + n);
    },
  };
}

/** All remaining bytes of the body: payloads travel raw, without a length prefix. Last field only. */
export const rest: Wire<Uint8Array> = {
  schema: z.instanceof(Uint8Array),
  size: (v) => v.length,
  write: (_v, bytes, at, v) => {
    bytes.set(v, at);
    return at + v.length;
  },
  read: (r) => {
    const at = r.need(r.bytes.length - r.pos);
    return r.bytes.subarray(at);
  },
};

/** All remaining bytes as UTF-8 text (error messages). Last field only. */
export const restText: Wire<string> = {
  schema: z.string(),
  size: (v) => utf8.encode(v).length,
  write: (_v, bytes, at, v) => {
    const enc = utf8.encode(v);
    bytes.set(enc, at);
    return at + enc.length;
  },
  read: (r) => decodeText(rest.read(r)),
};

/**
 * A socket address `[ip, port]` (MicroPython's sockaddr tuple): family byte 2 (IPv4, 4 address
 * bytes) or 10 (IPv6, 16 bytes), then the port as u16. `['10.0.0.1', 7]` → `02 0a 00 00 01 00 07`.
 */
export const sockaddr: Wire<[string, number]> = {
  schema: z.tuple([z.string().refine((s) => parseIp(s) !== undefined, 'not an IPv4/IPv6 literal'), u16.schema]),
  size: (v) => 1 + (parseIp(v[0])?.length ?? 4) + 2,
  write: (view, bytes, at, v) => {
    const ip = parseIp(v[0]);
    if (!ip) throw new WireError(`not an IP literal: ${v[0]}`);
    view.setUint8(at, ip.length === 4 ? 2 : 10);
    bytes.set(ip, at + 1);
    view.setUint16(at + 1 + ip.length, v[1]);
    return at + 3 + ip.length;
  },
  read: (r) => {
    const family = r.bytes[r.need(1)];
    const len = family === 2 ? 4 : family === 10 ? 16 : -1;
    if (len < 0) throw new WireError(`unknown address family ${family}`);
    const at = r.need(len);
    const ip = formatIp(r.bytes.subarray(at, at + len));
    return [ip, r.view.getUint16(r.need(2))];
  },
};

/** A list with a 1-byte count. */
export function list8<T>(item: Wire<T>): Wire<T[]> {
  return {
    schema: z.array(item.schema).max(255),
    size: (v) => v.reduce((n, x) => n + item.size(x), 1),
    write: (view, bytes, at, v) => {
      view.setUint8(at, v.length);
      let o = at + 1;
      for (const x of v) o = item.write(view, bytes, o, x);
      return o;
    },
    read: (r) => {
      const n = r.bytes[r.need(1)] as number;
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.read(r));
      return out;
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a struct's fields have different value types and Wire<T> is invariant in T.
type Fields = Record<string, Wire<any>>;
export type StructValue<F extends Fields> = { [K in keyof F]: WireValue<F[K]> };

/** Fields in declaration order. */
export function struct<F extends Fields>(fields: F): Wire<StructValue<F>> {
  const entries = Object.entries(fields);
  const shape = Object.fromEntries(entries.map(([k, w]) => [k, w.schema]));
  return {
    schema: z.object(shape).strict() as unknown as z.ZodType<StructValue<F>>,
    size: (v) => entries.reduce((n, [k, w]) => n + w.size((v as Record<string, unknown>)[k]), 0),
    write: (view, bytes, at, v) => {
      let o = at;
      for (const [k, w] of entries) o = w.write(view, bytes, o, (v as Record<string, unknown>)[k]);
      return o;
    },
    read: (r) => {
      const out: Record<string, unknown> = {};
      for (const [k, w] of entries) out[k] = w.read(r);
      return out as StructValue<F>;
    },
  };
}

/** Parses an IPv4 dotted quad or an IPv6 literal (with `::` and embedded IPv4); undefined if neither. */
export function parseIp(s: string): Uint8Array | undefined {
  return parseIpv4(s) ?? parseIpv6(s);
}

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  if (!s.includes(':')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const items = h.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i] as string;
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(Number.parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Formats 4 or 16 address bytes: dotted quad, or RFC 5952 IPv6 (longest zero run as `::`). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] as number) << 8) | (b[i + 1] as number));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

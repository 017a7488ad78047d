/**
 * A small pcapng writer and reader (the format of draft-ietf-opsawg-pcapng): a section header,
 * one interface description per link type, and one enhanced packet block per packet. Pure:
 * blocks come out as bytes, the caller decides where they go. Little-endian throughout.
 *
 * ```
 * block = type u32 | total length u32 | body (padded to 4) | total length u32
 * SHB body: 1A2B3C4D | major 1 | minor 0 | section length -1 (i64) | options
 * IDB body: link type u16 | reserved u16 | snaplen u32 | options
 * EPB body: interface u32 | timestamp high u32 | low u32 (µs) | captured u32 | original u32 | data | options
 * option = code u16 | length u16 | value (padded to 4); code 0 ends the list
 * ```
 */

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Raw IPv4/IPv6 packets, no link header. */
export const LINKTYPE_RAW = 101;
/** LINKTYPE_USER0 (DLT_USER0): private use; netcoproc's serial records (see serial-records.ts). */
export const LINKTYPE_USER0 = 147;

const OPT_END = 0;
const OPT_COMMENT = 1;
const OPT_IF_NAME = 2;
const OPT_SHB_USERAPPL = 4;
const OPT_EPB_FLAGS = 2;

/** epb_flags direction bits: inbound = towards the capturing side, outbound = from it. */
export const DIRECTION = { inbound: 1, outbound: 2 } as const;

const utf8 = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

interface Option {
  code: number;
  value: Uint8Array;
}

function optionsSize(opts: Option[]): number {
  if (opts.length === 0) return 0;
  return opts.reduce((n, o) => n + 4 + pad4(o.value.length), 4);
}

function writeOptions(view: DataView, bytes: Uint8Array, at: number, opts: Option[]): number {
  if (opts.length === 0) return at;
  for (const o of opts) {
    view.setUint16(at, o.code, true);
    view.setUint16(at + 2, o.value.length, true);
    bytes.set(o.value, at + 4);
    at += 4 + pad4(o.value.length);
  }
  view.setUint32(at, OPT_END, true);
  return at + 4;
}

/** One block: `fixed` body bytes filled by `fill`, then `data` (padded), then options. */
function block(type: number, fixed: number, fill: (v: DataView) => void, data: Uint8Array, opts: Option[]): Uint8Array {
  const total = 8 + fixed + pad4(data.length) + optionsSize(opts) + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  fill(new DataView(bytes.buffer, 8, fixed));
  bytes.set(data, 8 + fixed);
  writeOptions(view, bytes, 8 + fixed + pad4(data.length), opts);
  view.setUint32(total - 4, total, true);
  return bytes;
}

const text = (code: number, s: string): Option => ({ code, value: utf8.encode(s) });

/** The section header that starts a file; `application` goes in shb_userappl. */
export function sectionHeader(application: string): Uint8Array {
  return block(
    BLOCK_SHB,
    16,
    (v) => {
      v.setUint32(0, BYTE_ORDER_MAGIC, true);
      v.setUint16(4, 1, true);
      v.setUint16(6, 0, true);
      v.setBigInt64(8, -1n, true);
    },
    new Uint8Array(0),
    [text(OPT_SHB_USERAPPL, application)],
  );
}

/** An interface description: packets name it by its index, in the order these blocks were written. */
export function interfaceDescription(linkType: number, name: string, snaplen = 0): Uint8Array {
  return block(
    BLOCK_IDB,
    8,
    (v) => {
      v.setUint16(0, linkType, true);
      v.setUint32(4, snaplen, true);
    },
    new Uint8Array(0),
    [text(OPT_IF_NAME, name)],
  );
}

export interface PacketOptions {
  /** Direction bits of epb_flags (DIRECTION.inbound / outbound). */
  direction?: number;
  comment?: string;
}

/** One packet on interface `iface`, timestamped in microseconds since the Unix epoch. */
export function enhancedPacket(
  iface: number,
  timestampUs: number,
  data: Uint8Array,
  o: PacketOptions = {},
): Uint8Array {
  const opts: Option[] = [];
  if (o.direction) {
    const flags = new Uint8Array(4);
    new DataView(flags.buffer).setUint32(0, o.direction, true);
    opts.push({ code: OPT_EPB_FLAGS, value: flags });
  }
  if (o.comment) opts.push(text(OPT_COMMENT, o.comment));
  const ts = Math.max(0, Math.floor(timestampUs));
  return block(
    BLOCK_EPB,
    20,
    (v) => {
      v.setUint32(0, iface, true);
      v.setUint32(4, Math.floor(ts / 2 ** 32), true);
      v.setUint32(8, ts % 2 ** 32, true);
      v.setUint32(12, data.length, true);
      v.setUint32(16, data.length, true);
    },
    data,
    opts,
  );
}

/** A packet read back: its interface's link type, time, bytes and direction bits. */
export interface ReadPacket {
  iface: number;
  linkType: number;
  timestampUs: number;
  data: Uint8Array;
  direction: number;
}

export class PcapngError extends Error {
  readonly code = 'EBADPCAPNG';
}

/**
 * Reads the packets of a whole pcapng file (any byte order, any number of sections; blocks
 * other than SHB, IDB and EPB are skipped). Throws PcapngError naming the offset of a bad block.
 */
export function readPcapng(file: Uint8Array): ReadPacket[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: ReadPacket[] = [];
  let little = true;
  let links: number[] = [];
  let at = 0;
  while (at < file.length) {
    if (at + 12 > file.length) throw new PcapngError(`truncated block at offset ${at}`);
    const type = view.getUint32(at, true);
    if (type === BLOCK_SHB) {
      const magic = view.getUint32(at + 8, true);
      if (magic !== BYTE_ORDER_MAGIC && magic !== 0x4d3c2b1a) throw new PcapngError(`bad byte-order magic at ${at}`);
      little = magic === BYTE_ORDER_MAGIC;
      links = [];
    } else if (at === 0) throw new PcapngError('not a pcapng file (no section header)');
    const total = view.getUint32(at + 4, little);
    if (total < 12 || total % 4 !== 0 || at + total > file.length)
      throw new PcapngError(`bad block length ${total} at offset ${at}`);
    const body = at + 8;
    if (view.getUint32(at, little) === BLOCK_IDB) links.push(view.getUint16(body, little));
    else if (view.getUint32(at, little) === BLOCK_EPB) out.push(readEpb(file, view, body, total, little, links));
    at += total;
  }
  return out;
}

function readEpb(
  file: Uint8Array,
  view: DataView,
  body: number,
  total: number,
  le: boolean,
  links: number[],
): ReadPacket {
  const iface = view.getUint32(body, le);
  const linkType = links[iface];
  if (linkType === undefined) throw new PcapngError(`packet names unknown interface ${iface}`);
  const captured = view.getUint32(body + 12, le);
  const start = body + 20;
  if (start + captured > body - 8 + total - 4) throw new PcapngError(`packet longer than its block at ${body - 8}`);
  const ts = view.getUint32(body + 4, le) * 2 ** 32 + view.getUint32(body + 8, le);
  let direction = 0;
  const end = body - 8 + total - 4;
  for (let o = start + pad4(captured); o + 4 <= end; ) {
    const code = view.getUint16(o, le);
    const len = view.getUint16(o + 2, le);
    if (code === OPT_END) break;
    if (code === OPT_EPB_FLAGS && len === 4) direction = view.getUint32(o + 4, le) & 3;
    o += 4 + pad4(len);
  }
  return { iface, linkType, timestampUs: ts, data: file.subarray(start, start + captured), direction };
}

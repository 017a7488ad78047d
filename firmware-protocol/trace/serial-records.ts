/**
 * The serial line as records, one per SLIP frame or AT line, for traces (pcapng link type
 * LINKTYPE_USER0) and live views. A record on the wire of a trace is
 *
 * ```
 * offset size field
 * 0      1    direction  0 host → device, 1 device → host
 * 1      1    kind       1 SLIP frame (unescaped, CRC included), 2 AT line (with its line end),
 *                        3 data (AT payload after the `>` prompt, or of +IPD / +CIPRECVDATA),
 *                        4 note (UTF-8: "host attached", "reboot", ...), 5 garbage (bytes that
 *                        are no frame: a bad SLIP escape, an oversize frame)
 * 2      n    bytes
 * ```
 *
 * The splitters are pure push state machines: bytes in, records out, any chunking.
 */
import { concatBytes } from '../bytes.js';
import { SlipDecoder } from '../slip.js';

export const RECORD_KIND = { slip: 1, line: 2, data: 3, note: 4, garbage: 5 } as const;
export type RecordKind = keyof typeof RECORD_KIND;
export type Direction = 'hostToDevice' | 'deviceToHost';

export interface SerialRecord {
  dir: Direction;
  kind: RecordKind;
  bytes: Uint8Array;
}

const kindByCode = new Map<number, RecordKind>(Object.entries(RECORD_KIND).map(([k, v]) => [v, k as RecordKind]));

/** The bytes of a record as a LINKTYPE_USER0 packet. */
export function encodeRecord(r: SerialRecord): Uint8Array {
  const out = new Uint8Array(2 + r.bytes.length);
  out[0] = r.dir === 'hostToDevice' ? 0 : 1;
  out[1] = RECORD_KIND[r.kind];
  out.set(r.bytes, 2);
  return out;
}

/** A LINKTYPE_USER0 packet back to its record; undefined when it is not one of ours. */
export function decodeRecord(packet: Uint8Array): SerialRecord | undefined {
  const kind = kindByCode.get(packet[1] ?? 0);
  if (packet.length < 2 || packet[0]! > 1 || !kind) return undefined;
  return { dir: packet[0] === 0 ? 'hostToDevice' : 'deviceToHost', kind, bytes: packet.subarray(2) };
}

export interface RecordSplitter {
  push(chunk: Uint8Array): SerialRecord[];
}

/** SLIP: one record per frame; a framing error is a garbage record saying how much was dropped. */
export class SlipRecordSplitter implements RecordSplitter {
  private readonly decoder = new SlipDecoder(1 << 20);
  constructor(private readonly dir: Direction) {}

  push(chunk: Uint8Array): SerialRecord[] {
    return this.decoder.push(chunk).map((o) =>
      o.type === 'frame'
        ? { dir: this.dir, kind: 'slip', bytes: o.frame }
        : {
            dir: this.dir,
            kind: 'garbage',
            bytes: new TextEncoder().encode(`${o.code}: ${o.dropped} bytes dropped`),
          },
    );
  }
}

/** A line with no end this long is cut into a record anyway, so a stream of garbage stays bounded. */
const MAX_LINE = 4096;
const LF = 0x0a;
const ascii = new TextDecoder('latin1');

/**
 * ESP-AT: one record per line; the payload the host sends after `AT+CIPSEND=<...>,<n>` and the
 * payload of `+IPD,<id>,<n>:` / `+CIPRECVDATA:<n>,` are data records of exactly n bytes, and the
 * `>` prompt, which ends no line, is a record of its own.
 */
export class AtRecordSplitter implements RecordSplitter {
  private buf: Uint8Array = new Uint8Array(0);
  /** Data bytes still to come as one record; -1 = line mode. */
  private dataLeft = -1;
  private data: Uint8Array[] = [];

  constructor(private readonly dir: Direction) {}

  push(chunk: Uint8Array): SerialRecord[] {
    const out: SerialRecord[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.dataLeft >= 0) at = this.takeData(chunk, at, out);
      else at = this.takeLine(chunk, at, out);
    }
    if (this.dataLeft < 0 && this.dir === 'deviceToHost' && this.buf.length === 1 && this.buf[0] === 0x3e) {
      out.push(this.record('line', this.buf));
      this.buf = new Uint8Array(0);
    }
    return out;
  }

  private takeData(chunk: Uint8Array, at: number, out: SerialRecord[]): number {
    const n = Math.min(this.dataLeft, chunk.length - at);
    this.data.push(chunk.subarray(at, at + n));
    this.dataLeft -= n;
    if (this.dataLeft === 0) {
      out.push(this.record('data', concatBytes(this.data)));
      this.data = [];
      this.dataLeft = -1;
    }
    return at + n;
  }

  private takeLine(chunk: Uint8Array, at: number, out: SerialRecord[]): number {
    const lf = chunk.indexOf(LF, at);
    const end = lf < 0 ? chunk.length : lf + 1;
    this.buf = concatBytes([this.buf, chunk.subarray(at, end)]);
    const header = this.dataHeader();
    if (header) {
      out.push(this.record('line', this.buf.subarray(0, header.end)));
      const rest = this.buf.subarray(header.end);
      this.buf = new Uint8Array(0);
      this.dataLeft = header.length;
      if (header.length === 0) this.dataLeft = -1;
      // Bytes already buffered past the header belong to the payload.
      return end - rest.length;
    }
    if (lf >= 0 || this.buf.length >= MAX_LINE) {
      out.push(this.record('line', this.buf));
      const sent = this.dir === 'hostToDevice' ? sendLength(ascii.decode(this.buf)) : 0;
      this.buf = new Uint8Array(0);
      if (sent > 0) this.dataLeft = sent;
    }
    return end;
  }

  /** A device→host `+IPD,...,<n>:` or `+CIPRECVDATA:<n>,` header at the start of the buffer. */
  private dataHeader(): { end: number; length: number } | undefined {
    if (this.dir !== 'deviceToHost' || this.buf[0] !== 0x2b) return undefined;
    const text = ascii.decode(this.buf.subarray(0, 96));
    const ipd = /^\+IPD,([^:\r\n]*):/.exec(text);
    if (ipd) {
      const numbers = (ipd[1] as string).split(',"')[0]!.split(',');
      return { end: ipd[0].length, length: Number(numbers[numbers.length - 1]) || 0 };
    }
    // `+CIPRECVDATA:<n>,<data>` or `+CIPRECVDATA:<n>,"<ip>",<port>,<data>`: decide on the byte after the comma.
    const recv = /^\+CIPRECVDATA[:,](\d+)[,:]/.exec(text);
    if (!recv || text.length === recv[0].length) return undefined;
    if (text[recv[0].length] !== '"') return { end: recv[0].length, length: Number(recv[1]) };
    const addressed = /^\+CIPRECVDATA:(\d+),"[^"]*",\d+,/.exec(text);
    return addressed ? { end: addressed[0].length, length: Number(addressed[1]) } : undefined;
  }

  private record(kind: RecordKind, bytes: Uint8Array): SerialRecord {
    return { dir: this.dir, kind, bytes };
  }
}

/** `AT+CIPSEND=0,5\r\n` → 5 (the bytes that follow the prompt); 0 for any other line. */
function sendLength(line: string): number {
  const m = /^AT\+CIPSEND(?:EX)?=(.*?)\r?\n?$/.exec(line);
  if (!m) return 0;
  // =<len> | =<link>,<len> | =[<link>,]<len>,"ip",port (UDP): the length is the last field before any address.
  const fields = (m[1] as string).split(',"')[0]!.split(',');
  const n = Number(fields[fields.length - 1]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

const startsWithAt = (c: Uint8Array): boolean => c[0] === 0x41 && c[1] === 0x54;

/**
 * A splitter for `protocol`. 'auto' decides on the first bytes (a SLIP END means SLIP) and
 * follows the host's fallback (`openDevice(…, { protocol: 'auto' })`): SLIP that is followed by
 * a chunk starting `AT` becomes AT.
 */
export function recordSplitter(protocol: 'slip' | 'at' | 'auto', dir: Direction): RecordSplitter {
  if (protocol === 'slip') return new SlipRecordSplitter(dir);
  if (protocol === 'at') return new AtRecordSplitter(dir);
  let chosen: RecordSplitter | undefined;
  return {
    push(chunk) {
      if (chunk.length === 0) return [];
      if (!chosen || (chosen instanceof SlipRecordSplitter && startsWithAt(chunk)))
        chosen = chunk.includes(0xc0) ? new SlipRecordSplitter(dir) : new AtRecordSplitter(dir);
      return chosen.push(chunk);
    },
  };
}

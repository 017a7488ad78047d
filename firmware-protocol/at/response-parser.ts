/**
 * Host side: a pure push parser for the ESP-AT byte stream. `feed(bytes)` returns every
 * complete message and keeps the unfinished tail; the same bytes cut anywhere give the same
 * messages. Two modes:
 *
 * - line mode: CRLF-terminated lines, plus the `>` prompt that has no CRLF (`\r\nOK\r\n\r\n>`);
 * - data mode: after `\r\n+IPD,0,5:` or `+CIPRECVDATA:5,` exactly `<len>` raw bytes follow with
 *   no terminator (`\r\n+IPD,4:test` then maybe `0,CLOSED\r\n` at once), so they are counted,
 *   never scanned — payloads may hold `\r\n`, `OK\r\n` or `+IPD`.
 *
 * URCs may start at any line boundary, including between `>` and `Recv N bytes`.
 */

import { concatBytes } from '../bytes.js';
import type { AtMessage, Remote } from './messages.js';
import { classifyLine, parseIpdFields } from './response-lines.js';

/** Options of {@link AtResponseParser}. */
export interface AtResponseParserOptions {
  /** Longest line kept, CR included (default 1024); longer lines give one `overflow` and are skipped. */
  readonly maxLineLength?: number;
  /** Largest `+IPD`/`+CIPRECVDATA` payload accepted (default 1 MiB); larger ones are skipped. */
  readonly maxDataLength?: number;
  /**
   * Whether `+CIPRECVDATA:<len>,` is followed by `"ip",port,` (AT+CIPDINFO=1). `'auto'` (default)
   * takes a `"<address>",<port>,` right after the comma as the address — a payload that itself
   * starts like that is misread, so a driver that knows its CIPDINFO setting should say so.
   */
  readonly recvDataRemote?: boolean | 'auto';
}

/** Named parser states. */
export type AtResponseState = 'line' | 'data' | 'skip-line' | 'skip-data';

interface DataHead {
  readonly type: 'ipd' | 'recv-data';
  readonly link: number | null;
  readonly length: number;
  readonly remote: Remote | null;
}

const CR = 0x0d;
const LF = 0x0a;
const GT = 0x3e;
const COLON = 0x3a;
const QUOTE = 0x22;
const COMMA = 0x2c;
const WAIT = -1;
const NONE = -2;
const EMPTY = new Uint8Array(0);
const IPD = new TextEncoder().encode('+IPD,');
const RECV_DATA = new TextEncoder().encode('+CIPRECVDATA:');
/** Longest `+IPD` header after the prefix: `4,2920,"<45-char IPv6>",65535:` fits easily. */
const IPD_HEAD_MAX = 96;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/**
 * Push parser for device output.
 *
 * @example
 * const p = new AtResponseParser();
 * p.feed(bytes('\r\nOK\r\n\r\n>'));       // [{ type:'ok' }, { type:'prompt' }]
 * p.feed(bytes('\r\n+IPD,0,5:he'));        // [] — 3 payload bytes still owed
 * p.feed(bytes('llo0,CLOSED\r\n'));        // [{ type:'ipd', link:0, length:5, remote:null, data:'hello' }, { type:'closed', link:0 }]
 */
export class AtResponseParser {
  /** Whether `+CIPRECVDATA` carries the remote address; see {@link AtResponseParserOptions}. */
  recvDataRemote: boolean | 'auto';
  private readonly maxLine: number;
  private readonly maxData: number;
  private mode: AtResponseState = 'line';
  private pending: Uint8Array = EMPTY;
  private head: DataHead | null = null;
  private parts: Uint8Array[] = [];
  private remaining = 0;

  constructor(options: AtResponseParserOptions = {}) {
    this.maxLine = options.maxLineLength ?? 1024;
    this.maxData = options.maxDataLength ?? 1 << 20;
    this.recvDataRemote = options.recvDataRemote ?? 'auto';
  }

  /** The current state: `line`, `data` (counting payload), or skipping an oversized item. */
  get state(): AtResponseState {
    return this.mode;
  }

  /** Bytes held between calls (unfinished line + payload collected so far); bounded by the limits. */
  get bufferedBytes(): number {
    return this.pending.length + this.parts.reduce((n, p) => n + p.length, 0);
  }

  /** Forgets everything buffered, e.g. after the device rebooted. */
  reset(): void {
    this.mode = 'line';
    this.pending = EMPTY;
    this.head = null;
    this.parts = [];
    this.remaining = 0;
  }

  /** Consumes a chunk and returns the messages it completes. Never throws on any input. */
  feed(chunk: Uint8Array): AtMessage[] {
    const out: AtMessage[] = [];
    const buf = this.join(chunk);
    let pos = 0;
    while (pos < buf.length) {
      const next = this.step(buf, pos, out);
      if (next === WAIT) break;
      pos = next;
    }
    this.pending = pos < buf.length ? buf.slice(pos) : EMPTY;
    return out;
  }

  private join(chunk: Uint8Array): Uint8Array {
    return this.pending.length === 0 ? chunk : concatBytes([this.pending, chunk]);
  }

  private step(buf: Uint8Array, pos: number, out: AtMessage[]): number {
    switch (this.mode) {
      case 'line':
        return this.stepLine(buf, pos, out);
      case 'data':
        return this.stepData(buf, pos, out);
      case 'skip-data':
        return this.stepSkipData(buf, pos);
      case 'skip-line': {
        const nl = buf.indexOf(LF, pos);
        if (nl < 0) return buf.length;
        this.mode = 'line';
        return nl + 1;
      }
    }
  }

  /** At a line boundary: the prompt, a binary header, or a whole CRLF line. */
  private stepLine(buf: Uint8Array, pos: number, out: AtMessage[]): number {
    if (buf[pos] === GT) {
      out.push({ type: 'prompt' });
      return pos + 1;
    }
    const binary = this.tryBinaryHead(buf, pos, out);
    if (binary !== NONE) return binary;
    const nl = buf.indexOf(LF, pos);
    if (nl - pos > this.maxLine || (nl < 0 && buf.length - pos > this.maxLine)) {
      out.push({ type: 'overflow', what: 'line', limit: this.maxLine, length: null });
      this.mode = 'skip-line';
      return pos + this.maxLine + 1;
    }
    if (nl < 0) return WAIT;
    const end = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
    if (end > pos) out.push(classifyLine(utf8.decode(buf.subarray(pos, end))));
    return nl + 1;
  }

  /** `+IPD,…:` or `+CIPRECVDATA:…,` → data mode; WAIT while undecidable; NONE if an ordinary line. */
  private tryBinaryHead(buf: Uint8Array, pos: number, out: AtMessage[]): number {
    const ipd = prefixAt(buf, pos, IPD);
    if (ipd === 'partial') return WAIT;
    if (ipd === 'yes') return this.ipdHead(buf, pos + IPD.length, out);
    const rd = prefixAt(buf, pos, RECV_DATA);
    if (rd === 'partial') return WAIT;
    if (rd === 'yes') return this.recvDataHead(buf, pos + RECV_DATA.length, out);
    return NONE;
  }

  private ipdHead(buf: Uint8Array, from: number, out: AtMessage[]): number {
    const limit = Math.min(buf.length, from + IPD_HEAD_MAX);
    let quoted = false;
    for (let i = from; i < limit; i++) {
      const b = buf[i];
      // A CR or LF first means the passive-mode notice `+IPD,0,5\r\n`: an ordinary line.
      if (b === CR || b === LF) return NONE;
      if (b === QUOTE) quoted = !quoted;
      if (b === COLON && !quoted) {
        const h = parseIpdFields(latin1.decode(buf.subarray(from, i)));
        return h ? this.startData({ type: 'ipd', ...h }, i + 1, out) : NONE;
      }
    }
    return limit === buf.length && limit < from + IPD_HEAD_MAX ? WAIT : NONE;
  }

  private recvDataHead(buf: Uint8Array, from: number, out: AtMessage[]): number {
    let i = from;
    while (i < buf.length && i - from <= 10 && isDigit(buf[i]!)) i++;
    if (i >= buf.length) return i - from > 10 ? NONE : WAIT;
    if (i === from || i - from > 10 || buf[i] !== COMMA) return NONE;
    const length = Number(latin1.decode(buf.subarray(from, i)));
    const remote = this.recvDataRemote === false ? null : readRemote(buf, i + 1);
    if (remote === 'wait') return WAIT;
    if (remote === null && this.recvDataRemote === true) return NONE;
    const head: DataHead = { type: 'recv-data', link: null, length, remote: remote?.remote ?? null };
    return this.startData(head, remote?.end ?? i + 1, out);
  }

  private startData(head: DataHead, at: number, out: AtMessage[]): number {
    if (head.length > this.maxData) {
      out.push({ type: 'overflow', what: 'data', limit: this.maxData, length: head.length });
      this.mode = 'skip-data';
      this.remaining = head.length;
      return at;
    }
    this.head = head;
    this.remaining = head.length;
    this.mode = 'data';
    if (head.length === 0) this.finishData(out);
    return at;
  }

  private stepData(buf: Uint8Array, pos: number, out: AtMessage[]): number {
    const n = Math.min(this.remaining, buf.length - pos);
    this.parts.push(buf.slice(pos, pos + n));
    this.remaining -= n;
    if (this.remaining === 0) this.finishData(out);
    return pos + n;
  }

  private stepSkipData(buf: Uint8Array, pos: number): number {
    const n = Math.min(this.remaining, buf.length - pos);
    this.remaining -= n;
    if (this.remaining === 0) this.mode = 'line';
    return pos + n;
  }

  private finishData(out: AtMessage[]): void {
    const h = this.head!;
    const data = concatBytes(this.parts, h.length);
    if (h.type === 'ipd') out.push({ type: 'ipd', link: h.link, length: h.length, remote: h.remote, data });
    else out.push({ type: 'recv-data', length: h.length, remote: h.remote, data });
    this.head = null;
    this.parts = [];
    this.mode = 'line';
  }
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** Whether `prefix` starts at `pos`: fully, only as far as the buffer goes, or not at all. */
function prefixAt(buf: Uint8Array, pos: number, prefix: Uint8Array): 'yes' | 'partial' | 'no' {
  const n = Math.min(prefix.length, buf.length - pos);
  for (let i = 0; i < n; i++) if (buf[pos + i] !== prefix[i]) return 'no';
  return n === prefix.length ? 'yes' : 'partial';
}

/** Bytes of an IPv4/IPv6 address text: hex digits, `.` and `:`. */
function isAddressByte(b: number): boolean {
  return isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) || b === 0x2e || b === COLON;
}

/** Reads `"<address>",<port>,` at `pos` (CIPRECVDATA with CIPDINFO=1); null if it is not there. */
function readRemote(buf: Uint8Array, pos: number): { remote: Remote; end: number } | 'wait' | null {
  if (pos >= buf.length) return 'wait';
  if (buf[pos] !== QUOTE) return null;
  let i = pos + 1;
  while (i < buf.length && i - pos <= 46 && isAddressByte(buf[i]!)) i++;
  if (i >= buf.length) return 'wait';
  if (i === pos + 1 || buf[i] !== QUOTE) return null;
  const ip = latin1.decode(buf.subarray(pos + 1, i));
  if (i + 1 >= buf.length) return 'wait';
  if (buf[i + 1] !== COMMA) return null;
  const portStart = i + 2;
  let j = portStart;
  while (j < buf.length && j - portStart <= 5 && isDigit(buf[j]!)) j++;
  if (j >= buf.length) return 'wait';
  if (j === portStart || j - portStart > 5 || buf[j] !== COMMA) return null;
  return { remote: { ip, port: Number(latin1.decode(buf.subarray(portStart, j))) }, end: j + 1 };
}

/**
 * Emulator side: a pure push parser for what the host writes to an ESP-AT device. It splits
 * the byte stream into CR LF lines, parses each against the command table, and can switch to
 * counting raw payload bytes after the `>` prompt of AT+CIPSEND.
 *
 * After a command whose form prompts (`AT+CIPSEND=4`, `AT+CIPSEND` passthrough) the parser
 * holds the bytes that follow until the emulator decides: {@link AtCommandParser.expectData}
 * (after writing `\r\nOK\r\n\r\n>`), {@link AtCommandParser.resume} (after `\r\nERROR\r\n`) or
 * {@link AtCommandParser.takeBuffered} (passthrough). A host that writes the payload without
 * waiting for `>` (`AT+CIPSEND=4\r\ntest` in one write) therefore still sends payload.
 * `+++` detection is timing-based and left to the emulator.
 */

import { concatBytes } from '../bytes.js';
import { parseCommandLine } from './command-line.js';
import type { CommandName } from './commands.js';
import { type BadReason, describeBadReason, errCodeForReason } from './errors.js';
import type { AtForm, ParamValue } from './params.js';

/** What the command parser yields. */
export type AtCommandEvent =
  | {
      readonly kind: 'command';
      readonly name: CommandName;
      readonly form: AtForm;
      readonly params: ParamValue[];
      readonly args: Record<string, string | number>;
      /** The form prompts: the parser now holds further input until told what to do. */
      readonly prompt: boolean;
      /** The line as received, CR LF included (what ATE1 echoes). */
      readonly raw: Uint8Array;
    }
  | {
      readonly kind: 'bad';
      readonly reason: BadReason;
      readonly message: string;
      /** The `ERR CODE:` value the firmware would print with AT+SYSLOG=1. */
      readonly errCode: number;
      readonly raw: Uint8Array;
    }
  | { readonly kind: 'data'; readonly bytes: Uint8Array; readonly endedBy: 'length' | 'terminator' };

/** Named parser states. */
export type AtCommandState = 'line' | 'held' | 'data' | 'skip-line';

/** Options of {@link AtCommandParser}. */
export interface AtCommandParserOptions {
  /** Longest line, CR LF included (default 256, ESP-AT's command buffer). */
  readonly maxLineLength?: number;
  /** The AT+CIPMUX mode, to pick `[<link_id>,]` signatures; undefined accepts both. */
  readonly mux?: 0 | 1;
}

/** Options of {@link AtCommandParser.expectData}. */
export interface ExpectDataOptions {
  /**
   * AT+CIPSENDEX rules: backslash-zero ends the payload early and `\<c>` stands for `<c>`
   * (`\\0` is a literal `\0`). The length counts bytes as received [unverified].
   */
  readonly escaped?: boolean;
}

interface Sink {
  readonly out: Uint8Array;
  readonly length: number;
  readonly escaped: boolean;
  written: number;
  consumed: number;
  backslash: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const BACKSLASH = 0x5c;
const ZERO = 0x30;
const WAIT = -1;
const EMPTY = new Uint8Array(0);

/**
 * Push parser for host input.
 *
 * @example
 * const p = new AtCommandParser();
 * p.feed(bytes('AT+CIPSEND=0,4\r\nte')); // [{ kind:'command', name:'CIPSEND', params:[0,4], prompt:true, … }]
 * p.expectData(4);                        // [] — 2 of 4 payload bytes held so far
 * p.feed(bytes('stAT\r\n'));              // [{ kind:'data', bytes:'test' }, { kind:'command', name:'AT', … }]
 */
export class AtCommandParser {
  /** AT+CIPMUX mode used to disambiguate signatures; the emulator updates it. */
  mux: 0 | 1 | undefined;
  private readonly maxLine: number;
  private mode: AtCommandState = 'line';
  private pending: Uint8Array = EMPTY;
  private sink: Sink | null = null;

  constructor(options: AtCommandParserOptions = {}) {
    this.maxLine = Math.max(3, options.maxLineLength ?? 256);
    this.mux = options.mux;
  }

  /** The current state. */
  get state(): AtCommandState {
    return this.mode;
  }

  /** Consumes host bytes and returns the events they complete. Never throws on any input. */
  feed(chunk: Uint8Array): AtCommandEvent[] {
    this.pending = this.pending.length === 0 ? chunk : concatBytes([this.pending, chunk]);
    return this.drain();
  }

  /** Takes the next `length` bytes (the CIPSEND payload) as one `data` event. */
  expectData(length: number, options: ExpectDataOptions = {}): AtCommandEvent[] {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad payload length ${length}`);
    const escaped = options.escaped === true;
    this.sink = { out: new Uint8Array(length), length, escaped, written: 0, consumed: 0, backslash: false };
    this.mode = 'data';
    const events: AtCommandEvent[] = [];
    if (length === 0) this.finishData(events, 'length');
    return events.concat(this.drain());
  }

  /** After a prompting command was refused: parse the held bytes as lines again. */
  resume(): AtCommandEvent[] {
    if (this.mode === 'held') this.mode = 'line';
    return this.drain();
  }

  /** Hands over every buffered byte (e.g. to passthrough mode) and returns to line mode. */
  takeBuffered(): Uint8Array {
    const bytes = this.pending;
    this.pending = EMPTY;
    this.sink = null;
    this.mode = 'line';
    return bytes;
  }

  private drain(): AtCommandEvent[] {
    const out: AtCommandEvent[] = [];
    const buf = this.pending;
    let pos = 0;
    while (pos < buf.length && this.mode !== 'held') {
      const next = this.step(buf, pos, out);
      if (next === WAIT) break;
      pos = next;
    }
    this.pending = pos < buf.length ? buf.slice(pos) : EMPTY; // a copy: callers may reuse their chunk
    return out;
  }

  private step(buf: Uint8Array, pos: number, out: AtCommandEvent[]): number {
    if (this.mode === 'data') return this.stepData(buf, pos, out);
    if (this.mode === 'skip-line') {
      const nl = buf.indexOf(LF, pos);
      if (nl < 0) return buf.length;
      this.mode = 'line';
      return nl + 1;
    }
    return this.stepLine(buf, pos, out);
  }

  /**
   * One line. CR LF ends it; a lone CR or LF also ends it but is reported as a missing
   * terminator (sub-error 0x02), so `AT\r` from a terminal gets an answer instead of silence.
   */
  private stepLine(buf: Uint8Array, pos: number, out: AtCommandEvent[]): number {
    const term = firstTerminator(buf, pos);
    const contentMax = this.maxLine - 2;
    if ((term < 0 ? buf.length : term) - pos > contentMax) {
      out.push(bad({ code: 'too-long', limit: this.maxLine }, buf.slice(pos, pos + contentMax + 1)));
      this.mode = 'skip-line';
      return pos + contentMax + 1;
    }
    if (term < 0) return WAIT;
    if (buf[term] === CR) {
      if (term + 1 >= buf.length) return WAIT; // is an LF coming?
      if (buf[term + 1] === LF) {
        out.push(this.lineEvent(buf.subarray(pos, term), buf.slice(pos, term + 2)));
        return term + 2;
      }
    }
    out.push(bad({ code: 'no-terminator' }, buf.slice(pos, term + 1)));
    return term + 1;
  }

  private lineEvent(line: Uint8Array, raw: Uint8Array): AtCommandEvent {
    const parsed = parseCommandLine(line, this.mux);
    if ('code' in parsed) return bad(parsed, raw);
    if (parsed.prompt) this.mode = 'held';
    const { name, form, params, args, prompt } = parsed;
    return { kind: 'command', name, form, params, args, prompt, raw };
  }

  private stepData(buf: Uint8Array, pos: number, out: AtCommandEvent[]): number {
    const s = this.sink!;
    if (!s.escaped) {
      const n = Math.min(s.length - s.consumed, buf.length - pos);
      s.out.set(buf.subarray(pos, pos + n), s.written);
      s.written += n;
      s.consumed += n;
      if (s.consumed === s.length) this.finishData(out, 'length');
      return pos + n;
    }
    let i = pos;
    while (i < buf.length && s.consumed < s.length) {
      const b = buf[i++]!;
      s.consumed++;
      if (s.backslash) {
        s.backslash = false;
        if (b === ZERO) {
          this.finishData(out, 'terminator');
          return i;
        }
        s.out[s.written++] = b;
      } else if (b === BACKSLASH) {
        s.backslash = true;
      } else {
        s.out[s.written++] = b;
      }
    }
    if (s.consumed === s.length) this.finishData(out, 'length');
    return i;
  }

  private finishData(out: AtCommandEvent[], endedBy: 'length' | 'terminator'): void {
    const s = this.sink!;
    out.push({ kind: 'data', bytes: s.written === s.length ? s.out : s.out.slice(0, s.written), endedBy });
    this.sink = null;
    this.mode = 'line';
  }
}

function bad(reason: BadReason, raw: Uint8Array): AtCommandEvent {
  return { kind: 'bad', reason, message: describeBadReason(reason), errCode: errCodeForReason(reason), raw };
}

function firstTerminator(buf: Uint8Array, pos: number): number {
  const cr = buf.indexOf(CR, pos);
  const lf = buf.indexOf(LF, pos);
  if (cr < 0) return lf;
  if (lf < 0) return cr;
  return Math.min(cr, lf);
}

/**
 * RFC 2217 (Telnet COM-PORT-OPTION) wire format, shared by the emulator's server and host-lib's
 * client: the telnet byte-stream decoder, IAC doubling, option negotiation, and the COM-PORT
 * command tables. Pure: bytes in, items out; no I/O, no timers.
 *
 * Literal frames (hex):
 * - client asks for the option: `ff fb 2c` (IAC WILL COM-PORT-OPTION); server agrees: `ff fd 2c` (IAC DO)
 * - client sets 921600 baud: `ff fa 2c 01 00 0e 10 00 ff f0`; server acks with code + 100: `ff fa 2c 65 00 0e 10 00 ff f0`
 * - a data byte 0xFF travels as `ff ff` in both directions (also inside sub-negotiation values)
 */
import { concatBytes } from './bytes.js';

export const IAC = 0xff;
export const SB = 0xfa;
export const SE = 0xf0;

/** Negotiation verbs and their wire codes. */
export const VERBS = { WILL: 0xfb, WONT: 0xfc, DO: 0xfd, DONT: 0xfe } as const;
export type Verb = keyof typeof VERBS;
const VERB_OF_CODE = new Map<number, Verb>(Object.entries(VERBS).map(([name, code]) => [code, name as Verb]));

/** Telnet options this codebase negotiates. */
export const TELNET_OPTIONS = { BINARY: 0, ECHO: 1, SGA: 3, COM_PORT: 44 } as const;

/** Server replies carry the client's command code plus this. */
export const SERVER_CODE_OFFSET = 100;

/** How a COM-PORT command's value is laid out on the wire. */
type ValueKind = 'u32' | 'u8' | 'none' | 'text';

/** THE table of COM-PORT-OPTION commands (client → server codes, RFC 2217 §3). */
export const COM_PORT_COMMANDS = [
  ['SIGNATURE', 0, 'text'],
  ['SET-BAUDRATE', 1, 'u32'],
  ['SET-DATASIZE', 2, 'u8'],
  ['SET-PARITY', 3, 'u8'],
  ['SET-STOPSIZE', 4, 'u8'],
  ['SET-CONTROL', 5, 'u8'],
  ['NOTIFY-LINESTATE', 6, 'u8'],
  ['NOTIFY-MODEMSTATE', 7, 'u8'],
  ['FLOWCONTROL-SUSPEND', 8, 'none'],
  ['FLOWCONTROL-RESUME', 9, 'none'],
  ['SET-LINESTATE-MASK', 10, 'u8'],
  ['SET-MODEMSTATE-MASK', 11, 'u8'],
  ['PURGE-DATA', 12, 'u8'],
] as const satisfies readonly (readonly [string, number, ValueKind])[];
export type ComPortCommand = (typeof COM_PORT_COMMANDS)[number][0];
const COMMAND_BY_CODE = new Map(COM_PORT_COMMANDS.map((c) => [c[1] as number, c]));
const COMMAND_BY_NAME = new Map(COM_PORT_COMMANDS.map((c) => [c[0] as ComPortCommand, c]));

/** SET-CONTROL values (RFC 2217 §3, "SET-CONTROL"). */
export const CONTROL = {
  REQ_FLOW: 0,
  FLOW_NONE: 1,
  FLOW_XONXOFF: 2,
  FLOW_HARDWARE: 3,
  REQ_BREAK: 4,
  BREAK_ON: 5,
  BREAK_OFF: 6,
  REQ_DTR: 7,
  DTR_ON: 8,
  DTR_OFF: 9,
  REQ_RTS: 10,
  RTS_ON: 11,
  RTS_OFF: 12,
} as const;

export type Parity = 'none' | 'odd' | 'even' | 'mark' | 'space';
/** SET-PARITY values; 0 asks for the current one. */
export const PARITY_CODES: readonly (readonly [Parity, number])[] = [
  ['none', 1],
  ['odd', 2],
  ['even', 3],
  ['mark', 4],
  ['space', 5],
];
export type StopBits = 1 | 1.5 | 2;
/** SET-STOPSIZE values (1.5 is code 3); 0 asks for the current one. */
export const STOPSIZE_CODES: readonly (readonly [StopBits, number])[] = [
  [1, 1],
  [2, 2],
  [1.5, 3],
];
/** PURGE-DATA values: 1 = the server's receive buffer (device → host), 2 = transmit (host → device). */
export const PURGE_CODES = { rx: 1, tx: 2, both: 3 } as const;
export type PurgeTarget = keyof typeof PURGE_CODES;
/** NOTIFY-MODEMSTATE bits (the device side's lines as the host sees them). */
export const MODEMSTATE = { CD: 0x80, RI: 0x40, DSR: 0x20, CTS: 0x10 } as const;

/** Looks a code up in one of the value tables above; undefined when absent. */
export function fromCode<T>(table: readonly (readonly [T, number])[], code: number): T | undefined {
  return table.find(([, c]) => c === code)?.[0];
}
export function toCode<T>(table: readonly (readonly [T, number])[], value: T): number {
  const hit = table.find(([v]) => v === value);
  if (!hit) throw new RangeError(`no RFC 2217 code for ${String(value)}`);
  return hit[1];
}

/** What the decoder yields, in wire order. `data` may alias the pushed chunk: copy it to keep it. */
export type TelnetItem =
  | { type: 'data'; data: Uint8Array }
  | { type: 'negotiate'; verb: Verb; option: number }
  | { type: 'sub'; option: number; payload: Uint8Array }
  | { type: 'command'; code: number }
  | { type: 'error'; code: 'sub-oversize' | 'sub-aborted' | 'sub-empty' };

/** Longest sub-negotiation accepted (a SIGNATURE text is the only long one). */
export const MAX_SUB = 256;

type State = 'data' | 'iac' | 'verb' | 'sub' | 'sub-iac';

/**
 * Telnet receive side as a push state machine: any chunking of the wire gives the same items.
 * Data runs are sliced from the input (no per-byte copies); `ff ff` yields one 0xFF data byte.
 *
 * ```ts
 * const dec = new TelnetDecoder();
 * dec.push(Uint8Array.of(0x41, 0xff, 0xff, 0xff, 0xfd, 0x2c));
 * // → [{ type: 'data', data: [41 ff] }, { type: 'negotiate', verb: 'DO', option: 44 }]
 * ```
 */
export class TelnetDecoder {
  #state: State = 'data';
  #verb: Verb = 'WILL';
  readonly #sub = new Uint8Array(MAX_SUB);
  #subLength = 0;
  #subOverflow = false;
  #out: TelnetItem[] = [];
  #runs: Uint8Array[] = [];

  push(chunk: Uint8Array): TelnetItem[] {
    this.#out = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'data') i = this.#dataRun(chunk, i);
      else this.#byte(chunk[i++] as number, chunk, i);
    }
    this.#flushData();
    return this.#out;
  }

  /** Consumes plain data up to the next IAC; returns the index after it. */
  #dataRun(chunk: Uint8Array, from: number): number {
    const at = chunk.indexOf(IAC, from);
    const end = at === -1 ? chunk.length : at;
    if (end > from) this.#runs.push(chunk.subarray(from, end));
    if (at === -1) return end;
    this.#state = 'iac';
    return at + 1;
  }

  /** One byte in a non-data state; `next` is the index after it (an escaped 0xFF starts a data run there). */
  #byte(b: number, chunk: Uint8Array, next: number): void {
    switch (this.#state) {
      case 'iac':
        return void this.#afterIac(b, chunk, next);
      case 'verb':
        this.#emit({ type: 'negotiate', verb: this.#verb, option: b });
        this.#state = 'data';
        return;
      case 'sub':
        if (b === IAC) this.#state = 'sub-iac';
        else this.#subByte(b);
        return;
      default:
        return void this.#afterSubIac(b, chunk, next);
    }
  }

  #afterIac(b: number, chunk: Uint8Array, next: number): void {
    this.#state = 'data';
    const verb = VERB_OF_CODE.get(b);
    if (b === IAC) {
      // The second 0xFF is the data byte: slice it so it joins the run that follows.
      this.#runs.push(chunk.subarray(next - 1, next));
    } else if (verb) {
      this.#verb = verb;
      this.#state = 'verb';
    } else if (b === SB) {
      this.#subLength = 0;
      this.#subOverflow = false;
      this.#state = 'sub';
    } else {
      this.#emit({ type: 'command', code: b });
    }
  }

  #afterSubIac(b: number, chunk: Uint8Array, next: number): void {
    if (b === IAC) {
      this.#subByte(IAC);
      this.#state = 'sub';
    } else if (b === SE) {
      this.#state = 'data';
      this.#endSub();
    } else {
      // RFC 854 allows no other command inside SB: drop the sub-negotiation, honour the command.
      this.#emit({ type: 'error', code: 'sub-aborted' });
      this.#afterIac(b, chunk, next);
    }
  }

  #subByte(b: number): void {
    if (this.#subLength < MAX_SUB) this.#sub[this.#subLength++] = b;
    else this.#subOverflow = true;
  }

  #endSub(): void {
    if (this.#subOverflow) return void this.#emit({ type: 'error', code: 'sub-oversize' });
    if (this.#subLength === 0) return void this.#emit({ type: 'error', code: 'sub-empty' });
    const payload = this.#sub.slice(1, this.#subLength);
    this.#emit({ type: 'sub', option: this.#sub[0] as number, payload });
  }

  #emit(item: TelnetItem): void {
    this.#flushData();
    this.#out.push(item);
  }

  #flushData(): void {
    const runs = this.#runs;
    if (runs.length === 0) return;
    this.#runs = [];
    this.#out.push({ type: 'data', data: runs.length === 1 ? (runs[0] as Uint8Array) : concatBytes(runs) });
  }
}

/** Doubles every 0xFF (`41 ff` → `41 ff ff`); returns `data` itself when it holds none. */
export function escapeIac(data: Uint8Array): Uint8Array {
  let count = 0;
  for (let i = data.indexOf(IAC); i !== -1; i = data.indexOf(IAC, i + 1)) count++;
  if (count === 0) return data;
  const out = new Uint8Array(data.length + count);
  let o = 0;
  let start = 0;
  for (let i = data.indexOf(IAC); i !== -1; i = data.indexOf(IAC, i + 1)) {
    out.set(data.subarray(start, i + 1), o);
    o += i + 1 - start;
    out[o++] = IAC;
    start = i + 1;
  }
  out.set(data.subarray(start), o);
  return out;
}

/** `IAC <verb> <option>`, e.g. `encodeNegotiation('DO', 44)` → `ff fd 2c`. */
export function encodeNegotiation(verb: Verb, option: number): Uint8Array {
  return Uint8Array.of(IAC, VERBS[verb], option);
}

/** `IAC SB <option> <payload, IAC doubled> IAC SE`. */
export function encodeSub(option: number, payload: Uint8Array): Uint8Array {
  const body = escapeIac(payload);
  const out = new Uint8Array(body.length + 5);
  out.set([IAC, SB, option]);
  out.set(body, 3);
  out.set([IAC, SE], body.length + 3);
  return out;
}

/** A decoded COM-PORT-OPTION sub-negotiation. `value` is null when the sender sent none (a query). */
export interface ComPortMessage {
  command: ComPortCommand;
  /** True for a server's answer or notification (code ≥ 100). */
  fromServer: boolean;
  value: number | null;
  /** Raw value bytes (the SIGNATURE text). */
  raw: Uint8Array;
}

/** Decodes the payload of `IAC SB 44 … IAC SE`; null for an unknown command code. */
export function parseComPort(payload: Uint8Array): ComPortMessage | null {
  const code = payload[0];
  if (code === undefined) return null;
  const fromServer = code >= SERVER_CODE_OFFSET;
  const entry = COMMAND_BY_CODE.get(fromServer ? code - SERVER_CODE_OFFSET : code);
  if (!entry) return null;
  const raw = payload.subarray(1);
  return { command: entry[0], fromServer, value: readValue(entry[2], raw), raw };
}

function readValue(kind: ValueKind, raw: Uint8Array): number | null {
  if (kind === 'u32') return raw.length >= 4 ? new DataView(raw.buffer, raw.byteOffset).getUint32(0) : null;
  if (kind === 'u8') return raw.length >= 1 ? (raw[0] as number) : null;
  return null;
}

/**
 * Encodes one COM-PORT command; `fromServer` adds 100 to the code.
 * `encodeComPort('SET-BAUDRATE', 921600)` → `ff fa 2c 01 00 0e 10 00 ff f0`.
 */
export function encodeComPort(
  command: ComPortCommand,
  value: number | Uint8Array | null,
  fromServer = false,
): Uint8Array {
  const entry = COMMAND_BY_NAME.get(command) as (typeof COM_PORT_COMMANDS)[number];
  const code = entry[1] + (fromServer ? SERVER_CODE_OFFSET : 0);
  let body: Uint8Array;
  if (value === null || entry[2] === 'none') body = new Uint8Array(0);
  else if (value instanceof Uint8Array) body = value;
  else if (entry[2] === 'u32') {
    body = new Uint8Array(4);
    new DataView(body.buffer).setUint32(0, value);
  } else body = Uint8Array.of(value);
  const payload = new Uint8Array(body.length + 1);
  payload[0] = code;
  payload.set(body, 1);
  return encodeSub(TELNET_OPTIONS.COM_PORT, payload);
}

/** Whose option: ours (we WILL it, the peer DOes it) or the peer's (it WILLs, we DO). */
export type Side = 'us' | 'him';
export interface OptionChange {
  side: Side;
  option: number;
  enabled: boolean;
}
export interface NegotiationResult {
  /** Bytes to send back, if any. */
  reply: Uint8Array | null;
  /** The option's state changed (a request of ours was answered, or the peer switched it). */
  change: OptionChange | null;
}
type OptionState = 'no' | 'yes' | 'want-yes';
const NOTHING: NegotiationResult = { reply: null, change: null };

/**
 * Telnet option negotiation with the loop guard of RFC 1143: a side answers only when an
 * option's state actually changes, so two peers requesting the same thing at once settle
 * without echoing requests back and forth.
 *
 * ```ts
 * const neg = new TelnetNegotiator({ us: [44], him: [44] });
 * neg.receive('WILL', 44); // → reply `ff fd 2c` (DO 44), change { side: 'him', option: 44, enabled: true }
 * ```
 */
export class TelnetNegotiator {
  readonly #accept: Record<Side, ReadonlySet<number>>;
  readonly #state: Record<Side, Map<number, OptionState>> = { us: new Map(), him: new Map() };

  /** @param accept options we agree to enable on our side (`us`) and on the peer's (`him`). */
  constructor(accept: { us: readonly number[]; him: readonly number[] }) {
    this.#accept = { us: new Set(accept.us), him: new Set(accept.him) };
  }

  /** Asks to enable an option on our side (sends WILL) or the peer's (sends DO); null if already on/asked. */
  request(side: Side, option: number): Uint8Array | null {
    if ((this.#state[side].get(option) ?? 'no') !== 'no') return null;
    this.#state[side].set(option, 'want-yes');
    return encodeNegotiation(side === 'us' ? 'WILL' : 'DO', option);
  }

  enabled(side: Side, option: number): boolean {
    return this.#state[side].get(option) === 'yes';
  }

  /** Applies a received WILL/WONT/DO/DONT. */
  receive(verb: Verb, option: number): NegotiationResult {
    const side: Side = verb === 'DO' || verb === 'DONT' ? 'us' : 'him';
    const agree: Verb = side === 'us' ? 'WILL' : 'DO';
    const refuse: Verb = side === 'us' ? 'WONT' : 'DONT';
    const states = this.#state[side];
    const state = states.get(option) ?? 'no';
    if (verb === 'WILL' || verb === 'DO') {
      if (state === 'yes') return NOTHING;
      if (state === 'no' && !this.#accept[side].has(option))
        return { reply: encodeNegotiation(refuse, option), change: null };
      states.set(option, 'yes');
      const reply = state === 'want-yes' ? null : encodeNegotiation(agree, option);
      return { reply, change: { side, option, enabled: true } };
    }
    if (state === 'no') return NOTHING;
    states.set(option, 'no');
    const reply = state === 'yes' ? encodeNegotiation(refuse, option) : null;
    return { reply, change: { side, option, enabled: false } };
  }
}

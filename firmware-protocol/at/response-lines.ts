/**
 * The shapes of the lines an ESP-AT device sends, one table each: constant lines (with whether
 * the core writes a CRLF before them) and patterned lines. `classifyLine` turns one line,
 * without its CRLF, into an {@link AtMessage}; anything else is `unknown`, never an error.
 */

import type { AtMessage, AtMessageOf, InfoField, Remote } from './messages.js';

/** A constant line. `lead` = the core writes `\r\n` before it too (`\r\nOK\r\n` vs `CONNECT\r\n`). */
export interface FixedLine {
  readonly text: string;
  readonly lead: boolean;
  readonly message: AtMessage;
}

/** Every constant line; the first entry for a message is the one the emulator emits. */
export const FIXED_LINES: readonly FixedLine[] = [
  { text: 'OK', lead: true, message: { type: 'ok' } },
  { text: 'ERROR', lead: true, message: { type: 'error' } },
  { text: 'SEND OK', lead: true, message: { type: 'send-ok' } },
  { text: 'SEND FAIL', lead: true, message: { type: 'send-fail' } },
  { text: 'SEND CANCELLED', lead: true, message: { type: 'send-cancelled' } },
  { text: 'SEND Canceled', lead: true, message: { type: 'send-cancelled' } }, // spelling in the docs index
  { text: 'SET OK', lead: true, message: { type: 'set-ok' } },
  { text: 'busy p...', lead: true, message: { type: 'busy', what: 'p' } },
  { text: 'busy s...', lead: true, message: { type: 'busy', what: 's' } }, // ESP8266 NonOS only
  { text: 'ready', lead: true, message: { type: 'ready' } },
  { text: 'Will force to restart!!!', lead: true, message: { type: 'force-restart' } },
  { text: 'CONNECT', lead: false, message: { type: 'connect', link: null } },
  { text: 'CLOSED', lead: false, message: { type: 'closed', link: null } },
  { text: 'CONNECT FAIL', lead: false, message: { type: 'connect-fail', link: null } },
  { text: 'ALREADY CONNECTED', lead: false, message: { type: 'already-connected' } },
  { text: 'No AP', lead: false, message: { type: 'no-ap' } },
  { text: 'WIFI CONNECTED', lead: false, message: { type: 'wifi', event: 'connected' } },
  { text: 'WIFI GOT IP', lead: false, message: { type: 'wifi', event: 'got-ip' } },
  { text: 'WIFI GOT IPv6 LL', lead: false, message: { type: 'wifi', event: 'got-ipv6-ll' } },
  { text: 'WIFI GOT IPv6 GL', lead: false, message: { type: 'wifi', event: 'got-ipv6-gl' } },
  { text: 'WIFI DISCONNECT', lead: false, message: { type: 'wifi', event: 'disconnected' } },
  { text: 'WIFI DISCONNECTED', lead: false, message: { type: 'wifi', event: 'disconnected' } }, // tolerated variant
];

/** Info prefixes the core writes with a CRLF before them: `\r\n+QUITT\r\n`. */
export const LEADING_INFO: ReadonlySet<string> = new Set(['+QUITT']);

const FIXED_BY_TEXT = new Map(FIXED_LINES.map((f) => [f.text, f.message]));

interface LineRule {
  readonly pattern: RegExp;
  readonly build: (m: RegExpExecArray) => AtMessage | null;
}

const linkOf = (s: string | undefined) => (s === undefined ? null : Number(s));

/** Patterned lines, tried in order after the constant ones. */
const LINE_RULES: readonly LineRule[] = [
  { pattern: /^(\d{1,3}),CONNECT$/, build: (m) => ({ type: 'connect', link: linkOf(m[1]) }) },
  { pattern: /^(\d{1,3}),CLOSED$/, build: (m) => ({ type: 'closed', link: linkOf(m[1]) }) },
  { pattern: /^(\d{1,3}),CONNECT FAIL$/, build: (m) => ({ type: 'connect-fail', link: linkOf(m[1]) }) },
  { pattern: /^Recv (\d{1,10}) bytes$/, build: (m) => ({ type: 'recv', length: Number(m[1]) }) },
  {
    pattern: /^ERR CODE:0x([0-9a-fA-F]{1,8})$/,
    build: (m) => ({ type: 'err-code', code: Number.parseInt(m[1]!, 16) }),
  },
  { pattern: /^Have (\d{1,3}) Connections$/, build: (m) => ({ type: 'max-conn', count: Number(m[1]) }) },
  { pattern: /^\+IPD,(.*)$/s, build: (m) => ipdNotify(m[1]!) },
  { pattern: /^\+LINK_CONN:(.*)$/s, build: (m) => linkConn(m[1]!) },
  {
    pattern: /^(AT version|SDK version|compile time(?:\([^)]*\))?|Bin version):(.*)$/s,
    build: (m) => ({ type: 'version', key: m[1]!, value: m[2]! }),
  },
  // Echo (ATE1) of what the host sent: `AT`, `ATE0`, `AT+CIPMUX=1`. `AT version:` has a space.
  { pattern: /^AT(?:[+A-Z0-9&].*)?$/s, build: (m) => ({ type: 'echo', line: m[0] }) },
  { pattern: /^(\+[A-Za-z0-9_]+|STATUS)(?::(.*))?$/s, build: (m) => info(m[1]!, m[2] ?? '') },
];

/**
 * Classifies one device line (CRLF removed): `0,CONNECT` → `{ type:'connect', link:0 }`,
 * `+CIPMUX:1` → `{ type:'info', prefix:'+CIPMUX', fields:[1], raw:'1' }`, `xyz` → unknown.
 */
export function classifyLine(line: string): AtMessage {
  const fixed = FIXED_BY_TEXT.get(line);
  if (fixed) return { ...fixed };
  for (const rule of LINE_RULES) {
    const m = rule.pattern.exec(line);
    const message = m && rule.build(m);
    if (message) return message;
  }
  return { type: 'unknown', line };
}

/** A field of a device line, before typing: text plus whether it was quoted. */
export interface RawField {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * Splits the text after an info prefix: `0,"TCP","1.2.3.4",80` → 4 fields. The device does
 * not escape quotes in output (an SSID may hold `"`), so a quote closes a field only when a
 * comma or the end follows it.
 */
export function splitFields(raw: string): RawField[] {
  const fields: RawField[] = [];
  let pos = 0;
  for (;;) {
    if (raw[pos] === '"') {
      const close = closingQuote(raw, pos + 1);
      if (close >= 0) {
        fields.push({ text: raw.slice(pos + 1, close), quoted: true });
        pos = close + 1;
      } else {
        pos = pushBare(fields, raw, pos);
      }
    } else {
      pos = pushBare(fields, raw, pos);
    }
    if (pos >= raw.length) return fields;
    pos++; // the comma
  }
}

function closingQuote(raw: string, from: number): number {
  for (let i = raw.indexOf('"', from); i >= 0; i = raw.indexOf('"', i + 1)) {
    if (i + 1 === raw.length || raw[i + 1] === ',') return i;
  }
  return -1;
}

function pushBare(fields: RawField[], raw: string, pos: number): number {
  let end = raw.indexOf(',', pos);
  if (end < 0) end = raw.length;
  fields.push({ text: raw.slice(pos, end), quoted: false });
  return end;
}

const INT_FIELD = /^-?\d{1,15}$/;

/** Types one raw field: quoted → string, bare integer → number, other bare text → string. */
export function fieldValue(f: RawField): InfoField {
  return !f.quoted && INT_FIELD.test(f.text) ? Number(f.text) : f.text;
}

/**
 * An info message from its prefix and the text after the colon. A list in parentheses
 * (`+CWLAP:(3,"ap",-62,…)`) is unwrapped.
 */
export function info(prefix: string, raw: string): AtMessageOf<'info'> {
  const inner = raw.startsWith('(') && raw.endsWith(')') ? raw.slice(1, -1) : raw;
  const fields = raw === '' ? [] : splitFields(inner).map(fieldValue);
  return { type: 'info', prefix, fields, raw };
}

const DIGITS = /^\d{1,10}$/;
const ADDRESS = /^[0-9A-Fa-f.:]{1,45}$/;

/**
 * Reads the fields of an `+IPD` header (between `+IPD,` and `:` or CRLF): `[id,]len[,ip,port]`,
 * the IP quoted (v2+) or bare (v1.x: `+IPD,0,405,192.168.4.2,49519:`). Null if malformed.
 */
export function parseIpdFields(text: string): { link: number | null; length: number; remote: Remote | null } | null {
  const f = splitFields(text);
  if (f.length < 1 || f.length > 4) return null;
  const hasRemote = f.length >= 3;
  const head = hasRemote ? f.slice(0, -2) : f;
  if (!head.every(isBareInt)) return null;
  let remote: Remote | null = null;
  if (hasRemote) {
    const [ip, port] = f.slice(-2) as [RawField, RawField];
    if (!isBareInt(port) || !ADDRESS.test(ip.text)) return null;
    remote = { ip: ip.text, port: Number(port.text) };
  }
  const link = head.length === 2 ? Number(head[0]!.text) : null;
  return { link, length: Number(head[head.length - 1]!.text), remote };
}

function isBareInt(f: RawField): boolean {
  return !f.quoted && DIGITS.test(f.text);
}

function ipdNotify(text: string): AtMessage | null {
  const h = parseIpdFields(text);
  return h && { type: 'ipd-notify', ...h };
}

function linkConn(raw: string): AtMessage {
  const f = splitFields(raw);
  const n = f.map((x) => (isBareInt(x) ? Number(x.text) : -1));
  const ok = f.length === 7 && f[2]!.quoted && f[4]!.quoted && [0, 1, 3, 5, 6].every((i) => n[i]! >= 0);
  if (!ok) return info('+LINK_CONN', raw);
  return {
    type: 'link-conn',
    status: n[0]!,
    link: n[1]!,
    protocol: f[2]!.text,
    server: n[3] === 1,
    remote: { ip: f[4]!.text, port: n[5]! },
    localPort: n[6]!,
  };
}

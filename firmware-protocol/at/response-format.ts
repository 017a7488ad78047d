/**
 * The device side of the response grammar: turns an {@link AtMessage} into the exact bytes
 * ESP-AT writes, leading CRLFs included (esp-at.md §1). The emulator speaks through this and
 * the response-parser tests round-trip through it, so the two sides cannot drift apart.
 */

import { concatBytes } from '../bytes.js';
import type { AtMessage, AtMessageOf, AtMessageType, InfoField, Remote } from './messages.js';
import { FIXED_LINES, info, LEADING_INFO } from './response-lines.js';

const encoder = new TextEncoder();
const lead = (text: string) => `\r\n${text}\r\n`;
const line = (text: string) => `${text}\r\n`;
const linked = (id: number | null, text: string) => (id === null ? text : `${id},${text}`);
const address = (r: Remote | null) => (r === null ? '' : `,"${r.ip}",${r.port}`);

/** A key for a flat message that ignores property order. */
const keyOf = (m: AtMessage) =>
  Object.entries(m)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .join(';');

const FIXED_BY_MESSAGE = new Map<string, string>();
for (const f of FIXED_LINES) {
  const key = keyOf(f.message);
  if (!FIXED_BY_MESSAGE.has(key)) FIXED_BY_MESSAGE.set(key, f.lead ? lead(f.text) : line(f.text));
}

function fixed(m: AtMessage): string {
  const text = FIXED_BY_MESSAGE.get(keyOf(m));
  if (text === undefined) throw new RangeError(`no constant line for ${JSON.stringify(m)}`);
  return text;
}

type Formatter<T extends AtMessageType> = (m: AtMessageOf<T>) => string | Uint8Array;

/** How each message is written; binary messages return bytes, the rest text. */
const FORMAT: { readonly [T in AtMessageType]: Formatter<T> } = {
  ok: fixed,
  error: fixed,
  'send-ok': fixed,
  'send-fail': fixed,
  'send-cancelled': fixed,
  'set-ok': fixed,
  busy: fixed,
  ready: fixed,
  'force-restart': fixed,
  'already-connected': fixed,
  'no-ap': fixed,
  wifi: fixed,
  'err-code': (m) => line(`ERR CODE:0x${m.code.toString(16).padStart(8, '0')}`),
  prompt: () => '\r\n>', // `\r\nOK\r\n` + `\r\n>`: nothing follows the '>'
  recv: (m) => lead(`Recv ${m.length} bytes`),
  echo: (m) => line(m.line),
  ipd: (m) => withData(`\r\n+IPD,${linked(m.link, String(m.length))}${address(m.remote)}:`, m.data),
  'ipd-notify': (m) => lead(`+IPD,${linked(m.link, String(m.length))}${address(m.remote)}`),
  // The OK that follows writes its own `\r\n` first: `+CIPRECVDATA:4,test\r\nOK\r\n`.
  'recv-data': (m) => withData(`+CIPRECVDATA:${m.length}${address(m.remote)},`, m.data),
  connect: (m) => line(linked(m.link, 'CONNECT')),
  closed: (m) => line(linked(m.link, 'CLOSED')),
  'connect-fail': (m) => line(linked(m.link, 'CONNECT FAIL')),
  'link-conn': (m) =>
    line(`+LINK_CONN:${m.status},${m.link},"${m.protocol}",${m.server ? 1 : 0}${address(m.remote)},${m.localPort}`),
  'max-conn': (m) => line(`Have ${m.count} Connections`),
  version: (m) => line(`${m.key}:${m.value}`),
  info: (m) => {
    const text = m.raw === '' ? m.prefix : `${m.prefix}:${m.raw}`;
    return LEADING_INFO.has(m.prefix) ? lead(text) : line(text);
  },
  unknown: (m) => line(m.line),
  overflow: () => '',
};

function withData(head: string, data: Uint8Array): Uint8Array {
  return concatBytes([encoder.encode(head), data]);
}

/**
 * The bytes the device writes for a message: `{ type:'ok' }` → `\r\nOK\r\n`,
 * `{ type:'connect', link:0 }` → `0,CONNECT\r\n`, an ipd → `\r\n+IPD,0,5:hello`.
 * `overflow` is a parser verdict, not a device message, and formats to nothing.
 */
export function formatMessage(m: AtMessage): Uint8Array {
  const out = (FORMAT[m.type] as Formatter<AtMessageType>)(m);
  return typeof out === 'string' ? encoder.encode(out) : out;
}

/** Concatenates the bytes of several messages, e.g. a whole scripted reply. */
export function formatMessages(messages: readonly AtMessage[]): Uint8Array {
  return concatBytes(messages.map(formatMessage));
}

/**
 * Builds an info message the way the device prints it: strings quoted, numbers bare.
 * `infoMessage('+CIPSTATE', [0, 'TCP', '1.2.3.4', 80, 4000, 0])` → raw `0,"TCP","1.2.3.4",80,4000,0`.
 */
export function infoMessage(prefix: string, fields: readonly InfoField[]): AtMessageOf<'info'> {
  return info(prefix, fields.map((f) => (typeof f === 'number' ? String(f) : `"${f}"`)).join(','));
}

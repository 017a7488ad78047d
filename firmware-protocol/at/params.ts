/**
 * The parameter grammar of ESP-AT set commands, shared by the host encoder and the
 * emulator's command parser so both sides agree on every byte.
 *
 * Wire rules (esp-at.md §1): ints are bare decimals, strings are quoted, and inside a quoted
 * string `\,` `\"` `\\` stand for `,` `"` `\` (`\<c>` → `<c>` for any c). An omitted middle
 * parameter keeps its comma: `AT+CWJAP="s","p",,1` has an empty third parameter.
 */

import type { BadReason } from './errors.js';

export type { AtForm } from './form.js';

/** One declared parameter of a set command. */
export interface ParamSpec {
  readonly name: string;
  readonly type: 'int' | 'string';
  /** May be left empty (`,,`) or, when everything after it is optional too, left out. */
  readonly optional?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Longest accepted string, counted in UTF-8 bytes after unescaping. */
  readonly maxBytes?: number;
  /** The only string values accepted, e.g. `["TCP","TCPv6","SSL","SSLv6"]`. */
  readonly oneOf?: readonly string[];
}

/** One accepted parameter list. `mux` tags lists valid only under AT+CIPMUX=0 or =1. */
export interface Signature {
  readonly mux?: 0 | 1;
  readonly params: readonly ParamSpec[];
  /** Fewest parameters accepted; defaults to the index after the last required one. */
  readonly minCount?: number;
}

/** A decoded parameter: int, string, or `null` for an empty one (`AT+CWJAP="s","p",,1`). */
export type ParamValue = string | number | null;

/** A parameter as read off the wire, before it is checked against a signature. */
export type Token =
  | { readonly kind: 'empty' }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string; readonly bytes: number }
  | { readonly kind: 'bare'; readonly text: string };

/** A successful match of tokens against one signature. */
export interface ParamMatch {
  readonly signature: Signature;
  readonly values: ParamValue[];
  /** Non-empty parameters by declared name: `{ link_id: 0, type: 'TCP', … }`. */
  readonly args: Record<string, string | number>;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const utf8 = new TextDecoder('utf-8');
const INT_RE = /^[+-]?\d{1,10}$/;

/**
 * Escapes a string parameter's content: `ab,c"\` → `ab\,c\"\\` (quotes are added by the caller).
 */
export function escapeParam(value: string): string {
  return value.replace(/[\\",]/g, (c) => `\\${c}`);
}

/** Fewest parameters a signature accepts. */
export function minCount(sig: Signature): number {
  if (sig.minCount !== undefined) return sig.minCount;
  let n = 0;
  sig.params.forEach((p, i) => {
    if (!p.optional) n = i + 1;
  });
  return n;
}

/**
 * Splits the bytes after `=` into tokens: `0,"TCP","a\,b",80,,` → int 0, string TCP,
 * string `a,b`, int 80, empty, empty. Returns the 0-based index of an unparsable parameter.
 */
export function tokenizeParams(line: Uint8Array, start: number): Token[] | { parseErrorAt: number } {
  const tokens: Token[] = [];
  if (start >= line.length) return tokens;
  let pos = start;
  for (;;) {
    const index = tokens.length;
    const read = line[pos] === QUOTE ? readQuoted(line, pos) : readBare(line, pos);
    if (read === null) return { parseErrorAt: index };
    tokens.push(read.token);
    pos = read.end;
    if (pos >= line.length) return tokens;
    pos++; // the comma
    if (pos >= line.length) {
      tokens.push({ kind: 'empty' }); // `AT+X=1,` ends with an empty parameter
      return tokens;
    }
  }
}

function readQuoted(line: Uint8Array, open: number): { token: Token; end: number } | null {
  const scratch = new Uint8Array(line.length - open);
  let n = 0;
  for (let i = open + 1; i < line.length; i++) {
    const b = line[i]!;
    if (b === BACKSLASH && i + 1 < line.length) {
      scratch[n++] = line[++i]!;
    } else if (b === QUOTE) {
      const next = i + 1;
      if (next < line.length && line[next] !== COMMA) return null; // `"a"b` is not a parameter
      const bytes = scratch.subarray(0, n);
      return { token: { kind: 'string', value: utf8.decode(bytes), bytes: n }, end: next };
    } else {
      scratch[n++] = b;
    }
  }
  return null; // unterminated quote
}

function readBare(line: Uint8Array, start: number): { token: Token; end: number } | null {
  let end = line.indexOf(COMMA, start);
  if (end < 0) end = line.length;
  const piece = line.subarray(start, end);
  if (piece.length === 0) return { token: { kind: 'empty' }, end };
  if (piece.includes(QUOTE)) return null;
  const text = utf8.decode(piece);
  return { token: INT_RE.test(text) ? { kind: 'int', value: Number(text) } : { kind: 'bare', text }, end };
}

type Problem = Exclude<BadReason, { code: 'empty-line' | 'no-terminator' | 'too-long' | 'no-at-prefix' }>;

/**
 * Checks tokens against a command's signatures (only those valid for `mux` when given) and
 * returns the first match, or the most telling problem: a count mismatch only when no
 * signature takes that many parameters, otherwise the problem at the furthest index.
 * `AT+CIPSTART="TCP","h",99999` fails every CIPSTART signature; the MUX=0 TCP one gets
 * furthest, so the answer is `param-invalid` at index 2, `<remote_port>`.
 */
export function matchSignatures(
  name: string,
  signatures: readonly Signature[],
  tokens: readonly Token[],
  mux?: 0 | 1,
): ParamMatch | Problem {
  const usable = signatures.filter((s) => mux === undefined || s.mux === undefined || s.mux === mux);
  let best: Problem | null = null;
  for (const sig of usable) {
    const result = matchOne(name, sig, tokens);
    if (!('code' in result)) return result;
    if (result.code === 'param-count') continue;
    if (best === null || ('index' in best && 'index' in result && result.index > best.index)) best = result;
  }
  return best ?? countProblem(name, usable, tokens.length);
}

function countProblem(name: string, sigs: readonly Signature[], given: number): Problem {
  let expected = 0;
  let distance = Number.POSITIVE_INFINITY;
  for (const sig of sigs) {
    const bound = given > sig.params.length ? sig.params.length : minCount(sig);
    const d = Math.abs(bound - given);
    if (d < distance || (d === distance && bound < expected)) [expected, distance] = [bound, d];
  }
  return { code: 'param-count', name, expected, given };
}

function matchOne(name: string, sig: Signature, tokens: readonly Token[]): ParamMatch | Problem {
  if (tokens.length > sig.params.length || tokens.length < minCount(sig)) {
    return { code: 'param-count', name, expected: sig.params.length, given: tokens.length };
  }
  const values: ParamValue[] = [];
  const args: Record<string, string | number> = {};
  for (let index = 0; index < tokens.length; index++) {
    const spec = sig.params[index]!;
    const checked = checkToken(name, spec, index, tokens[index]!);
    if (typeof checked === 'object' && checked !== null) return checked;
    values.push(checked);
    if (checked !== null) args[spec.name] = checked;
  }
  return { signature: sig, values, args };
}

function checkToken(name: string, spec: ParamSpec, index: number, token: Token): ParamValue | Problem {
  const param = spec.name;
  if (token.kind === 'empty') {
    return spec.optional ? null : { code: 'param-invalid', name, index, param, detail: 'is required' };
  }
  if (spec.type === 'int') {
    if (token.kind !== 'int') return { code: 'param-type', name, index, param, expected: 'int' };
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = spec;
    if (token.value < min || token.value > max) {
      return { code: 'param-invalid', name, index, param, detail: `must be in ${min}..${max}` };
    }
    return token.value;
  }
  if (token.kind !== 'string') return { code: 'param-type', name, index, param, expected: 'string' };
  if (spec.maxBytes !== undefined && token.bytes > spec.maxBytes) {
    return { code: 'param-length', name, index, param, max: spec.maxBytes };
  }
  if (spec.oneOf && !spec.oneOf.includes(token.value)) {
    return { code: 'param-invalid', name, index, param, detail: `must be one of ${spec.oneOf.join(', ')}` };
  }
  return token.value;
}

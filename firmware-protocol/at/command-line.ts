/**
 * Parses one command line (CR LF already removed) against the command table:
 * `AT+CIPSTART=0,"TCP","echo.test",7` → name CIPSTART, form set, params [0,'TCP','echo.test',7].
 * Pure and total: any bytes give either a command or a {@link BadReason} for the ERR CODE.
 */

import { AT_COMMANDS, type CommandName, findCommand } from './commands.js';
import type { BadReason } from './errors.js';
import { type AtForm, matchSignatures, type ParamValue, type Signature, tokenizeParams } from './params.js';

/** A command line that matched the table. */
export interface ParsedCommand {
  readonly name: CommandName;
  readonly form: AtForm;
  /** Positional parameters of a set command; `null` for an empty one. */
  readonly params: ParamValue[];
  /** The non-empty parameters by declared name, e.g. `{ link_id: 0, type: 'TCP', … }`. */
  readonly args: Record<string, string | number>;
  /** The signature the parameters matched (set form), else null. */
  readonly signature: Signature | null;
  /** The form answers with the `>` prompt and then takes payload bytes. */
  readonly prompt: boolean;
}

const A = 0x41;
const T = 0x54;
const PLUS = 0x2b;
const EQUALS = 0x3d;
const QUESTION = 0x3f;
const NAME = /^[A-Z0-9_]+$/;
const latin1 = new TextDecoder('latin1');

/**
 * Parses a line. `mux` (AT+CIPMUX) narrows `[<link_id>,]` signatures; without it the first
 * matching signature wins: `AT+CIPSSLCCONF=1,2` reads as auth 1, pki 2 unless `mux` is 1.
 * `AT+CIPMUX=2` → `{ code:'param-invalid', index:0, param:'mode', … }` (ERR CODE 0x01070000).
 */
export function parseCommandLine(line: Uint8Array, mux?: 0 | 1): ParsedCommand | BadReason {
  if (line.length === 0) return { code: 'empty-line' };
  // Case matters: `at` and `At` are not commands (sub-error 0x03).
  if (line[0] !== A || line[1] !== T) return { code: 'no-at-prefix' };
  const plus = line[2] === PLUS;
  const nameStart = plus ? 3 : 0;
  let nameEnd = nameStart;
  while (nameEnd < line.length && line[nameEnd] !== EQUALS && line[nameEnd] !== QUESTION) nameEnd++;
  const name = latin1.decode(line.subarray(nameStart, nameEnd));
  const spec = NAME.test(name) ? findCommand(name) : undefined;
  if (spec === undefined || Boolean(spec.basic) === plus) return { code: 'unknown-command', name };
  const known = name as CommandName;
  const form = formOf(line, nameEnd);
  if (form === null) return { code: 'param-parse', name, index: 0 };
  const formSpec = spec.forms[form];
  if (formSpec === undefined) return { code: 'wrong-form', name, form };
  const prompt = formSpec.prompt === true;
  if (form !== 'set') return { name: known, form, params: [], args: {}, signature: null, prompt };
  const tokens = tokenizeParams(line, nameEnd + 1);
  if ('parseErrorAt' in tokens) return { code: 'param-parse', name, index: tokens.parseErrorAt };
  const match = matchSignatures(name, formSpec.signatures ?? [], tokens, mux);
  if ('code' in match) return match;
  return { name: known, form, params: match.values, args: match.args, signature: match.signature, prompt };
}

/** `` → execute, `?` → query, `=?` → test, `=…` → set; anything else is unparsable. */
function formOf(line: Uint8Array, at: number): AtForm | null {
  const rest = line.length - at;
  if (rest === 0) return 'execute';
  if (line[at] === QUESTION) return rest === 1 ? 'query' : null;
  if (rest === 2 && line[at + 1] === QUESTION) return 'test';
  return 'set';
}

/** Whether a parse result is a rejection. */
export function isBadReason(r: ParsedCommand | BadReason): r is BadReason {
  return 'code' in r;
}

/** The table entry names, for callers that list or probe commands (`AT+CMD?`). */
export const COMMAND_NAMES = Object.keys(AT_COMMANDS) as CommandName[];

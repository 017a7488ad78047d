/**
 * Host side: builds the exact bytes of one AT command line from the command table,
 * validating parameters first so a mistake is reported by name before anything is sent.
 */

import { AT_COMMANDS, type CommandName, type CommandSpec, commandText } from './commands.js';
import { describeBadReason } from './errors.js';
import {
  type AtForm,
  escapeParam,
  matchSignatures,
  minCount,
  type ParamValue,
  type Signature,
  type Token,
} from './params.js';

/** Longest command line ESP-AT accepts, CR LF included (esp-at.md §1). */
export const MAX_COMMAND_LINE = 256;

/** A parameter as given to the encoder; `null`/`undefined` leave it empty (`,,`). */
export type ParamInput = ParamValue | undefined;

/** Options of {@link encodeCommand}. */
export interface EncodeOptions {
  /** The AT+CIPMUX mode, to pick between `[<link_id>,]` forms that are otherwise ambiguous. */
  readonly mux?: 0 | 1;
}

/** Thrown for a command the table does not allow; `code` is stable, `message` names the parameter. */
export class AtEncodeError extends TypeError {
  readonly code = 'AT_BAD_COMMAND';
}

const encoder = new TextEncoder();
const FORM_SUFFIX: Readonly<Record<AtForm, string>> = { test: '=?', query: '?', set: '=', execute: '' };

/**
 * Encodes one command line.
 *
 * @example
 * encodeCommand('CIPSTART', 'set', [0, 'TCP', 'echo.test', 7]); // AT+CIPSTART=0,"TCP","echo.test",7\r\n
 * encodeCommand('CWJAP', 'set', ['a,b', 'p"w']);                // AT+CWJAP="a\,b","p\"w"\r\n
 * encodeCommand('CWJAP', 'set', ['s', 'p', null, 1]);           // AT+CWJAP="s","p",,1\r\n
 * encodeCommand('CIPSTATE', 'query');                           // AT+CIPSTATE?\r\n
 */
export function encodeCommand(
  name: CommandName,
  form: AtForm,
  params: readonly ParamInput[] = [],
  options: EncodeOptions = {},
): Uint8Array {
  const spec: CommandSpec | undefined = AT_COMMANDS[name];
  if (spec === undefined) throw new AtEncodeError(`unknown AT command ${String(name)}`);
  const formSpec = spec.forms[form];
  if (formSpec === undefined) throw new AtEncodeError(`${commandText(name)} has no ${form} form`);
  let text = commandText(name) + FORM_SUFFIX[form];
  if (form === 'set') {
    text += encodeParams(name, formSpec.signatures ?? [], params, options.mux);
  } else if (params.length > 0) {
    throw new AtEncodeError(`${commandText(name)} takes no parameters in its ${form} form`);
  }
  const bytes = encoder.encode(`${text}\r\n`);
  if (bytes.length > MAX_COMMAND_LINE) {
    throw new AtEncodeError(`${commandText(name)}: command line is ${bytes.length} bytes, over ${MAX_COMMAND_LINE}`);
  }
  return bytes;
}

function encodeParams(
  name: CommandName,
  signatures: readonly Signature[],
  params: readonly ParamInput[],
  mux: 0 | 1 | undefined,
): string {
  const tokens = params.map((v, i) => toToken(name, i, v));
  const match = matchSignatures(name, signatures, tokens, mux);
  if ('code' in match) throw new AtEncodeError(describeBadReason(match));
  match.values.forEach((v, i) => {
    // The firmware finds the line end before unescaping and keeps C strings: no CR, LF or NUL.
    if (typeof v === 'string' && /[\r\n\0]/.test(v)) {
      const param = match.signature.params[i]!.name;
      throw new AtEncodeError(`${commandText(name)}: parameter ${i + 1} <${param}> must not contain CR, LF or NUL`);
    }
  });
  // Trailing empty optionals are left out entirely, down to what the signature needs.
  let count = match.values.length;
  const floor = minCount(match.signature);
  while (count > floor && match.values[count - 1] === null) count--;
  return match.values.slice(0, count).map(paramText).join(',');
}

function toToken(name: CommandName, index: number, value: ParamInput): Token {
  if (value === null || value === undefined) return { kind: 'empty' };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new AtEncodeError(`${commandText(name)}: parameter ${index + 1} must be an integer, got ${value}`);
    }
    return { kind: 'int', value };
  }
  if (typeof value !== 'string') {
    throw new AtEncodeError(`${commandText(name)}: parameter ${index + 1} must be a string or an integer`);
  }
  return { kind: 'string', value, bytes: encoder.encode(value).length };
}

function paramText(value: ParamValue): string {
  if (value === null) return '';
  return typeof value === 'number' ? String(value) : `"${escapeParam(value)}"`;
}

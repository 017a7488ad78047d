/**
 * The command-line framework: each command is one table entry (name, summary, options, run), and
 * this file turns the table into parsing (node:util parseArgs), `--help` text and usage errors.
 * Adding an option is one entry in the command's `options`; adding a command is one entry in
 * bin/cli.ts's `COMMANDS`.
 *
 * ```ts
 * const hello: Command = {
 *   name: 'hello',
 *   summary: 'greet someone',
 *   options: [{ name: 'to', value: 'NAME', help: 'who to greet', default: 'world' }],
 *   run: async ({ values }) => (console.log(`hello ${str(values, 'to')}`), 0),
 * };
 * ```
 */
import { parseArgs } from 'node:util';

/** One `--option`: a flag when `value` is absent, else it takes a value named `value` in help. */
export interface OptionSpec {
  name: string;
  /** Placeholder shown in help (`PORT`, `slip|at`); absent = a boolean flag. */
  value?: string;
  /** The value may be left out (`--pty [LINK]`): only a following word not starting with `-` is it. */
  optionalValue?: boolean;
  /** May be given several times; the values arrive as an array. */
  multiple?: boolean;
  /** Shown in help and applied when the option is absent. */
  default?: string;
  short?: string;
  /** One sentence: what it does and what the value means. */
  help: string;
}

export interface Parsed {
  /** `--x V` → 'V'; flags → true; `optionalValue` options given bare → true; multiple → string[]. */
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for `netcoproc help`. */
  summary: string;
  /** Positional arguments, as shown in the synopsis (`FILE`); none when absent. */
  positionals?: { name: string; help: string; required?: boolean; variadic?: boolean }[];
  options: OptionSpec[];
  /** Paragraphs printed after the options by `COMMAND --help`. */
  notes?: string;
  /** Runs the command; resolves with the exit code. Throw UsageError for a bad combination. */
  run(parsed: Parsed): Promise<number>;
}

/** A bad command line: exit code 2, one line, then the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
  }
}

const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', help: 'show this help and exit' };

/** `--name VALUE`, `--name [VALUE]` or `--name` as shown in a synopsis. */
function optionForm(o: OptionSpec): string {
  const flag = `--${o.name}`;
  if (o.value === undefined) return flag;
  return o.optionalValue ? `${flag} [${o.value}]` : `${flag} ${o.value}`;
}

/** `netcoproc emulate [--protocol slip|at] ... FILE`, wrapped at 100 columns. */
export function synopsis(cmd: Command): string {
  const head = `usage: netcoproc ${cmd.name}`;
  const parts = [
    ...cmd.options.map((o) => `[${optionForm(o)}]${o.multiple ? '...' : ''}`),
    ...(cmd.positionals ?? []).map((p) => {
      const name = p.variadic ? `${p.name}...` : p.name;
      return p.required ? name : `[${name}]`;
    }),
  ];
  const lines: string[] = [];
  let line = head;
  for (const part of parts) {
    if (line.length + part.length + 1 > 100) {
      lines.push(line);
      line = ' '.repeat(head.length);
    }
    line += ` ${part}`;
  }
  lines.push(line);
  return `${lines.join('\n')}\n`;
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** The full `COMMAND --help` text: synopsis, summary, every option with its default. */
export function commandHelp(cmd: Command): string {
  const rows: [string, string][] = [
    ...(cmd.positionals ?? []).map((p): [string, string] => [p.name, p.help]),
    ...[...cmd.options, HELP_OPTION].map((o): [string, string] => [
      `${o.short ? `-${o.short}, ` : ''}${optionForm(o)}`,
      `${o.help}${o.multiple ? ' (repeatable)' : ''}${o.default !== undefined ? ` [default: ${o.default}]` : ''}`,
    ]),
  ];
  const width = Math.min(30, Math.max(...rows.map(([l]) => l.length)) + 2);
  const indent = ' '.repeat(width + 2);
  const body = rows.map(([l, r]) => {
    const text = wrap(r, 100 - indent.length).join(`\n${indent}`);
    return l.length + 2 > width ? `  ${l}\n${indent}${text}` : `  ${l.padEnd(width)}${text}`;
  });
  return `${synopsis(cmd)}\n${cmd.summary}\n\n${cmd.positionals?.length ? 'arguments and options' : 'options'}:\n${body.join('\n')}\n${cmd.notes ? `\n${cmd.notes.trim()}\n` : ''}`;
}

/**
 * Options with an optional value are lifted out before parseArgs (which has no such type):
 * `['--pty', '/tmp/x', '--seed', '1']` → `{ rest: ['--seed', '1'], lifted: { pty: '/tmp/x' } }`.
 */
function liftOptionalValues(cmd: Command, args: string[]): { rest: string[]; lifted: Record<string, string | true> } {
  const rest: string[] = [];
  const lifted: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    const [flag, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    const spec = cmd.options.find((o) => o.optionalValue && flag === `--${o.name}`);
    if (!spec) {
      rest.push(arg);
      continue;
    }
    const next = args[i + 1];
    if (inline !== undefined) lifted[spec.name] = inline;
    else if (next !== undefined && !next.startsWith('-')) {
      lifted[spec.name] = next;
      i++;
    } else lifted[spec.name] = true;
  }
  return { rest, lifted };
}

/** parseArgs' error messages are long and say "Option '--x <value>'"; ours are one short line. */
function usageMessage(err: Error & { code?: string }, args: string[]): string {
  // parseArgs names an option `'--name'`, `'--name <value>'` or `'-n, --name'`: keep the long form.
  const opt = /'(?:-\w, )?(-{1,2}[^' ,]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${opt ?? args.find((a) => a.startsWith('-'))}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (err.message.includes('argument missing')) return `${opt} needs a value`;
      if (err.message.includes('ambiguous'))
        return `${opt} needs a value (for one that starts with '-', write ${opt}=VALUE)`;
      return `${opt} ${err.message.includes('does not take') ? 'takes no value' : 'has a bad value'}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${/'([^']+)'/.exec(err.message)?.[1]}'`;
    default:
      return err.message;
  }
}

/** Parses `args` against the command's table; `--help` yields `{ help: true }`. */
export function parseCommandLine(cmd: Command, args: string[]): Parsed & { help: boolean } {
  const { rest, lifted } = liftOptionalValues(cmd, args);
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string }> =
    {};
  for (const o of [...cmd.options, HELP_OPTION]) {
    if (o.optionalValue) continue;
    options[o.name] = {
      type: o.value === undefined ? 'boolean' : 'string',
      ...(o.multiple ? { multiple: true } : {}),
      ...(o.short ? { short: o.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(usageMessage(err as Error, rest), cmd);
  }
  const values: Parsed['values'] = { ...(parsed.values as Parsed['values']), ...lifted };
  for (const o of cmd.options) if (values[o.name] === undefined && o.default !== undefined) values[o.name] = o.default;
  const help = values.help === true;
  delete values.help;
  const specs = cmd.positionals ?? [];
  if (!help) {
    const required = specs.filter((p) => p.required).length;
    const variadic = specs.some((p) => p.variadic);
    if (parsed.positionals.length > specs.length && !variadic)
      throw new UsageError(`unexpected argument '${parsed.positionals[specs.length]}'`, cmd);
    if (parsed.positionals.length < required)
      throw new UsageError(`missing ${specs[parsed.positionals.length]?.name ?? 'argument'}`, cmd);
  }
  return { values, positionals: parsed.positionals, help };
}

/** A string option's value (undefined when absent). */
export function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new UsageError(`--${name} needs a value`);
}

/** A repeatable option's values (empty when absent). */
export function list(values: Parsed['values'], name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A boolean flag. */
export function flag(values: Parsed['values'], name: string): boolean {
  return values[name] === true;
}

/** An integer >= min, or a UsageError naming the option. */
export function intOption(
  v: string | undefined,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(
      `--${name} expects an integer ${max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `>= ${min}`}, got '${v}'`,
    );
  return Number(v);
}

/** One of `choices`, or a UsageError listing them. */
export function choice<T extends string>(v: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(
      `--${name} expects ${choices.length === 2 ? choices.join(' or ') : `one of ${choices.join(', ')}`}, got '${v}'`,
    );
  return v as T;
}

/** `--listen tcp://HOST:PORT` values (port 0 = pick one), checked so a typo is a usage error. */
export function tcpListenOptions(values: Parsed['values'], name = 'listen'): string[] {
  const specs = list(values, name);
  for (const spec of specs) {
    const port = /^tcp:\/\/(?:[^:/\s]+|\[[^\]]+\]):(\d{1,5})$/.exec(spec)?.[1];
    if (port === undefined || Number(port) > 65535)
      throw new UsageError(`--${name} expects tcp://HOST:PORT, got '${spec}'`);
  }
  return specs;
}

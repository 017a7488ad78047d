/** The command-table framework: parsing, optional values, positionals, help text, usage errors. */
import { describe, expect, it } from 'vitest';
import { type Command, commandHelp, parseCommandLine, synopsis, UsageError } from './args.js';

const trace: Command = {
  name: 'trace',
  summary: 'print a capture',
  positionals: [{ name: 'FILE', help: 'a .pcapng file', required: true }],
  options: [
    { name: 'ui', value: 'PORT', optionalValue: true, help: 'serve a live page' },
    { name: 'quiet', short: 'q', help: 'say less' },
    { name: 'listen', value: 'URL', multiple: true, help: 'where to listen' },
    { name: 'format', value: 'text|json', default: 'text', help: 'output format' },
  ],
  run: async () => 0,
};

describe('parseCommandLine', () => {
  it('string, repeatable, boolean and defaulted options, and the positional', () => {
    const p = parseCommandLine(trace, ['-q', '--listen', 'a', 'x.pcapng', '--listen=b']);
    expect(p).toEqual({
      values: { quiet: true, listen: ['a', 'b'], format: 'text' },
      positionals: ['x.pcapng'],
      help: false,
    });
  });

  it('an optional value: given, given with =, or left out (before another option or at the end)', () => {
    expect(parseCommandLine(trace, ['f', '--ui', '8080']).values.ui).toBe('8080');
    expect(parseCommandLine(trace, ['f', '--ui=0']).values.ui).toBe('0');
    expect(parseCommandLine(trace, ['--ui', '-q', 'f']).values).toMatchObject({ ui: true, quiet: true });
    expect(parseCommandLine(trace, ['f', '--ui']).values.ui).toBe(true);
  });

  it('--help wins over missing positionals', () => {
    expect(parseCommandLine(trace, ['--help']).help).toBe(true);
  });

  it('usage errors name what is wrong and carry the command', () => {
    const cases: [string[], string][] = [
      [[], 'missing FILE'],
      [['a', 'b'], "unexpected argument 'b'"],
      [['f', '--nope'], "unknown option '--nope'"],
      [['f', '--listen'], '--listen needs a value'],
      [['f', '--quiet=yes'], '--quiet takes no value'],
    ];
    for (const [args, message] of cases) {
      let err: unknown;
      try {
        parseCommandLine(trace, args);
      } catch (e) {
        err = e;
      }
      expect(err, args.join(' ')).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toBe(message);
      expect((err as UsageError).command).toBe(trace);
    }
  });
});

describe('help text', () => {
  it('the synopsis shows every option and the positional', () => {
    expect(synopsis(trace)).toBe(
      'usage: netcoproc trace [--ui [PORT]] [--quiet] [--listen URL]... [--format text|json] FILE\n',
    );
  });

  it('COMMAND --help lists every option with its help, default and repeatability', () => {
    const text = commandHelp(trace);
    expect(text).toContain('\nprint a capture\n');
    expect(text).toMatch(/^ {2}FILE +a \.pcapng file$/m);
    expect(text).toMatch(/^ {2}--ui \[PORT\] +serve a live page$/m);
    expect(text).toMatch(/^ {2}-q, --quiet +say less$/m);
    expect(text).toMatch(/^ {2}--listen URL +where to listen \(repeatable\)$/m);
    expect(text).toMatch(/^ {2}--format text\|json +output format \[default: text\]$/m);
    expect(text).toMatch(/^ {2}-h, --help +show this help and exit$/m);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });
});

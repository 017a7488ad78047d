/**
 * The `netcoproc` command line: --version, help, COMMAND --help, and the exit-code contract
 * (ARCHITECTURE.md §8): a bad command line exits 2 with one line and the usage, a run-time
 * failure exits 1 with one line naming what failed, never a stack trace. Most cases call the
 * CLI's `main` in-process (the same code the executable runs, quick); a few run the real
 * executable as a user does.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AGENT_OPTIONS } from '../bin/agent.js';
import { COMMANDS, main } from '../bin/cli.js';
import { EMULATE_OPTIONS } from '../bin/emulate-command.js';
import { CLI } from './helpers/spawn-emulator.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

interface Run {
  code: number;
  out: string;
  err: string;
}

/** `netcoproc ARGS` in-process, with stdout and stderr captured. */
async function cli(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    return { code: await main(args), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** The real executable, as a user runs it (through a shell-less exec; exit code kept). */
async function executable(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

/** Exit 2: `netcoproc CMD: <message>` on one line, then the usage; nothing on stdout. */
function expectUsageError(r: Run, message: RegExp): void {
  expect(r.code, r.err).toBe(2);
  expect(r.out).toBe('');
  const [first, ...rest] = r.err.split('\n');
  expect(first).toMatch(/^netcoproc( \w+)?: /);
  expect(first).toMatch(message);
  expect(rest.join('\n')).toMatch(/^usage: netcoproc/);
}

/** Exit 1: exactly one line naming what failed, no stack trace. */
function expectRunTimeError(r: Run, message: RegExp): void {
  expect(r.code, r.err).toBe(1);
  expect(r.err.endsWith('\n')).toBe(true);
  expect(r.err.trimEnd().split('\n'), r.err).toHaveLength(1);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('netcoproc --version and help', () => {
  it('--version prints the package version', async () => {
    expect(await cli('--version')).toEqual({ code: 0, out: `netcoproc ${VERSION}\n`, err: '' });
  });

  it('help lists every command; help COMMAND and COMMAND --help describe every option', async () => {
    const overview = await cli('help');
    expect(overview.code).toBe(0);
    for (const c of COMMANDS) expect(overview.out).toMatch(new RegExp(`^  ${c.name} +\\S`, 'm'));
    for (const [cmd, options] of [
      ['emulate', EMULATE_OPTIONS],
      ['agent', AGENT_OPTIONS],
    ] as const) {
      const viaHelp = await cli('help', cmd);
      const viaFlag = await cli(cmd, '--help');
      expect(viaHelp.code).toBe(0);
      expect(viaFlag).toEqual(viaHelp);
      expect(viaHelp.out).toMatch(new RegExp(`^usage: netcoproc ${cmd} `));
      for (const o of options) {
        // Each option on its own line of the option list, followed by its description.
        expect(viaHelp.out).toMatch(
          new RegExp(`^  --${o.name}\\b[^\\n]*\\s+${o.help.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'),
        );
      }
    }
    expect((await cli('demo', '-h')).out).toMatch(/^usage: netcoproc demo\n/);
  });

  it('no command at all: the overview on stderr and exit 2', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^netcoproc: no command given\nusage: netcoproc COMMAND/);
  });
});

describe('usage errors exit 2 with one line and the usage', () => {
  const cases: [string[], RegExp][] = [
    [['launch'], /unknown command 'launch'/],
    [['help', 'launch'], /unknown command 'launch'/],
    [['help', 'emulate', 'twice'], /unexpected argument 'twice'/],
    [['demo', '--x'], /^netcoproc demo: unknown option '--x'$/],
    [['emulate', '--x'], /unknown option '--x'/],
    [['agent', '--x'], /unknown option '--x'/],
    [['emulate', 'now'], /unexpected argument 'now'/],
    [['emulate', '--protocol'], /--protocol needs a value/],
    [['emulate', '--protocol', 'modbus'], /--protocol expects slip or at, got 'modbus'/],
    [['emulate', '--at-version', '4.1'], /--at-version needs --protocol at/],
    [['emulate', '--protocol', 'at', '--at-version', '1.7'], /--at-version expects one of 2\.2, 3\.2, 4\.1/],
    [['emulate', '--profile', 'esp8266'], /--profile expects one of wipy, esp32, esp-at, got 'esp8266'/],
    [['emulate', '--listen', 'http://x'], /--listen expects tcp:\/\/HOST:PORT, got 'http:\/\/x'/],
    [['emulate', '--rfc2217', '70000'], /--rfc2217 expects an integer from 0 to 65535/],
    [['emulate', '--network', 'mars'], /--network expects virtual or host/],
    [['emulate', '--baud', '9'], /--baud expects an integer >= 300, got '9'/],
    [['emulate', '--seed', '-1'], /--seed needs a value \(for one that starts with '-', write --seed=VALUE\)/],
    [['emulate', '--seed=x'], /--seed expects an integer >= 0, got 'x'/],
    [['emulate', '--drop', '2'], /--drop expects a rate between 0 and 1/],
    [['emulate', '--latency', 'soon'], /--latency expects milliseconds >= 0, got 'soon'/],
    [['emulate', '--reboot-after-bytes', 'many'], /--reboot-after-bytes expects an integer/],
    [['agent', '--stdio', '--pty'], /--stdio cannot be combined with --pty or --listen/],
    [['agent', '--stdio=yes'], /--stdio takes no value/],
    [['agent', '--listen', 'tcp://h:99999'], /--listen expects tcp:\/\/HOST:PORT/],
  ];
  for (const [args, message] of cases) {
    it(`netcoproc ${args.join(' ')}`, async () => {
      expectUsageError(await cli(...args), message);
    });
  }
});

describe('run-time errors exit 1 with one line naming what failed', () => {
  let dir: string;
  let busy: Server;
  let busyPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ncp-cli-'));
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((resolve) => busy.close(resolve));
  });

  it('--flash on a file that is not a directory', async () => {
    expectRunTimeError(
      await cli('emulate', '--flash', '/etc/hostname'),
      /^netcoproc emulate: --flash \/etc\/hostname: not a directory$/m,
    );
  });

  it('--pty LINK where the link cannot be made', async () => {
    expectRunTimeError(await cli('emulate', '--pty', '/nonexistent/x'), /--pty \/nonexistent\/x: ENOENT/);
  });

  it('--listen on a port already in use', async () => {
    const spec = `tcp://127.0.0.1:${busyPort}`;
    expectRunTimeError(await cli('emulate', '--listen', spec), new RegExp(`--listen ${spec}: .*EADDRINUSE`));
  });

  it('--config and --scenario files that are missing or invalid', async () => {
    expectRunTimeError(
      await cli('emulate', '--config', join(dir, 'none.json')),
      /invalid hosts table .*none\.json: .*ENOENT/,
    );
    writeFileSync(join(dir, 'bad.json'), '{ "device": { "hang": { "afterBytes": -3 } } }');
    expectRunTimeError(
      await cli('emulate', '--scenario', join(dir, 'bad.json')),
      /invalid fault scenario .*bad\.json: device\.hang\.afterBytes/,
    );
  });

  it('agent with a Python that does not exist', async () => {
    expectRunTimeError(await cli('agent', '--python', join(dir, 'python9')), /cannot run .*python9: .*ENOENT/);
  });
});

describe('the executable', () => {
  it('--version', async () => {
    expect(await executable('--version')).toEqual({ code: 0, out: `netcoproc ${VERSION}\n`, err: '' });
  });

  it('a usage error: exit 2, one line, the usage', async () => {
    expectUsageError(await executable('demo', '--x'), /^netcoproc demo: unknown option '--x'$/);
  });

  it('a run-time error: exit 1, one line, no stack trace', async () => {
    expectRunTimeError(
      await executable('emulate', '--pty', '/nonexistent/x'),
      /^netcoproc emulate: --pty \/nonexistent\/x: ENOENT/,
    );
  });
});

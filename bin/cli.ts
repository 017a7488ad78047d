/**
 * The `netcoproc` command line. Each command is one entry of COMMANDS (bin/args.ts describes the
 * entry); this file dispatches, prints help, and turns failures into exit codes:
 * 0 done, 1 a run-time failure (one line naming what failed), 2 a bad command line (one line,
 * then the usage). No stack traces reach the user.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AGENT } from './agent.js';
import { type Command, commandHelp, parseCommandLine, synopsis, UsageError } from './args.js';
import { DEMO } from './demo-command.js';
import { EMULATE } from './emulate-command.js';
import { TRACE } from './trace-command.js';

export { parseEmulateArgs } from './emulate-command.js';

/** Every command, in the order `netcoproc help` lists them. */
export const COMMANDS: readonly Command[] = [EMULATE, DEMO, AGENT, TRACE];

/** The package's version, read from the package.json above bin/ (checkout) or dist/bin/ (built). */
export function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'netcoproc' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

/** `netcoproc help`: every command with its summary. */
export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `usage: netcoproc COMMAND [OPTIONS]

${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

  netcoproc help COMMAND      every option of COMMAND (or: netcoproc COMMAND --help)
  netcoproc --version         the package version
`;
}

/** One line: the message with its own line breaks folded, so a failure never spans a screen. */
export function oneLine(err: unknown): string {
  const e = err as { message?: unknown } | null;
  const text = typeof e?.message === 'string' && e.message.trim() ? e.message : String(err);
  const parts = text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.reduce((line, part) => (line.endsWith(':') ? `${line} ${part}` : `${line}; ${part}`));
}

function findCommand(name: string | undefined): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** `netcoproc help [COMMAND]`. */
function help(args: string[]): number {
  const [name, ...extra] = args;
  if (name === undefined) {
    process.stdout.write(overview());
    return 0;
  }
  const cmd = findCommand(name);
  if (!cmd || extra.length)
    throw new UsageError(cmd ? `unexpected argument '${extra[0]}'` : `unknown command '${name}'`);
  process.stdout.write(commandHelp(cmd));
  return 0;
}

async function dispatch(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) throw new UsageError('no command given');
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`netcoproc ${packageVersion()}\n`);
    return 0;
  }
  if (name === 'help' || name === '--help' || name === '-h') return help(args);
  const cmd = findCommand(name);
  if (!cmd) throw new UsageError(`unknown command '${name}'`);
  const parsed = parseCommandLine(cmd, args);
  if (parsed.help) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  try {
    return await cmd.run(parsed);
  } catch (err) {
    if (err instanceof UsageError && !err.command) throw new UsageError(err.message, cmd);
    throw err;
  }
}

/** Runs `netcoproc ARGV...` and resolves with the exit code; errors are printed, never thrown. */
export async function main(argv: string[]): Promise<number> {
  const command = findCommand(argv[0]);
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      const where = err.command ?? command;
      process.stderr.write(`netcoproc${where ? ` ${where.name}` : ''}: ${err.message}\n`);
      process.stderr.write(
        where ? `${synopsis(where)}run 'netcoproc help ${where.name}' for every option\n` : overview(),
      );
      return 2;
    }
    process.stderr.write(`netcoproc${command ? ` ${command.name}` : ''}: ${oneLine(err)}\n`);
    return 1;
  }
}

/**
 * For the `netcoproc` executable only: a failure outside any awaited call (an 'error' event
 * nobody listens to, a rejected background promise) also ends in one line and exit 1.
 */
export function installLastResortHandlers(): void {
  const die = (err: unknown): void => {
    process.stderr.write(`netcoproc: ${oneLine(err)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
}

/**
 * `netcoproc agent`: the MicroPython device agent (`firmware-protocol/micropython/agent.py`) run
 * under CPython — a second, independent device side of the SLIP RPC, doing REAL socket calls on
 * this machine. It prints the same attachment lines as `netcoproc emulate` and stops cleanly on
 * SIGINT/SIGTERM.
 *
 * ```sh
 * netcoproc agent --pty --listen tcp://127.0.0.1:0
 * # listening socket://127.0.0.1:41234
 * # pty /dev/pts/5
 * ```
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The agent's entry point, from the source tree (also when this file runs compiled from dist/bin). */
export const AGENT_PY = ['../firmware-protocol/micropython/agent.py', '../../firmware-protocol/micropython/agent.py']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((path) => existsSync(path));

export const AGENT_USAGE = `  netcoproc agent   [--listen tcp://127.0.0.1:PORT]... [--pty [LINK]] | --stdio  [--python PATH]
                    the MicroPython device agent under CPython, with real sockets
`;

export interface AgentOptions {
  listen: string[];
  pty: string | true | undefined;
  stdio: boolean;
  /** The interpreter (default `python3`, or $NETCOPROC_PYTHON). */
  python: string;
}

/** A bad flag; the code makes `netcoproc`'s main print the usage, as for parseArgs' own errors. */
class AgentUsageError extends Error {
  readonly code = 'ERR_PARSE_ARGS_AGENT';
}

/**
 * Parses `agent` flags: `parseAgentArgs(['--pty'])` → `{ listen: [], pty: true, stdio: false, python: 'python3' }`.
 * Without a transport it listens on `tcp://127.0.0.1:0`, like `emulate`.
 */
export function parseAgentArgs(args: string[]): AgentOptions {
  const i = args.indexOf('--pty');
  const link = i >= 0 && args[i + 1] !== undefined && !args[i + 1]!.startsWith('-') ? args[i + 1] : undefined;
  const rest = i < 0 ? args : [...args.slice(0, i), ...args.slice(i + (link ? 2 : 1))];
  const { values, positionals } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: true,
    options: {
      listen: { type: 'string', multiple: true },
      stdio: { type: 'boolean', default: false },
      python: { type: 'string', default: process.env.NETCOPROC_PYTHON ?? 'python3' },
    },
  });
  if (positionals.length) throw new AgentUsageError(`unexpected argument '${positionals[0]}'`);
  const listen = values.listen ?? [];
  for (const spec of listen) {
    const port = /^tcp:\/\/(?:[^:/\s]+|\[[^\]]+\]):(\d{1,5})$/.exec(spec)?.[1];
    if (port === undefined || Number(port) > 65535)
      throw new AgentUsageError(`--listen expects tcp://HOST:PORT, got '${spec}'`);
  }
  const pty = i < 0 ? undefined : (link ?? true);
  if (values.stdio && (pty || listen.length))
    throw new AgentUsageError('--stdio cannot be combined with --pty or --listen');
  return {
    listen: listen.length === 0 && !pty && !values.stdio ? ['tcp://127.0.0.1:0'] : listen,
    pty,
    stdio: values.stdio,
    python: values.python,
  };
}

/** The agent's own command line for `o`. */
export function agentArgv(o: AgentOptions): string[] {
  if (o.stdio) return ['--stdio'];
  const argv = o.listen.flatMap((l) => ['--listen', l]);
  if (o.pty) argv.push('--pty', ...(typeof o.pty === 'string' ? [o.pty] : []));
  return argv;
}

/** Runs the agent until it exits or this process gets SIGINT/SIGTERM; resolves with its exit code. */
export async function runAgent(args: string[]): Promise<number> {
  const o = parseAgentArgs(args);
  if (!AGENT_PY) throw new Error('firmware-protocol/micropython/agent.py not found (run from the netcoproc checkout)');
  // stdout is inherited: the agent prints its `listening …` / `pty …` lines itself (or, with
  // --stdio, speaks the protocol on it).
  const child = spawn(o.python, ['-u', '-B', AGENT_PY, ...agentArgv(o)], {
    stdio: [o.stdio ? 'inherit' : 'ignore', 'inherit', 'inherit'],
  });
  const forward = (sig: NodeJS.Signals) => (): void => {
    child.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot run ${o.python}: ${err.message} (try --python PATH)`)));
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

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
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Command,
  flag,
  type OptionSpec,
  type Parsed,
  parseCommandLine,
  str,
  tcpListenOptions,
  UsageError,
} from './args.js';

/** The agent's entry point, from the source tree (also when this file runs compiled from dist/bin). */
export const AGENT_PY = ['../firmware-protocol/micropython/agent.py', '../../firmware-protocol/micropython/agent.py']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((path) => existsSync(path));

export interface AgentOptions {
  listen: string[];
  pty: string | true | undefined;
  stdio: boolean;
  /** The interpreter (default `python3`, or $NETCOPROC_PYTHON). */
  python: string;
}

export const AGENT_OPTIONS: OptionSpec[] = [
  {
    name: 'listen',
    value: 'tcp://HOST:PORT',
    multiple: true,
    help: 'serve the agent on a TCP port (port 0 picks one); without any transport: tcp://127.0.0.1:0',
  },
  {
    name: 'pty',
    value: 'LINK',
    optionalValue: true,
    help: 'serve it on a pseudo-terminal; LINK = a symlink to create to it',
  },
  { name: 'stdio', help: 'speak the protocol on stdin/stdout instead (not with --pty or --listen)' },
  {
    name: 'python',
    value: 'PATH',
    default: '$NETCOPROC_PYTHON or python3',
    help: 'the Python interpreter to run it with',
  },
];

/** Parsed options → the agent's; a bad combination is a UsageError. */
export function agentOptions({ values }: Parsed): AgentOptions {
  const listen = tcpListenOptions(values);
  const pty = values.pty as string | true | undefined;
  const stdio = flag(values, 'stdio');
  if (stdio && (pty || listen.length)) throw new UsageError('--stdio cannot be combined with --pty or --listen');
  const python = str(values, 'python');
  return {
    listen: listen.length === 0 && !pty && !stdio ? ['tcp://127.0.0.1:0'] : listen,
    pty,
    stdio,
    python: python === undefined || python.startsWith('$') ? (process.env.NETCOPROC_PYTHON ?? 'python3') : python,
  };
}

/**
 * Parses `agent` flags: `parseAgentArgs(['--pty'])` → `{ listen: [], pty: true, stdio: false, python: 'python3' }`.
 * Without a transport it listens on `tcp://127.0.0.1:0`, like `emulate`.
 */
export function parseAgentArgs(args: string[]): AgentOptions {
  return agentOptions(parseCommandLine(AGENT, args));
}

/** The agent's own command line for `o`. */
export function agentArgv(o: AgentOptions): string[] {
  if (o.stdio) return ['--stdio'];
  const argv = o.listen.flatMap((l) => ['--listen', l]);
  if (o.pty) argv.push('--pty', ...(typeof o.pty === 'string' ? [o.pty] : []));
  return argv;
}

/** Runs the agent until it exits or this process gets SIGINT/SIGTERM; resolves with its exit code. */
export async function runAgent(o: AgentOptions): Promise<number> {
  if (!AGENT_PY) throw new Error('cannot find firmware-protocol/micropython/agent.py in the package');
  // Imported here: node:child_process costs every other command's start a few milliseconds.
  const { spawn } = await import('node:child_process');
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

export const AGENT: Command = {
  name: 'agent',
  summary: 'the MicroPython device agent under CPython, with real sockets (prints lines like emulate)',
  options: AGENT_OPTIONS,
  run: (parsed) => runAgent(agentOptions(parsed)),
};

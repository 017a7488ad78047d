/**
 * The `netcoproc` command line: `emulate` (an emulated coprocessor on TCP/pty) and `demo`
 * (start one, then use it through the MicroPython socket API). Bad flags give a clear message
 * and exit code 2.
 */
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { type EmulateOptions, startEmulator } from './emulate.js';

const USAGE = `usage:
  netcoproc emulate [--protocol slip] [--profile wipy|esp32] [--listen tcp://127.0.0.1:PORT]...
                    [--pty [LINK]] [--network virtual|host] [--config HOSTS.json] [--baud N] [--seed N]
  netcoproc demo    start an emulator on loopback and fetch http.test through it
`;

class UsageError extends Error {}

/** `--pty` takes an optional value: only a following word that is not a flag is its LINK. */
function splitPty(args: string[]): { rest: string[]; pty: string | true | undefined } {
  const i = args.indexOf('--pty');
  if (i < 0) return { rest: args, pty: undefined };
  const next = args[i + 1];
  const hasLink = next !== undefined && !next.startsWith('-');
  const rest = [...args.slice(0, i), ...args.slice(i + (hasLink ? 2 : 1))];
  return { rest, pty: hasLink ? next : true };
}

function intFlag(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} expects an integer >= ${min}, got '${v}'`);
  return Number(v);
}

export function parseEmulateArgs(args: string[]): EmulateOptions {
  const { rest, pty } = splitPty(args);
  const { values, positionals } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: true,
    options: {
      protocol: { type: 'string', default: 'slip' },
      profile: { type: 'string' },
      listen: { type: 'string', multiple: true },
      rfc2217: { type: 'string' },
      network: { type: 'string', default: 'virtual' },
      config: { type: 'string' },
      baud: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.protocol !== 'slip') throw new UsageError(`--protocol ${values.protocol} is not available yet (slip only)`);
  if (values.rfc2217 !== undefined) throw new UsageError('--rfc2217 is not available yet');
  if (values.network !== 'virtual' && values.network !== 'host') throw new UsageError(`--network expects virtual or host`);
  const listen = values.listen ?? [];
  return {
    protocol: 'slip',
    profile: values.profile ?? 'wipy',
    listen: listen.length === 0 && !pty ? ['tcp://127.0.0.1:0'] : listen,
    pty,
    network: values.network,
    config: values.config,
    baud: intFlag(values.baud, 'baud', 300),
    seed: intFlag(values.seed, 'seed', 0),
  };
}

async function emulate(args: string[]): Promise<number> {
  const running = await startEmulator(parseEmulateArgs(args), (line) => console.log(line));
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  try {
    if (cmd === 'emulate') return await emulate(args);
    if (cmd === 'demo') return await runDemo(args);
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command '${cmd}'`);
  } catch (err) {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`netcoproc: ${(err as Error).message}\n${usage ? USAGE : ''}`);
    return usage ? 2 : 1;
  }
}

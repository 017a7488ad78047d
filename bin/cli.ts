/**
 * The `netcoproc` command line: `emulate` (an emulated coprocessor on TCP/pty) and `demo`
 * (start one, then use it through the MicroPython socket API). Bad flags give a clear message
 * and exit code 2.
 */
import { parseArgs } from 'node:util';
import { AT_VERSION_NAMES, type AtVersion, type FaultFlags } from '../emulator/index.js';
import { AGENT_USAGE, runAgent } from './agent.js';
import { runDemo } from './demo.js';
import { type EmulateOptions, startEmulator } from './emulate.js';

const USAGE = `usage:
  netcoproc emulate [--protocol slip|at] [--at-version 2.2|3.2|4.1] [--profile wipy|esp32|esp-at]
                    [--listen tcp://127.0.0.1:PORT]...
                    [--pty [LINK]] [--rfc2217 PORT] [--network virtual|host] [--join NAME] [--config HOSTS.json]
                    [--baud N] [--seed N] [--flash DIR]
                    [--scenario FAULTS.json] [--corrupt RATE] [--drop RATE] [--insert RATE]
                    [--latency MS] [--jitter MS] [--reboot-after-bytes N] [--reboot-at MS] [--hang-at MS]
  netcoproc demo    start an emulator on loopback and fetch http.test through it
${AGENT_USAGE}`;

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

/** A fraction of bytes, `1e-4` or `0.0001`. */
function rateFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(`--${name} expects a rate between 0 and 1 (e.g. 1e-4), got '${v}'`);
  }
  return n;
}

/** Milliseconds, fractions allowed. */
function msFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`--${name} expects milliseconds >= 0, got '${v}'`);
  return n;
}

/** The shorthand fault flags (emulator/faults); each is also a field of a scenario file. */
function faultFlags(v: Record<string, string | undefined>): FaultFlags {
  return {
    corrupt: rateFlag(v.corrupt, 'corrupt'),
    drop: rateFlag(v.drop, 'drop'),
    insert: rateFlag(v.insert, 'insert'),
    latencyMs: msFlag(v.latency, 'latency'),
    jitterMs: msFlag(v.jitter, 'jitter'),
    rebootAfterBytes: intFlag(v['reboot-after-bytes'], 'reboot-after-bytes', 0),
    rebootAtMs: msFlag(v['reboot-at'], 'reboot-at'),
    hangAtMs: msFlag(v['hang-at'], 'hang-at'),
  };
}

/** `--at-version` is for `--protocol at` only, and one of the releases the personality plays. */
function parseAtVersion(v: string | undefined, protocol: 'slip' | 'at'): AtVersion | undefined {
  if (v === undefined) return undefined;
  if (protocol !== 'at') throw new UsageError('--at-version needs --protocol at');
  if (!(AT_VERSION_NAMES as readonly string[]).includes(v)) {
    throw new UsageError(`--at-version expects one of ${AT_VERSION_NAMES.join(', ')}, got '${v}'`);
  }
  return v as AtVersion;
}

export function parseEmulateArgs(args: string[]): EmulateOptions {
  const { rest, pty } = splitPty(args);
  const { values, positionals } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: true,
    options: {
      protocol: { type: 'string', default: 'slip' },
      'at-version': { type: 'string' },
      profile: { type: 'string' },
      listen: { type: 'string', multiple: true },
      rfc2217: { type: 'string' },
      network: { type: 'string', default: 'virtual' },
      join: { type: 'string' },
      config: { type: 'string' },
      baud: { type: 'string' },
      seed: { type: 'string' },
      flash: { type: 'string' },
      scenario: { type: 'string' },
      corrupt: { type: 'string' },
      drop: { type: 'string' },
      insert: { type: 'string' },
      latency: { type: 'string' },
      jitter: { type: 'string' },
      'reboot-after-bytes': { type: 'string' },
      'reboot-at': { type: 'string' },
      'hang-at': { type: 'string' },
    },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const protocol = values.protocol;
  if (protocol !== 'slip' && protocol !== 'at')
    throw new UsageError(`--protocol expects slip or at, got '${protocol}'`);
  const atVersion = parseAtVersion(values['at-version'], protocol);
  const rfc2217 = values.rfc2217 === undefined ? undefined : intFlag(values.rfc2217, 'rfc2217', 0);
  if (rfc2217 !== undefined && rfc2217 > 65535) throw new UsageError(`--rfc2217: port ${rfc2217} out of range`);
  if (values.network !== 'virtual' && values.network !== 'host')
    throw new UsageError(`--network expects virtual or host`);
  const listen = values.listen ?? [];
  return {
    protocol,
    atVersion,
    // ESP-AT's own limits (5 links) unless asked otherwise.
    profile: values.profile ?? (protocol === 'at' ? 'esp-at' : 'wipy'),
    listen: listen.length === 0 && !pty && rfc2217 === undefined ? ['tcp://127.0.0.1:0'] : listen,
    pty,
    rfc2217,
    network: values.network,
    join: values.join,
    config: values.config,
    baud: intFlag(values.baud, 'baud', 300),
    seed: intFlag(values.seed, 'seed', 0),
    flash: values.flash,
    scenario: values.scenario,
    faultFlags: faultFlags({
      corrupt: values.corrupt,
      drop: values.drop,
      insert: values.insert,
      latency: values.latency,
      jitter: values.jitter,
      'reboot-after-bytes': values['reboot-after-bytes'],
      'reboot-at': values['reboot-at'],
      'hang-at': values['hang-at'],
    }),
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
    if (cmd === 'agent') return await runAgent(args);
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

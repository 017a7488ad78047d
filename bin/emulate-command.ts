/**
 * `netcoproc emulate`'s options table and their validation. The emulator itself (bin/emulate.ts)
 * is imported only when the command runs, so `--help` and usage errors stay fast.
 */
import { AT_VERSION_NAMES, type AtVersion } from '../emulator/at/versions.js';
import type { FaultFlags } from '../emulator/faults/scenario.js';
import { PROFILES } from '../emulator/profiles.js';
import {
  type Command,
  choice,
  flag,
  intOption,
  type OptionSpec,
  type Parsed,
  parseCommandLine,
  str,
  tcpListenOptions,
  UsageError,
} from './args.js';
import type { EmulateOptions } from './emulate.js';

export const EMULATE_OPTIONS: OptionSpec[] = [
  { name: 'protocol', value: 'slip|at', default: 'slip', help: 'our SLIP RPC, or the ESP-AT firmware dialect' },
  {
    name: 'at-version',
    value: AT_VERSION_NAMES.join('|'),
    help: 'ESP-AT release to play (with --protocol at) [default: 4.1]',
  },
  {
    name: 'profile',
    value: Object.keys(PROFILES).join('|'),
    help: 'board limits: wipy (8 sockets), esp32 (10), esp-at (5 links) [default: wipy, esp-at with --protocol at]',
  },
  {
    name: 'listen',
    value: 'tcp://HOST:PORT',
    multiple: true,
    help: 'serve the UART on a TCP port (port 0 picks one); without any transport: tcp://127.0.0.1:0',
  },
  {
    name: 'pty',
    value: 'LINK',
    optionalValue: true,
    help: 'serve the UART on a pseudo-terminal; LINK = a symlink to create to it',
  },
  {
    name: 'rfc2217',
    value: 'PORT',
    help: 'serve the UART as RFC 2217 serial-over-telnet on 127.0.0.1:PORT (0 picks one)',
  },
  { name: 'network', value: 'virtual|host', default: 'virtual', help: 'offline virtual network, or the real one' },
  { name: 'join', value: 'NAME', help: 'share the named virtual network with other emulator processes' },
  { name: 'config', value: 'HOSTS.json', help: 'hosts table of the virtual network (validated)' },
  {
    name: 'baud',
    value: 'N',
    help: 'pace the UART at N/10 bytes per second each way, like an 8N1 line [default: unpaced]',
  },
  { name: 'seed', value: 'N', help: 'seed for nonces, faults and jitter: same seed, same run' },
  { name: 'flash', value: 'DIR', help: "a directory holding the board's /flash files [default: in memory]" },
  {
    name: 'ca-out',
    value: 'FILE',
    help: "write the virtual network's CA certificate (PEM) to FILE, then print `ca FILE` (for host-side TLS)",
  },
  { name: 'scenario', value: 'FAULTS.json', help: 'fault scenario file (fixtures/scenarios/README.md)' },
  { name: 'corrupt', value: 'RATE', help: 'flip bits in this fraction of line bytes (e.g. 1e-4)' },
  { name: 'drop', value: 'RATE', help: 'drop this fraction of line bytes' },
  { name: 'insert', value: 'RATE', help: 'insert a random byte after this fraction of line bytes' },
  { name: 'latency', value: 'MS', help: 'delay every line chunk by MS milliseconds' },
  { name: 'jitter', value: 'MS', help: 'add up to MS milliseconds of random delay' },
  { name: 'reboot-after-bytes', value: 'N', help: 'reboot the board once N host-to-device bytes went through' },
  { name: 'reboot-at', value: 'MS', help: 'reboot the board MS milliseconds after start' },
  { name: 'hang-at', value: 'MS', help: 'make the board go silent MS milliseconds after start' },
  {
    name: 'ui',
    value: 'PORT',
    optionalValue: true,
    help: 'serve a live page of the board on 127.0.0.1:PORT (any free port when left out); prints `ui http://…`',
  },
  {
    name: 'trace',
    value: 'FILE.pcapng',
    help: 'record the serial line and the virtual network for Wireshark (see netcoproc trace)',
  },
  { name: 'quiet', help: 'log only failures on stderr (no attach/detach/fault lines)' },
  { name: 'verbose', help: 'also log every serial exchange, decoded (SLIP ops, AT lines)' },
];

/** A fraction of bytes, `1e-4` or `0.0001`. */
function rateOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`--${name} expects a rate between 0 and 1 (e.g. 1e-4), got '${v}'`);
  return n;
}

/** Milliseconds, fractions allowed. */
function msOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`--${name} expects milliseconds >= 0, got '${v}'`);
  return n;
}

/** The shorthand fault flags (emulator/faults); each is also a field of a scenario file. */
function faultFlags(v: Parsed['values']): FaultFlags {
  return {
    corrupt: rateOption(str(v, 'corrupt'), 'corrupt'),
    drop: rateOption(str(v, 'drop'), 'drop'),
    insert: rateOption(str(v, 'insert'), 'insert'),
    latencyMs: msOption(str(v, 'latency'), 'latency'),
    jitterMs: msOption(str(v, 'jitter'), 'jitter'),
    rebootAfterBytes: intOption(str(v, 'reboot-after-bytes'), 'reboot-after-bytes', 0),
    rebootAtMs: msOption(str(v, 'reboot-at'), 'reboot-at'),
    hangAtMs: msOption(str(v, 'hang-at'), 'hang-at'),
  };
}

/** Parsed options → what startEmulator takes, with every value and combination checked. */
export function emulateOptions({ values }: Parsed): EmulateOptions {
  const protocol = choice(str(values, 'protocol'), 'protocol', ['slip', 'at'] as const) ?? 'slip';
  const atVersion = choice(str(values, 'at-version'), 'at-version', AT_VERSION_NAMES as readonly AtVersion[]);
  if (atVersion !== undefined && protocol !== 'at') throw new UsageError('--at-version needs --protocol at');
  const profile = choice(str(values, 'profile'), 'profile', Object.keys(PROFILES));
  const rfc2217 = intOption(str(values, 'rfc2217'), 'rfc2217', 0, 65535);
  const network = choice(str(values, 'network'), 'network', ['virtual', 'host'] as const) ?? 'virtual';
  const pty = values.pty as string | true | undefined;
  const listen = tcpListenOptions(values);
  const caOut = str(values, 'ca-out');
  if (caOut !== undefined && network !== 'virtual') throw new UsageError('--ca-out needs --network virtual');
  if (flag(values, 'quiet') && flag(values, 'verbose'))
    throw new UsageError('--quiet and --verbose exclude each other');
  const ui = values.ui === true ? 0 : intOption(str(values, 'ui'), 'ui', 0, 65535);
  return {
    protocol,
    atVersion,
    // ESP-AT's own limits (5 links) unless asked otherwise.
    profile: profile ?? (protocol === 'at' ? 'esp-at' : 'wipy'),
    listen: listen.length === 0 && !pty && rfc2217 === undefined ? ['tcp://127.0.0.1:0'] : listen,
    pty,
    rfc2217,
    network,
    join: str(values, 'join'),
    config: str(values, 'config'),
    baud: intOption(str(values, 'baud'), 'baud', 300),
    seed: intOption(str(values, 'seed'), 'seed', 0),
    flash: str(values, 'flash'),
    caOut,
    scenario: str(values, 'scenario'),
    faultFlags: faultFlags(values),
    verbosity: flag(values, 'quiet') ? 'quiet' : flag(values, 'verbose') ? 'verbose' : 'normal',
    trace: str(values, 'trace'),
    ui,
  };
}

/** Runs until SIGINT/SIGTERM, then shuts the emulator down cleanly. */
async function runEmulate(parsed: Parsed): Promise<number> {
  const options = emulateOptions(parsed);
  // Listen for the signals before the `listening` line goes out: a supervisor that stops us as
  // soon as it reads that line must get a clean shutdown, not the default kill.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const { startEmulator } = await import('./emulate.js');
  const running = await startEmulator(options, (line) => console.log(line));
  await stopped;
  await running.close();
  return 0;
}

export const EMULATE: Command = {
  name: 'emulate',
  summary: 'run an emulated coprocessor on TCP, a pty or RFC 2217 until Ctrl-C',
  options: EMULATE_OPTIONS,
  notes: `Prints one line per attachment point as soon as it is ready:
  listening socket://127.0.0.1:41234
  pty /dev/pts/5
  ui http://127.0.0.1:41236/        (with --ui)
Each transport serves one host at a time. Ctrl-C or SIGTERM shuts it down cleanly.`,
  run: runEmulate,
};

/** `parseEmulateArgs(['--protocol', 'at'])` → the options `emulate` would start with. */
export function parseEmulateArgs(args: string[]): EmulateOptions {
  return emulateOptions(parseCommandLine(EMULATE, args));
}

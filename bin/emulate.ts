/**
 * `netcoproc emulate`: one emulated coprocessor, attached to the transports asked for. Prints
 * one line per attachment point as soon as it is ready (`listening socket://127.0.0.1:41234`,
 * `pty /dev/pts/5`) and shuts down cleanly on SIGINT/SIGTERM.
 */
import { renameSync, type Stats, statSync, writeFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
// Each module from its own file, not the emulator/index.js barrel (which also loads the live
// page, the trace writer and the test transports), and pty, RFC 2217 and the fixture PKI only
// when asked for: what `emulate` loads before its `listening` line is what it runs (docs/package.md).
import type { AtVersion } from '../emulator/at/versions.js';
import { createEmulator, type Emulator, type EmulatorOptions } from '../emulator/emulator.js';
import {
  type FaultEvent,
  type FaultFlags,
  type FaultScenario,
  parseScenario,
  readScenarioFile,
  withFlags,
} from '../emulator/faults/index.js';
import { loadHostsFile } from '../emulator/network/hosts.js';
import { joinNamedNetwork } from '../emulator/network/named.js';
import { type NetworkPki, pkiOnDemand } from '../emulator/network/services/https.js';
import { SlipPersonality } from '../emulator/slip/personality.js';
import type { PortChange } from '../emulator/transports/rfc2217-session.js';
import { listenTcp } from '../emulator/transports/tcp.js';
import { Observation, type Verbosity } from './emulate-observe.js';

export interface EmulateOptions {
  protocol: 'slip' | 'at';
  /** ESP-AT release for `protocol: 'at'` (default 4.1). */
  atVersion?: AtVersion;
  profile: string;
  listen: string[];
  pty: string | true | undefined;
  /** RFC 2217 port on 127.0.0.1 (0 = pick one); undefined = none. */
  rfc2217?: number;
  network: 'virtual' | 'host';
  /** Join (or host) the named virtual network shared with other emulator processes. */
  join?: string;
  config?: string;
  baud?: number;
  seed?: number;
  /** A directory that holds the board's `/flash` files; default in memory. */
  flash?: string;
  /** Write the virtual network's CA certificate (PEM) here once it is made, then print `ca FILE`. */
  caOut?: string;
  /** A fault scenario file (emulator/faults; format in fixtures/scenarios/README.md). */
  scenario?: string;
  /** Shorthand fault flags, laid over the scenario. */
  faultFlags?: FaultFlags;
  /** stderr lines: failures only, the default (attach, detach, faults), or every serial exchange too. */
  verbosity?: Verbosity;
  /** Record the serial line, the network and the faults in this pcapng file. */
  trace?: string;
  /** Serve the live page on 127.0.0.1 at this port (0 = any free one). */
  ui?: number;
}

/**
 * The scenario file with the shorthand flags laid over it (`--baud` too, so the line is paced
 * once), validated; undefined when no fault was asked for.
 */
export function faultScenario(o: EmulateOptions): FaultScenario | undefined {
  const merged = withFlags(o.scenario ? readScenarioFile(o.scenario) : undefined, o.faultFlags ?? {});
  if (!merged) return undefined;
  const withBaud = o.baud ? { ...merged, line: { ...merged.line, baud: o.baud } } : merged;
  return parseScenario(withBaud, o.scenario ?? '(command-line flags)');
}

/** The live page's hang and corrupt buttons need the faulty line: an empty scenario gives it. */
function uiScenario(o: EmulateOptions): FaultScenario | undefined {
  if (o.ui === undefined) return undefined;
  return parseScenario(o.baud ? { line: { baud: o.baud } } : {}, '(--ui)');
}

/** `faults injected: corrupt 12, drop 9` (or `none`). */
export function faultSummary(emulator: Emulator): string {
  const parts = Object.entries(emulator.faults.summary()).map(([kind, n]) => `${kind} ${n}`);
  return `faults injected: ${parts.length ? parts.join(', ') : 'none'}`;
}

/** Device and network faults are rare and worth a line; line faults are counted at exit. */
function describeFault(e: FaultEvent): string | undefined {
  if (e.dir === 'hostToDevice' || e.dir === 'deviceToHost') {
    if (e.kind !== 'reboot' && e.kind !== 'hang') return undefined;
    return `fault: ${e.kind} after ${e.offset} bytes ${e.dir === 'hostToDevice' ? 'host→device' : 'device→host'}`;
  }
  if (e.dir === 'network' && e.kind.startsWith('udp-')) return undefined;
  return `fault: ${e.kind}${e.host ? ` ${e.host}` : ''}${e.offset !== undefined ? ` at byte ${e.offset}` : ''}`;
}

export interface RunningEmulator {
  emulator: Emulator;
  lines: string[];
  close(): Promise<void>;
}

/** Parses `tcp://HOST:PORT` (port 0 = pick one). */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d{1,5})$/.exec(spec);
  if (!m) throw new Error(`--listen expects tcp://HOST:PORT, got '${spec}'`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`--listen: port ${port} out of range`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/** `921600 8N1`-style text of a UART setting from either personality. */
function describeUart(u: object): string {
  // SLIP: baudRate/dataBits/parity/stopBits; ESP-AT: baudrate/databits/parity/stopbits (3 = 2 bits).
  const v = u as Record<string, number | undefined>;
  const parity = 'NOEMS'[v.parity ?? 0] ?? '?';
  const stop = v.stopBits ?? (v.stopbits === 3 ? 2 : (v.stopbits ?? 1));
  return `${v.baudRate ?? v.baudrate} ${v.dataBits ?? v.databits ?? 8}${parity}${stop}`;
}

/** `baud 921600`, `dtr off`, `parity even`: one stderr line per port change a host made. */
export function describeChange(c: PortChange): string {
  const names: Record<PortChange['key'], string> = {
    baudRate: 'baud',
    dataBits: 'data bits',
    parity: 'parity',
    stopBits: 'stop bits',
    flowControl: 'flow control',
    dtr: 'dtr',
    rts: 'rts',
    break: 'break',
  };
  const value = typeof c.value === 'boolean' ? (c.value ? 'on' : 'off') : String(c.value);
  return `${names[c.key]} ${value}`;
}

/** `--flash DIR` must be a directory (or not exist yet: the file store creates it). */
function checkFlashDir(dir: string): void {
  let st: Stats | undefined;
  try {
    st = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`--flash ${dir}: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) throw new Error(`--flash ${dir}: not a directory`);
}

/** Writes the CA certificate whole or not at all (a reader never sees half a PEM). */
function writeCa(file: string, pem: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, pem);
  renameSync(tmp, file);
}

/** A transport that failed to start, said with the option that asked for it. */
function transportError(option: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  return new Error(`${option}: ${e.message ?? String(err)}`);
}

/**
 * Opens the transports asked for on `line`, each with its attach/detach/busy lines; pushes
 * their closers (so a failure half-way closes what opened) and returns their drop-host actions.
 */
async function openTransports(
  o: EmulateOptions,
  line: Duplex,
  emulator: Emulator,
  seen: Observation,
  say: (text: string) => void,
  closers: (() => Promise<void>)[],
): Promise<(() => boolean)[]> {
  const log = seen.log;
  const drops: (() => boolean)[] = [];
  for (const spec of o.listen) {
    let via = spec; // the chosen port once listening
    const t = await listenTcp(line, {
      ...parseListen(spec),
      onAttach: (peer) => seen.attached(peer, via),
      onDetach: (peer) => seen.detached(peer, via),
      onBusy: (peer) => seen.busy(peer, via),
    }).catch((err) => {
      throw transportError(`--listen ${spec}`, err);
    });
    via = t.url;
    closers.push(() => t.close());
    drops.push(() => t.dropHost());
    say(`listening ${t.url}`);
  }
  if (o.rfc2217 !== undefined) {
    const { listenRfc2217 } = await import('../emulator/transports/rfc2217.js');
    const t = await listenRfc2217(line, {
      port: o.rfc2217,
      onAttach: (peer) => seen.attached(peer, 'rfc2217'),
      onDetach: (peer) => seen.detached(peer, 'rfc2217'),
      onBusy: (peer) => seen.busy(peer, 'rfc2217'),
      onChange: (change) => log.info(`rfc2217: ${describeChange(change)}`),
      // The ESP auto-reset circuit let the chip out of reset (esptool's RTS pulse): power-cycle it.
      onReset: () => {
        log.info('rfc2217: reset');
        emulator.reboot();
      },
    }).catch((err) => {
      throw transportError(`--rfc2217 ${o.rfc2217}`, err);
    });
    closers.push(() => t.close());
    drops.push(() => t.dropHost());
    say(`listening ${t.url}`);
  }
  if (o.pty) {
    const events = {
      onAttach: (peer: string) => seen.attached(peer, 'pty'),
      onDetach: (peer: string) => seen.detached(peer, 'pty'),
      keptNothing: emulator.uartKeptNothing,
      // Only as the UART's one reader: another transport would get the same chunks.
      outputDone: o.listen.length === 0 && o.rfc2217 === undefined ? emulator.recycleUartOutput() : undefined,
    };
    const { openPty } = await import('../emulator/transports/pty.js');
    const p = await openPty(line, { ...(typeof o.pty === 'string' ? { link: o.pty } : {}), ...events }).catch((err) => {
      throw transportError(`--pty${typeof o.pty === 'string' ? ` ${o.pty}` : ''}`, err);
    });
    closers.push(() => p.close());
    say(`pty ${p.path}`);
  }
  return drops;
}

/**
 * The virtual network's PKI, made afresh at every start, never stored, and only on first need:
 * the first https connection or /flash request (so the first TLS handshake includes its
 * ~0.5 s of CPU), or at once after the `listening` lines when --ca-out asks for the CA (those
 * lines must come at once: `ca FILE` says when it is written). Loading @peculiar/x509 is most of
 * its cost, synchronous CPU work that stalled the first seconds of every session while it ran in
 * the background (docs/performance.md).
 */
function fixturePki(o: EmulateOptions): {
  pki: (() => Promise<NetworkPki>) | undefined;
  writeCaOut: () => Promise<void> | undefined;
} {
  const make = (): Promise<NetworkPki> =>
    import('../fixtures/certs/index.js')
      .then(({ generateFixturePki }) => generateFixturePki())
      .catch((err: Error) => {
        process.stderr.write(`fixture PKI failed, https hosts will reset: ${err.message}\n`);
        throw err;
      });
  const pki = o.network === 'virtual' ? pkiOnDemand(make) : undefined;
  const writeCaOut = () => (o.caOut && pki ? pki().then((p) => writeCa(o.caOut as string, p.ca)) : undefined);
  return { pki, writeCaOut };
}

/** The emulated board, its events reported through `seen` (logs, faults, UART changes, forwards). */
function createBoard(
  o: EmulateOptions,
  seen: Observation,
  where: Pick<EmulatorOptions, 'network' | 'nic' | 'faults' | 'pki' | 'baud'>,
  print: (line: string) => void,
): Emulator {
  const log = seen.log;
  let board: Emulator | undefined;
  const emulator = createEmulator({
    ...where,
    // Served over a pty or a socket: one write per turn of the loop.
    outputPerTurn: true,
    observers: seen.observers,
    onFault: (e) => seen.fault(e, describeFault(e), board),
    protocol: o.protocol,
    atVersion: o.atVersion,
    profile: o.profile,
    seed: o.seed,
    flash: o.flash === undefined ? undefined : { dir: o.flash },
    onBadFrame: (reason) => log.info(`bad frame from host: ${reason}`),
    onCommandError: (reason) => log.info(`AT command failed: ${reason}`),
    onUartConfig: (u) => log.info(`uart ${describeUart(u)}`),
    // A device-side listener is reachable from this machine: say where (like QEMU hostfwd).
    onForward: (f) => print(`forward tcp ${f.ip}:${f.port} -> 127.0.0.1:${f.forwardPort}`),
  });
  board = emulator;
  // SLIP's UART_CONFIG: the same report as AT+UART_CUR's.
  emulator.personality.on('uart-config', (u: object) => {
    if (emulator.personality instanceof SlipPersonality) log.info(`uart ${describeUart(u)}`);
  });
  return emulator;
}

export async function startEmulator(o: EmulateOptions, print: (line: string) => void): Promise<RunningEmulator> {
  if (o.flash !== undefined) checkFlashDir(o.flash);
  const hosts = o.config ? loadHostsFile(o.config) : undefined;
  const { pki, writeCaOut } = fixturePki(o);
  const netOpts = { mode: o.network, ...(hosts ? { hosts } : {}), pki };
  const seen = await Observation.open({ ...o, baud: o.baud });
  const log = seen.log;
  // Several processes can share one virtual network: the first to join hosts it.
  const named = o.join ? await joinNamedNetwork(o.join, netOpts) : undefined;
  const faults = faultScenario(o) ?? uiScenario(o);
  // With faults the scenario paces the line (below the faults); without, the board paces its UART.
  const baud = faults ? undefined : o.baud;
  const emulator = createBoard(
    o,
    seen,
    { network: named?.network ?? netOpts, nic: named?.nic, faults, pki, baud },
    print,
  );
  const line: Duplex = emulator.uart;
  if (named) print(`network ${o.join} ${named.network ? 'hosted' : 'joined'}, device ${emulator.nic.ip}`);
  const lines: string[] = [];
  const say = (text: string): void => {
    lines.push(text);
    print(text);
    seen.transport(text);
  };
  const closers: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await seen.close();
    await emulator.close();
    await named?.close();
  };
  try {
    const drops = await openTransports(o, line, emulator, seen, say, closers);
    const ui = await seen.startUi(emulator, () => drops.some((drop) => drop()));
    if (ui) say(ui);
  } catch (err) {
    await stop();
    throw err;
  }
  setImmediate(() =>
    writeCaOut()?.then(
      () => say(`ca ${o.caOut}`),
      (err: Error) => process.stderr.write(`--ca-out ${o.caOut}: ${err.message}\n`),
    ),
  );
  return {
    emulator,
    lines,
    async close() {
      await stop();
      if (faults) log.info(faultSummary(emulator));
    },
  };
}

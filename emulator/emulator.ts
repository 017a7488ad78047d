/**
 * An emulated coprocessor: a profile, a virtual network, and a firmware personality whose
 * UART (a Duplex) transports attach to. In-process use hands `uart` straight to host-lib.
 *
 * ```ts
 * const emu = createEmulator({ profile: 'wipy' });
 * const dev = await openDevice(emu.uart);
 * ```
 */
import type { Duplex } from 'node:stream';
import { AtPersonality, type AtTiming, type AtVersion, type UartConfig } from './at/index.js';
import {
  type AtQuirks,
  FaultControl,
  type FaultEvent,
  type FaultScenario,
  FaultTrace,
  prepareFaults,
  resolveScenario,
} from './faults/index.js';
import { FileStore, type FileStoreOptions } from './files/index.js';
import {
  type NetInterface,
  type PkiSource,
  pkiOnDemand,
  VirtualNetwork,
  type VirtualNetworkOptions,
} from './network/index.js';
import { type EmulatorObserver, faultFanOut, observedNic, observedUart } from './observe/observer.js';
import { getProfile, type Profile } from './profiles.js';
import { makeRandom, type Random } from './random.js';
import { type Forward, SlipPersonality } from './slip/personality.js';
import { paceDuplex } from './transports/pace.js';
import { asLine } from './uart-line.js';

export interface EmulatorOptions {
  /** Firmware personality: 'slip' (our RPC, default) or 'at' (Espressif ESP-AT). */
  protocol?: 'slip' | 'at';
  /** Default `wipy` for slip, `esp-at` for at. */
  profile?: string;
  /** ESP-AT release to play with `protocol: 'at'` (default '4.1'). */
  atVersion?: AtVersion;
  /** ESP-AT delays (Wi-Fi join, connect deadline, ping timeout, SNTP sync). */
  atTiming?: Partial<AtTiming>;
  /** ESP-AT: AT+UART_CUR/DEF changed the line settings. */
  onUartConfig?: (uart: UartConfig) => void;
  /** ESP-AT: each ERROR the board answers, with its reason. */
  onCommandError?: (message: string) => void;
  /** A network to join (shared between devices) or options for a new one. */
  network?: VirtualNetwork | VirtualNetworkOptions;
  /** Seeds every random choice (nonces, faults, jitter); default: the scenario's `seed`, else crypto-random. */
  seed?: number;
  /**
   * Fault injection (emulator/faults): a scenario, or the path of a scenario JSON file. With it,
   * `uart` is a faulty line around the personality and `faults` controls line and network too;
   * `{}` injects nothing but gives that control.
   */
  faults?: FaultScenario | string;
  /** Called for every injected fault. */
  onFault?: (e: FaultEvent) => void;
  /**
   * Pace the UART like a real 8N1 line at this baud (a fault scenario's `line.baud` paces instead).
   * The pacer sits right on the personality, below the asynchronous line of uart-line.ts: paced
   * above it, the line's 64 KiB buffer held up to 20 KiB of frames (1.7 s at 115200) ahead of
   * every acknowledgement, which the personality's output queue would otherwise let overtake.
   */
  baud?: number;
  /**
   * Device output leaves `uart` only on turns of the event loop, a turn's output joined (what
   * `netcoproc emulate` uses: one write per turn to its pty or socket). Default: it reaches an
   * in-process host on nextTick, without waiting for a turn (docs/performance.md).
   */
  outputPerTurn?: boolean;
  /** ESP-AT quirks to play (default: the scenario's `at.quirks`). */
  atQuirks?: AtQuirks;
  /**
   * TLS material (e.g. the fixture PKI), a promise of it, or a function that makes it on first
   * need (the first https connection or file request; never for a board that uses neither): a new
   * network serves its https hosts with it, and the board is pre-provisioned with its CA as
   * `/flash/cert/ca.pem`. Without it https hosts refuse.
   */
  pki?: PkiSource;
  /** The board's file store: `{ dir }` keeps it in a directory of this machine; default in memory. */
  flash?: FileStoreOptions;
  /** Device-side TLS handshakes give up after this long with ESECHANDSHAKETIMEDOUT (default: the profile's, 10 s). */
  tlsHandshakeTimeoutMs?: number;
  /** TCP connects to a peer that never answers fail with ETIMEDOUT after this long (default: the profile's). */
  connectTimeoutMs?: number;
  onBadFrame?: (reason: string) => void;
  /** Use this attachment instead of attaching to `network` (see joinNamedNetwork). */
  nic?: NetInterface;
  /** Called when a device listener is forwarded to a loopback port. */
  onForward?: (f: Forward) => void;
  /** Watchers of the board (live view, trace): its line, network and faults. None costs nothing. */
  observers?: readonly EmulatorObserver[];
}

export interface Emulator {
  readonly profile: Profile;
  readonly network: VirtualNetwork;
  /** This board's attachment: its virtual address is `nic.ip`. */
  readonly nic: NetInterface;
  /** Listeners forwarded to loopback ports so far. */
  readonly forwards: Forward[];
  /** The device's UART: write host bytes into it, read device bytes from it. */
  readonly uart: Duplex;
  readonly personality: SlipPersonality | AtPersonality;
  /** Fault injection at a precise moment, and the trace of every fault injected. */
  readonly faults: FaultControl;
  /** The board's file store (`/flash`); it survives reboot(). */
  readonly files: FileStore;
  /**
   * Whether everything written to `uart` so far was taken in before write() returned, none of it
   * kept: the SLIP personality's decoder copies what it keeps, so this holds for it with no pacer,
   * fault rig or observer in between and nothing waiting in either stream. A writer may then reuse
   * its buffer (the pty transport's read buffer, docs/performance.md item 32).
   */
  uartKeptNothing(): boolean;
  /**
   * Device output cut from memory used again (docs/performance.md item 32), for a transport that
   * is the UART's only reader and reports every chunk it reads once it has written, copied or
   * dropped it: returns that report. Undefined where the output is not the SLIP personality's own
   * on a direct line (see uartKeptNothing).
   */
  recycleUartOutput(): ((chunk: Uint8Array) => void) | undefined;
  /** Power-cycles the emulated board (new boot nonce; every socket is gone). */
  reboot(): void;
  close(): Promise<void>;
}

export function createEmulator(opts: EmulatorOptions = {}): Emulator {
  // A bad scenario fails here, before anything is started.
  const scenario = opts.faults === undefined ? undefined : resolveScenario(opts.faults);
  const profile = resolveProfile(opts);
  const ownNetwork = !(opts.network instanceof VirtualNetwork);
  const network =
    opts.network instanceof VirtualNetwork
      ? opts.network
      : new VirtualNetwork({ ...opts.network, pki: opts.pki ?? opts.network?.pki });
  // A network of our own made from opts.pki: its PKI (asked for once) is the one the file holds.
  const files = provision(new FileStore(opts.flash), (ownNetwork ? network.pki : opts.pki) ?? network.pki);
  const random = makeRandom(opts.seed ?? scenario?.seed);
  const observers = opts.observers ?? [];
  const onFault = faultFanOut(opts.onFault, observers);
  // A board joining a named network in another process brings its attachment along.
  const attached = opts.nic ?? network.attach();
  const rig = scenario && prepareFaults(scenario, random, attached, onFault);
  const nic = observedNic(rig?.nic ?? attached, observers);
  const atQuirks = opts.atQuirks ?? scenario?.at?.quirks;
  const forwards: Forward[] = [];
  const onForward = (f: Forward) => {
    forwards.push(f);
    opts.onForward?.(f);
  };
  const personality = createPersonality(opts, {
    profile,
    nic,
    hosts: network.hosts,
    random,
    files,
    onForward,
    atQuirks,
    baud: scenario?.line?.baud ?? opts.baud,
  });
  const rigged = rig?.attach(personality);
  const faults = rigged?.control ?? new FaultControl(personality, { trace: new FaultTrace(onFault) });
  const paced = rigged?.uart ?? paceDuplex(personality, opts.baud);
  const observed = observedUart(paced, observers);
  const { uart, uartKeptNothing, recycleUartOutput } = directLine(personality, observed, opts.outputPerTurn);
  return {
    profile,
    network,
    nic,
    forwards,
    uart,
    personality,
    files,
    faults,
    uartKeptNothing,
    recycleUartOutput,
    reboot: () => faults.reboot(),
    async close() {
      faults.close();
      uart.destroy();
      if (observed !== paced) observed.destroy();
      if (!rigged && paced !== personality) paced.destroy();
      rigged?.uart.destroy();
      rigged?.line.destroy();
      personality.destroy();
      await nic.close();
      if (ownNetwork) await network.close();
    },
  };
}

/**
 * The line around the board's UART, and what a transport may skip on it when the UART is the SLIP
 * personality itself (no pacer, fault rig or line observer between): see uartKeptNothing and
 * recycleUartOutput.
 */
function directLine(
  personality: SlipPersonality | AtPersonality,
  observed: Duplex,
  perTurn: boolean | undefined,
): Pick<Emulator, 'uart' | 'uartKeptNothing' | 'recycleUartOutput'> {
  const slip = personality instanceof SlipPersonality && observed === personality ? personality : undefined;
  let outputDone: ((chunk: Uint8Array) => void) | undefined;
  const uart = asLine(observed, perTurn, (part) => outputDone?.(part));
  return {
    uart,
    uartKeptNothing: () => slip !== undefined && uart.writableLength === 0 && slip.writableLength === 0,
    recycleUartOutput() {
      if (slip) outputDone ??= slip.recycleOutput();
      return outputDone;
    },
  };
}

/** The named profile (by protocol when none is named) with the options' timeouts over it. */
function resolveProfile(opts: EmulatorOptions): Profile {
  const base = getProfile(opts.profile ?? (opts.protocol === 'at' ? 'esp-at' : 'wipy'));
  return {
    ...base,
    tlsHandshakeTimeoutMs: opts.tlsHandshakeTimeoutMs ?? base.tlsHandshakeTimeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs ?? base.connectTimeoutMs,
  };
}

interface PersonalityParts {
  profile: Profile;
  nic: NetInterface;
  hosts: VirtualNetwork['hosts'];
  random: Random;
  files: FileStore;
  onForward: (f: Forward) => void;
  atQuirks: EmulatorOptions['atQuirks'];
  /** The line's speed when paced (here or by the fault scenario). */
  baud: number | undefined;
}

/** The device side that speaks the wire protocol the options ask for. */
function createPersonality(opts: EmulatorOptions, p: PersonalityParts): SlipPersonality | AtPersonality {
  if (opts.protocol !== 'at') {
    const { profile, nic: network, onForward, random, files, baud } = p;
    return new SlipPersonality({ profile, network, onForward, random, files, onBadFrame: opts.onBadFrame, baud });
  }
  return new AtPersonality({
    ...{ profile: p.profile, network: p.nic, hosts: p.hosts, random: p.random, files: p.files },
    ...{ version: opts.atVersion, timing: opts.atTiming, onForward: p.onForward },
    ...{ onUartConfig: opts.onUartConfig, onCommandError: opts.onCommandError },
    ...(p.atQuirks ? { quirks: p.atQuirks } : {}),
  });
}

/**
 * The board ships with the network's CA as `/flash/cert/ca.pem` (ARCHITECTURE §4), so
 * CERT_REQUIRED works out of the box. Its content is made before the store's first request, so
 * that request already sees the file, and a board whose host never uses files or TLS never makes
 * a PKI. Without a CA (generation failed) the file is simply absent.
 */
function provision(files: FileStore, source: PkiSource | undefined): FileStore {
  if (source) {
    const pki = pkiOnDemand(source);
    // A failure leaves the file out with a warning, as the store says.
    files.provisionOnDemand('/flash/cert/ca.pem', () => pki().then((p) => new TextEncoder().encode(p.ca)));
  }
  return files;
}

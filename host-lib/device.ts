/**
 * openDevice: one coprocessor, its driver, and the MicroPython modules bound to it.
 *
 * ```ts
 * const dev = await openDevice('socket://127.0.0.1:7777');                 // SLIP RPC (default)
 * const at = await openDevice('/dev/ttyUSB0', { protocol: 'at' });         // stock ESP-AT firmware
 * const any = await openDevice('/dev/ttyUSB0', { protocol: 'auto' });      // SLIP hello, else AT
 * const s = await dev.socket.socket();
 * ```
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  BUSY_NOTE,
  BUSY_TEXT,
  errno as E,
  ERRNO_TABLE,
  TLS_ERRNO_TABLE,
  type TlsErrnoName,
} from '../firmware-protocol/index.js';
import { AtDriver, type AtDriverOptions } from './at/at-driver.js';
import { tapLink } from './at/tap.js';
import type { Driver, DriverEvent, FileStore, NetworkModule } from './driver.js';
import { OSError } from './errors.js';
import { createNodeModules, type NodeModules } from './node/index.js';
import { type SelectModule, selectModule } from './select.js';
import { SlipDriver, type SlipDriverOptions } from './slip/slip-driver.js';
import { createSocketModule, type SocketModule } from './socket-module.js';
import { createSslModule, type SslModule } from './ssl.js';
import { type TracedLink, traceLink } from './trace.js';
import { namingLocator } from './transports/open-error.js';
import { closeTransport, followBaudRate, openTransport, pulseReset, type SerialOptions } from './transports.js';

export interface OpenOptions extends SerialOptions, SlipDriverOptions, AtDriverOptions {
  /** Wire protocol (default 'slip'); 'auto' tries a SLIP hello first, then `AT` → `OK`. */
  protocol?: 'slip' | 'at' | 'auto';
  /** With 'auto': how long the SLIP hello may take before AT is tried, ms (default 700). */
  autoSlipTimeoutMs?: number;
  /** Records the serial conversation in this pcapng file (Wireshark: firmware-protocol/wireshark/netcoproc.lua). */
  trace?: string;
}

/** MicroPython's errno names, plus the TLS failures (WiPy/SimpleLink numbers, docs/tls.md). */
export type ErrnoModule = Readonly<Record<(typeof ERRNO_TABLE)[number][0] | TlsErrnoName, number>> & {
  errorcode: Readonly<Record<number, string>>;
};

const ERRNO_ROWS: [string, number][] = [
  ...ERRNO_TABLE.map(([name, linux]): [string, number] => [name, linux]),
  ...TLS_ERRNO_TABLE.map(([name, n]): [string, number] => [name, n]),
];

export const errnoModule: ErrnoModule = Object.freeze({
  ...Object.fromEntries(ERRNO_ROWS),
  errorcode: Object.freeze(Object.fromEntries(ERRNO_ROWS.map(([name, n]) => [n, name]))),
}) as ErrnoModule;

const FORWARDED_EVENTS: readonly DriverEvent[] = ['reset', 'hang', 'ready', 'bad-frame', 'error', 'stray'];

/**
 * One coprocessor. `D` is its driver; the default names the SLIP driver (the default
 * protocol), so `let dev: Device` keeps SLIP-only members such as `dev.driver.session`;
 * an ESP-AT device is a `Device<AtDriver>`, an 'auto' one a `Device<Driver>`.
 */
export class Device<D extends Driver = SlipDriver> extends EventEmitter {
  readonly socket: SocketModule;
  /** TLS: device-side for IPPROTO_SEC sockets, host-side (node:tls) for plain ones; see ssl.ts. */
  readonly ssl: SslModule;
  readonly select: SelectModule = selectModule;
  readonly errno: ErrnoModule = errnoModule;
  readonly OSError = OSError;
  /** Node-native sockets through the board (ARCHITECTURE §6, docs/node.md). */
  readonly net: NodeModules['net'];
  readonly tls: NodeModules['tls'];
  readonly http: NodeModules['http'];
  readonly https: NodeModules['https'];
  /** WHATWG fetch through the board (undici), and its default dispatcher. */
  readonly fetch: NodeModules['fetch']['fetch'];
  private readonly nodeModules: NodeModules;

  constructor(
    readonly driver: D,
    private readonly transport: Duplex,
  ) {
    super();
    this.socket = createSocketModule(driver);
    this.nodeModules = createNodeModules(this.socket, driver);
    ({ net: this.net, tls: this.tls, http: this.http, https: this.https } = this.nodeModules);
    this.fetch = this.nodeModules.fetch.fetch;
    // Host-side TLS may read `/flash/…` certificates from the coprocessor's store, where it has one.
    const files = driver.files;
    this.ssl = createSslModule(files ? (path) => files.read(path) : undefined);
    // An 'error' nobody listens for is dropped rather than thrown: sockets already fail loudly.
    for (const ev of FORWARDED_EVENTS) {
      driver.on?.(ev, (arg) => (ev !== 'error' || this.listenerCount('error') > 0 ? this.emit(ev, arg) : false));
    }
  }

  get dispatcher(): NodeModules['fetch']['dispatcher'] {
    return this.nodeModules.fetch.dispatcher;
  }

  /** The profile the coprocessor announced (e.g. 'wipy', 'esp-at'). */
  get profile(): string {
    return this.driver.profile;
  }

  /** MicroPython's `network` module (WLAN); OSError(EOPNOTSUPP) where the driver has none. */
  get network(): NetworkModule {
    const n = this.driver.network;
    if (!n) throw new OSError(E.EOPNOTSUPP, `network.WLAN is not available with the ${this.profile} driver`);
    return n;
  }

  /** The coprocessor's file store (`/flash`, certificates); OSError(EOPNOTSUPP) where the driver has none (AT). */
  get files(): FileStore {
    const files = this.driver.files;
    if (!files) throw new OSError(E.EOPNOTSUPP, `the ${this.profile} driver has no file store`);
    return files;
  }

  /**
   * Switches the serial line to another speed, in agreement with the coprocessor: the device is
   * told first (SLIP UART_CONFIG, or AT+UART_CUR on ESP-AT) and answers at the old speed, then the
   * local port follows (serialport `update`, or RFC 2217 SET-BAUDRATE). Over socket:// or
   * in-process there is no local port to change.
   *
   * ```ts
   * await dev.setBaudRate(921600);
   * ```
   */
  async setBaudRate(baudRate: number): Promise<void> {
    if (!Number.isInteger(baudRate) || baudRate < 300)
      throw new RangeError(`baudRate: ${baudRate} is not a valid speed`);
    if (!this.driver.setLineSpeed) throw new OSError(E.EOPNOTSUPP, 'this driver cannot change the line speed');
    await this.driver.setLineSpeed(baudRate);
    await followBaudRate(this.transport, baudRate);
  }

  /**
   * Resets the board through its modem lines the way esptool's classic hard reset does (the ESP
   * auto-reset circuit: RTS holds EN low while DTR is released, then RTS lets go). Works on a real
   * serial port and over rfc2217://; a pty or socket:// has no modem lines and says so clearly.
   * The coprocessor restarts: open sockets fail with ECONNRESET and the device emits 'reset'.
   */
  async resetBoard(pulseMs = 100): Promise<void> {
    await pulseReset(this.transport, pulseMs);
  }

  /** Closes every socket, then the transport; emits 'closed' once it is released. */
  async close(): Promise<void> {
    try {
      await this.nodeModules.fetch.close();
      await this.driver.close();
    } finally {
      // The port is released even when the driver's goodbye failed (a board that stopped answering).
      await closeTransport(this.transport);
      this.emit('closed');
    }
  }
}

/**
 * The driver `openDevice` gives for its options: SlipDriver by default or with
 * `protocol: 'slip'`, AtDriver with `protocol: 'at'`, either (Driver) with 'auto'.
 */
export type DriverFor<O> = 'protocol' extends keyof O
  ? O[keyof O & 'protocol'] extends 'slip' | undefined
    ? SlipDriver
    : O[keyof O & 'protocol'] extends 'at'
      ? AtDriver
      : Driver
  : SlipDriver;

/** Opens a coprocessor by locator (device path, socket://host:port) or an open Duplex. */
export async function openDevice<O extends OpenOptions = Record<never, never>>(
  locator: string | Duplex,
  opts: O = {} as O,
): Promise<Device<DriverFor<O>>> {
  const protocol = opts.protocol ?? 'slip';
  if (!['slip', 'at', 'auto'].includes(protocol)) {
    throw new TypeError(`protocol: expected 'slip', 'at' or 'auto', got '${protocol}'`);
  }
  const transport = await openTransport(locator, opts);
  // With a trace the driver talks to a tap; the Device keeps the transport itself (baud, modem lines).
  const traced = opts.trace ? traceOrRelease(transport, opts.trace, protocol) : undefined;
  // The driver takes the transport's 'data' synchronously; the watcher only peeks at the first bytes.
  const opening = openDriver(traced?.stream ?? transport, protocol, opts);
  const busy = watchBusyNote(transport);
  try {
    const driver = (await opening) as DriverFor<O>;
    const dev = new Device(driver, transport);
    if (traced) dev.once('closed', () => traced.close());
    return dev;
  } catch (err) {
    traced?.close();
    transport.destroy();
    if (busy()) throw new OSError(E.EBUSY, `${describeLocator(locator)}: ${BUSY_TEXT}`);
    throw typeof locator === 'string' ? namingLocator(locator, err) : err;
  } finally {
    busy.stop();
  }
}

/** The trace around `transport`; a file that cannot be created releases the transport first. */
function traceOrRelease(transport: Duplex, path: string, protocol: 'slip' | 'at' | 'auto'): TracedLink {
  try {
    return traceLink(transport, path, protocol);
  } catch (err) {
    transport.destroy();
    throw err;
  }
}

function describeLocator(locator: string | Duplex): string {
  return typeof locator === 'string' ? locator : 'the coprocessor';
}

/**
 * Notices a serial-over-TCP port that refused us because another host is attached (it sends
 * {@link BUSY_NOTE} and closes): the driver then fails with a bare "transport closed", which the
 * caller turns into OSError(EBUSY) with the port's own words.
 */
function watchBusyNote(transport: Duplex): (() => boolean) & { stop(): void } {
  let head = '';
  const onData = (chunk: Uint8Array) => {
    head += Buffer.from(chunk).toString('latin1');
    if (head.length >= BUSY_NOTE.length) transport.off('data', onData);
  };
  transport.on('data', onData);
  const seen = () => head.length >= 16 && head.startsWith(BUSY_NOTE.slice(0, Math.max(head.length, 16)));
  return Object.assign(seen, { stop: () => transport.off('data', onData) });
}

async function openDriver(transport: Duplex, protocol: OpenOptions['protocol'], opts: OpenOptions): Promise<Driver> {
  if (protocol === 'slip') return SlipDriver.open(transport, opts);
  if (protocol === 'at') return AtDriver.open(transport, opts);
  // auto: a SLIP hello with a short deadline on a detachable tap, then ESP-AT on the bare transport.
  const { tap, detach } = tapLink(transport);
  try {
    return await SlipDriver.open(tap, { ...opts, helloTimeoutMs: opts.autoSlipTimeoutMs ?? 700 });
  } catch {
    detach();
    try {
      return await AtDriver.open(transport, opts);
    } catch (err) {
      throw new OSError(
        E.ETIMEDOUT,
        `no coprocessor answered: neither a SLIP hello nor AT (${(err as Error).message})`,
      );
    }
  }
}

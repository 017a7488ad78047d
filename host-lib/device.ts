/**
 * openDevice: one coprocessor, its driver, and the MicroPython modules bound to it.
 *
 * ```ts
 * const dev = await openDevice('socket://127.0.0.1:7777');
 * const s = await dev.socket.socket();
 * ```
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ERRNO_TABLE } from '../firmware-protocol/index.js';
import { OSError } from './errors.js';
import { selectModule, type SelectModule } from './select.js';
import { SlipDriver, type SlipDriverOptions } from './slip/slip-driver.js';
import { createSocketModule, type SocketModule } from './socket-module.js';
import { openTransport, type SerialOptions } from './transports.js';

export interface OpenOptions extends SerialOptions, SlipDriverOptions {
  protocol?: 'slip' | 'at' | 'auto';
}

export type ErrnoModule = Readonly<Record<(typeof ERRNO_TABLE)[number][0], number>> & {
  errorcode: Readonly<Record<number, string>>;
};

export const errnoModule: ErrnoModule = Object.freeze({
  ...Object.fromEntries(ERRNO_TABLE.map(([name, linux]) => [name, linux])),
  errorcode: Object.freeze(Object.fromEntries(ERRNO_TABLE.map(([name, linux]) => [linux, name]))),
}) as ErrnoModule;

export class Device extends EventEmitter {
  readonly socket: SocketModule;
  readonly select: SelectModule = selectModule;
  readonly errno: ErrnoModule = errnoModule;
  readonly OSError = OSError;

  constructor(
    readonly driver: SlipDriver,
    private readonly link: Duplex,
  ) {
    super();
    this.socket = createSocketModule(driver);
    driver.on('reset', (info) => this.emit('reset', info));
    driver.on('bad-frame', (reason) => this.emit('bad-frame', reason));
    driver.on('error', (err) => this.emit('error', err));
  }

  /** The profile the coprocessor announced (e.g. 'wipy'). */
  get profile(): string {
    return this.driver.profile;
  }

  /** Closes every socket, then the link. */
  async close(): Promise<void> {
    await this.driver.close();
    this.link.end();
    this.link.destroy();
  }
}

/** Opens a coprocessor by locator (device path, socket://host:port) or an open Duplex. */
export async function openDevice(locator: string | Duplex, opts: OpenOptions = {}): Promise<Device> {
  const protocol = opts.protocol ?? 'slip';
  if (protocol !== 'slip') throw new Error(`protocol '${protocol}' is not supported yet (only 'slip')`);
  const link = await openTransport(locator, opts);
  try {
    const driver = await SlipDriver.open(link, opts);
    return new Device(driver, link);
  } catch (err) {
    link.destroy();
    throw err;
  }
}

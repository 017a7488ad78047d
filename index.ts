/**
 * The package entry (composition only): re-exports host-lib, and resolves the `emulator:`
 * locator by handing host-lib the UART of an in-process emulator.
 */
import type { Duplex } from 'node:stream';
import { createEmulator, type EmulatorOptions } from './emulator/index.js';
import { type Device, type OpenOptions, openDevice as openHostDevice } from './host-lib/index.js';

export * from './host-lib/index.js';

export interface OpenDeviceOptions extends OpenOptions {
  /** For `emulator:` — options of the in-process emulator. */
  emulator?: EmulatorOptions;
}

/**
 * `openDevice('emulator:')` starts an in-process emulator (closed with the device);
 * any other locator goes to host-lib (device path, socket://host:port, a Duplex).
 */
export async function openDevice(locator: string | Duplex, opts: OpenDeviceOptions = {}): Promise<Device> {
  if (locator !== 'emulator:' && !(typeof locator === 'string' && locator.startsWith('emulator:'))) {
    return openHostDevice(locator, opts);
  }
  const profile = new URLSearchParams(locator.slice('emulator:'.length).replace(/^\?/, '')).get('profile');
  const emu = createEmulator({ ...opts.emulator, profile: opts.emulator?.profile ?? profile ?? undefined });
  const dev = await openHostDevice(emu.uart, opts);
  const close = dev.close.bind(dev);
  dev.close = async () => {
    await close();
    await emu.close();
  };
  return dev;
}

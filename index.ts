/**
 * The package entry (composition only): re-exports host-lib, and resolves the `emulator:`
 * locator by handing host-lib the UART of an in-process emulator.
 */
import type { Duplex } from 'node:stream';
import { createEmulator, type EmulatorOptions } from './emulator/index.js';
import { generateFixturePki } from './fixtures/certs/index.js';
import { type Device, type DriverFor, type OpenOptions, openDevice as openHostDevice } from './host-lib/index.js';

export * from './host-lib/index.js';

export interface OpenDeviceOptions extends OpenOptions {
  /** For `emulator:` — options of the in-process emulator. */
  emulator?: EmulatorOptions;
}

/**
 * `openDevice('emulator:')` starts an in-process emulator (closed with the device);
 * any other locator goes to host-lib (device path, socket://host:port, a Duplex).
 */
export async function openDevice<O extends OpenDeviceOptions = Record<never, never>>(
  locator: string | Duplex,
  opts: O = {} as O,
): Promise<Device<DriverFor<O>>> {
  if (locator !== 'emulator:' && !(typeof locator === 'string' && locator.startsWith('emulator:'))) {
    return openHostDevice(locator, opts);
  }
  const profile = new URLSearchParams(locator.slice('emulator:'.length).replace(/^\?/, '')).get('profile');
  // `{ protocol: 'at' }` gets an emulator with the ESP-AT personality.
  const protocol = opts.emulator?.protocol ?? (opts.protocol === 'at' ? 'at' : undefined);
  // TLS as in `netcoproc emulate`: the fixture PKI, made on first need (the first https connection
  // or file request), never in the background where the first transfer would pay its CPU
  // (docs/performance.md). `emulator: { pki: undefined }` leaves it out.
  const pki = opts.emulator && 'pki' in opts.emulator ? opts.emulator.pki : () => generateFixturePki();
  const emu = createEmulator({
    ...opts.emulator,
    pki,
    protocol,
    profile: opts.emulator?.profile ?? profile ?? undefined,
  });
  const dev = await openHostDevice(emu.uart, inProcessOptions(opts)).catch(async (err: unknown) => {
    await emu.close();
    throw err;
  });
  const close = dev.close.bind(dev);
  dev.close = async () => {
    await close();
    await emu.close();
  };
  return dev;
}

/**
 * An unpaced in-process line cannot lose, damage or reorder a byte, so the reliable link (SPEC §7)
 * is not asked for there: it only added work to every frame (link header, acknowledgements,
 * timers; docs/performance.md "In-process per-frame costs" item 9). Requests keep the deadline
 * they had with it (30 s: none is ever lost here; the keep-alive still notices a dead board).
 * Asked for explicitly, or on a line with faults or pacing (where its ordering of ACKs and
 * CREDITs matters), the link stays.
 */
function inProcessOptions<O extends OpenDeviceOptions>(opts: O): O {
  const lossless = opts.emulator?.faults === undefined && opts.emulator?.baud === undefined;
  if (opts.reliable !== undefined || !lossless) return opts;
  return { ...opts, reliable: false, requestTimeoutMs: opts.requestTimeoutMs ?? 30_000 };
}

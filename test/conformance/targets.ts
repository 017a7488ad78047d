/**
 * What the conformance suite runs against, chosen by NETCOPROC_TARGET:
 * - `emulator` (default): in-process emulators, once per profile (wipy, esp32)
 * - further targets (the ESP-AT personality, the MicroPython agent, a real board) register here
 * Each target opens single devices and pairs of devices on one network (for MicroPython's
 * two-instance multi_net tests), and says which features it lacks, so a test can be marked
 * target-specific with a reason instead of silently passing.
 */
import { createEmulator, VirtualNetwork } from '../../emulator/index.js';
import { type Device, openDevice } from '../../host-lib/index.js';

export type Feature = 'server' | 'two-servers' | 'multi-device' | 'peek' | 'blackhole' | 'udp-bind-any-port';

export interface Pair {
  a: Device;
  b: Device;
  /** The address under which B reaches A. */
  aIp: string;
  close(): Promise<void>;
}

export interface Target {
  name: string;
  lacks: Partial<Record<Feature, string>>;
  open(): Promise<Device & { done(): Promise<void> }>;
  pair(): Promise<Pair>;
}

function emulatorTarget(profile: 'wipy' | 'esp32'): Target {
  return {
    name: `emulator/${profile}`,
    lacks: {},
    async open() {
      const emu = createEmulator({ profile });
      const dev = await openDevice(emu.uart);
      return Object.assign(dev, {
        done: async () => {
          await dev.close();
          await emu.close();
        },
      });
    },
    async pair() {
      const network = new VirtualNetwork();
      const ea = createEmulator({ profile, network });
      const eb = createEmulator({ profile, network });
      const a = await openDevice(ea.uart);
      const b = await openDevice(eb.uart);
      return {
        a,
        b,
        aIp: ea.nic.ip,
        close: async () => {
          await a.close();
          await b.close();
          await ea.close();
          await eb.close();
          await network.close();
        },
      };
    },
  };
}

const registry: Record<string, () => Target[]> = {
  emulator: () => [emulatorTarget('wipy'), emulatorTarget('esp32')],
};

/** Registers another target family (used by the AT and agent suites). */
export function registerTarget(name: string, make: () => Target[]): void {
  registry[name] = make;
}

export function selectedTargets(): Target[] {
  const name = process.env.NETCOPROC_TARGET ?? 'emulator';
  const make = registry[name];
  if (!make) throw new Error(`unknown NETCOPROC_TARGET '${name}' (known: ${Object.keys(registry).join(', ')})`);
  return make();
}

/**
 * What the conformance suite runs against, chosen by NETCOPROC_TARGET:
 * - `emulator` (default): in-process emulators, once per profile (wipy, esp32)
 * - further targets (the ESP-AT personality, the MicroPython agent, a real board) register here
 * Each target opens single devices and pairs of devices on one network (for MicroPython's
 * two-instance multi_net tests), and says which features it lacks, so a test can be marked
 * target-specific with a reason instead of silently passing.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createEmulator, VirtualNetwork } from '../../emulator/index.js';
import { type Device, openDevice } from '../../host-lib/index.js';

export type Feature =
  | 'server'
  | 'two-servers'
  | 'multi-device'
  | 'peek'
  | 'blackhole'
  | 'forwarding'
  | 'udp-bind-any-port';

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

/** The emulator's ESP-AT personality, driven by the host AT driver. */
function atTarget(): Target {
  const open = async (network?: VirtualNetwork) => {
    const emu = createEmulator({ protocol: 'at', ...(network ? { network } : {}) });
    const dev = (await openDevice(emu.uart, { protocol: 'at' })) as unknown as Device;
    return { emu, dev };
  };
  return {
    name: 'emulator/esp-at',
    lacks: {
      'two-servers': 'ESP-AT firmware runs one TCP server (AT+CIPSERVER)',
      forwarding: 'listen() over AT reports no forwarded port',
    },
    async open() {
      const { emu, dev } = await open();
      return Object.assign(dev, {
        done: async () => {
          await dev.close();
          await emu.close();
        },
      });
    },
    async pair() {
      const network = new VirtualNetwork();
      const a = await open(network);
      const b = await open(network);
      return {
        a: a.dev,
        b: b.dev,
        aIp: a.emu.nic.ip,
        close: async () => {
          await a.dev.close();
          await b.dev.close();
          await a.emu.close();
          await b.emu.close();
          await network.close();
        },
      };
    },
  };
}

const AGENT = fileURLToPath(new URL('../../firmware-protocol/micropython/agent.py', import.meta.url));

/** The MicroPython device agent under CPython: a second device implementation with real OS sockets. */
async function spawnAgent(): Promise<{ dev: Device; stop(): Promise<void> }> {
  const proc = spawn(process.env.NETCOPROC_PYTHON ?? 'python3', ['-B', AGENT, '--listen', 'tcp://127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent did not start in 10 s')), 10_000);
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (socket:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  const dev = await openDevice(url);
  return {
    dev,
    stop: async () => {
      await dev.close();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

function agentTarget(): Target {
  return {
    name: 'agent/cpython',
    lacks: {
      blackhole: 'real OS sockets: there is no blackhole host on loopback',
      forwarding: "the agent uses the machine's own sockets; a listener needs no forwarding",
    },
    async open() {
      const { dev, stop } = await spawnAgent();
      return Object.assign(dev, { done: stop });
    },
    async pair() {
      const a = await spawnAgent();
      const b = await spawnAgent();
      return {
        a: a.dev,
        b: b.dev,
        aIp: '127.0.0.1',
        close: async () => {
          await a.stop();
          await b.stop();
        },
      };
    },
  };
}

const registry: Record<string, () => Target[]> = {
  emulator: () => [emulatorTarget('wipy'), emulatorTarget('esp32')],
  at: () => [atTarget()],
  agent: () => [agentTarget()],
};

/** Registers another target family (used by the AT and agent suites). */
export function registerTarget(name: string, make: () => Target[]): void {
  registry[name] = make;
}

/** NETCOPROC_TARGET: a comma-separated list of families (default: all of them: emulator,at,agent). */
export function selectedTargets(): Target[] {
  const names = (process.env.NETCOPROC_TARGET ?? 'emulator,at,agent').split(',').map((n) => n.trim());
  return names.flatMap((name) => {
    const make = registry[name];
    if (!make) throw new Error(`unknown NETCOPROC_TARGET '${name}' (known: ${Object.keys(registry).join(', ')})`);
    return make();
  });
}

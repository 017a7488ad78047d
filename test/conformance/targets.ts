/**
 * What the conformance suite runs against, chosen by NETCOPROC_TARGET:
 * - `emulator` (default): in-process emulators, once per profile (wipy, esp32)
 * - further targets (the ESP-AT personality, the MicroPython agent, a real board) register here
 * Each target opens single devices and pairs of devices on one network (for MicroPython's
 * two-instance multi_net tests), and says which features it lacks, so a test can be marked
 * target-specific with a reason instead of silently passing.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createEmulator, VirtualNetwork } from '../../emulator/index.js';
import type { SockAddr } from '../../host-lib/driver.js';
import { type Device, openDevice } from '../../host-lib/index.js';
import { hilTarget } from './hil-target.js';

export type Feature = 'server' | 'two-servers' | 'multi-device' | 'peek' | 'forwarding' | 'reset-report';

export interface Pair {
  a: Device;
  b: Device;
  /** The address under which B reaches A. */
  aIp: string;
  /**
   * The port A's servers use: MicroPython's multi_net tests take fixed ones (8000, 8001), which
   * is fine on a virtual network; on this machine's real stack a free one is picked instead.
   */
  port(preferred: number): Promise<number>;
  close(): Promise<void>;
}

const asIs = async (preferred: number): Promise<number> => preferred;

/** The virtual network's `blackhole.test`: its connects never complete. */
const virtualBlackhole = async (): Promise<Blackhole> => ({ addr: ['blackhole.test', 8000], close: async () => {} });

/**
 * A blackhole on this machine's loopback, for targets with real sockets: a listener with
 * backlog 0 whose one queue slot is taken and never accepted. Linux then drops further SYNs
 * (the accept queue is full), so a connect stays in progress, as to an address that never
 * answers. A python3 helper, because Node accepts every connection itself.
 */
export async function loopbackBlackhole(host = '127.0.0.1'): Promise<Blackhole> {
  const script = [
    'import socket, sys',
    `s = socket.socket(); s.bind(("${host === '127.0.0.1' ? host : '0.0.0.0'}", 0)); s.listen(0)`,
    'c = socket.create_connection(s.getsockname())',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const proc = spawn(process.env.NETCOPROC_PYTHON ?? 'python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('blackhole helper did not start in 5 s')), 5000);
    proc.stdout.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(d.toString().trim()));
    });
  });
  return {
    addr: [host, port],
    close: async () => {
      proc.stdin.end();
      await exited;
    },
  };
}

/** A TCP and UDP port free on 127.0.0.1 right now (for targets that use the machine's own sockets). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const { createSocket } = await import('node:dgram');
  for (;;) {
    const srv = createServer();
    const port = await new Promise<number>((r) =>
      srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)),
    );
    await new Promise((r) => srv.close(r));
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    udp.close();
    if (ok) return port;
  }
}

/** The device end of a fresh board's serial line, with no host driver on it (SLIP targets). */
export interface RawLink {
  link: Duplex;
  close(): Promise<void>;
}

/** An address where TCP connects never complete (MicroPython's tests use 1.1.1.1:8000, 192.0.2.1). */
export interface Blackhole {
  addr: SockAddr;
  close(): Promise<void>;
}

export interface Target {
  name: string;
  lacks: Partial<Record<Feature, string>>;
  open(): Promise<Device & { done(): Promise<void> }>;
  pair(): Promise<Pair>;
  blackhole(): Promise<Blackhole>;
  /** SLIP targets: a freshly booted board to speak raw frames to (wire-level conformance). */
  raw?(): Promise<RawLink>;
}

function emulatorTarget(profile: 'wipy' | 'esp32'): Target {
  return {
    name: `emulator/${profile}`,
    lacks: {},
    blackhole: virtualBlackhole,
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
        port: asIs,
        close: async () => {
          await a.close();
          await b.close();
          await ea.close();
          await eb.close();
          await network.close();
        },
      };
    },
    async raw() {
      const emu = createEmulator({ profile });
      return { link: emu.uart, close: () => emu.close() };
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
    blackhole: virtualBlackhole,
    lacks: {
      'two-servers': 'ESP-AT firmware runs one TCP server (AT+CIPSERVER)',
      forwarding: 'listen() over AT reports no forwarded port',
      'reset-report':
        'ESP-AT reports a peer reset like an orderly close (`<id>,CLOSED`, no errno): recv gives EOF, not ECONNRESET',
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
        port: asIs,
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

/** The agent process, listening on a loopback port; `stop` ends it (SIGTERM) and waits. */
/** `env`: extra environment for the agent, e.g. NETCOPROC_AGENT_CONNECT_TIMEOUT_MS. */
export async function startAgent(
  link: 'socket' | 'pty' = 'socket',
  env: Record<string, string> = {},
): Promise<{ url: string; stop(): Promise<void> }> {
  const args = link === 'pty' ? ['--pty'] : ['--listen', 'tcp://127.0.0.1:0'];
  const proc = spawn(process.env.NETCOPROC_PYTHON ?? 'python3', ['-B', AGENT, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent did not start in 10 s')), 10_000);
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (socket:\/\/\S+)/.exec(out) ?? /^pty (\S+)/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return {
    url,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The MicroPython device agent under CPython: a second device implementation with real OS sockets,
 * reached over a real pty with serialport, as a board on a USB serial port would be
 * (NETCOPROC_AGENT_LINK=socket uses its TCP listener instead).
 */
async function spawnAgent(): Promise<{ dev: Device; stop(): Promise<void> }> {
  const agent = await startAgent(process.env.NETCOPROC_AGENT_LINK === 'socket' ? 'socket' : 'pty');
  const dev = await openDevice(agent.url);
  return {
    dev,
    stop: async () => {
      await dev.close();
      await agent.stop();
    },
  };
}

function agentTarget(): Target {
  return {
    name: 'agent/cpython',
    blackhole: loopbackBlackhole,
    lacks: {
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
        port: () => freePort(),
        close: async () => {
          await a.stop();
          await b.stop();
        },
      };
    },
    async raw() {
      const agent = await startAgent();
      const { hostname, port } = new URL(agent.url);
      const link = connect(Number(port), hostname);
      link.on('error', () => {});
      await new Promise((r) => link.once('connect', r));
      return {
        link,
        close: async () => {
          link.destroy();
          await agent.stop();
        },
      };
    },
  };
}

/** For the hil target: a peer on this machine that never answers, reached at `host`. */
export const blackholeAt = (host: string) => (): Promise<Blackhole> => loopbackBlackhole(host);

const registry: Record<string, () => Target[]> = {
  hil: () => [hilTarget()],
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

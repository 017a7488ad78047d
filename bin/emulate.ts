/**
 * `netcoproc emulate`: one emulated coprocessor, attached to the transports asked for. Prints
 * one line per attachment point as soon as it is ready (`listening socket://127.0.0.1:41234`,
 * `pty /dev/pts/5`) and shuts down cleanly on SIGINT/SIGTERM.
 */
import type { Duplex } from 'node:stream';
import { createEmulator, type Emulator } from '../emulator/index.js';
import { loadHostsFile } from '../emulator/network/index.js';
import { listenTcp, openPty, paceDuplex } from '../emulator/transports/index.js';

export interface EmulateOptions {
  protocol: 'slip';
  profile: string;
  listen: string[];
  pty: string | true | undefined;
  network: 'virtual' | 'host';
  config?: string;
  baud?: number;
  seed?: number;
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

export async function startEmulator(o: EmulateOptions, print: (line: string) => void): Promise<RunningEmulator> {
  const hosts = o.config ? loadHostsFile(o.config) : undefined;
  const emulator = createEmulator({
    protocol: o.protocol,
    profile: o.profile,
    network: { mode: o.network, ...(hosts ? { hosts } : {}) },
    seed: o.seed,
    onBadFrame: (reason) => process.stderr.write(`bad frame from host: ${reason}\n`),
  });
  const line: Duplex = o.baud ? paceDuplex(emulator.uart, o.baud) : emulator.uart;
  const closers: (() => Promise<void>)[] = [];
  const lines: string[] = [];
  const say = (text: string): void => {
    lines.push(text);
    print(text);
  };
  try {
    for (const spec of o.listen) {
      const t = await listenTcp(line, parseListen(spec));
      closers.push(() => t.close());
      say(`listening ${t.url}`);
    }
    if (o.pty) {
      const p = await openPty(line, typeof o.pty === 'string' ? { link: o.pty } : {});
      closers.push(() => p.close());
      say(`pty ${p.path}`);
    }
  } catch (err) {
    for (const c of closers) await c();
    await emulator.close();
    throw err;
  }
  return {
    emulator,
    lines,
    async close() {
      for (const c of closers.reverse()) await c().catch(() => {});
      await emulator.close();
    },
  };
}

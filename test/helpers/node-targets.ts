/**
 * Targets of the Node-native suites (test/node-*.test.ts): a device over SLIP or ESP-AT with an
 * in-process emulator, and the fixture CA its TLS hosts use, and the loopback port an emulator
 * forwards a device listener to (SLIP tells it in LISTEN; over ESP-AT the emulator reports it).
 */

import { createEmulator, type Emulator } from '../../emulator/index.js';
import { type FixturePki, generateFixturePki } from '../../fixtures/certs/index.js';
import { type Device, type Driver, openDevice } from '../../index.js';

export type Protocol = 'slip' | 'at';
export const PROTOCOLS: readonly Protocol[] = ['slip', 'at'];

export interface Target {
  dev: Device<Driver>;
  emu: Emulator;
  ca: string;
  /** The loopback port reaching the device listener on `port` (waits for the emulator's report). */
  forwardOf(port: number, reported: number): Promise<number>;
  close(): Promise<void>;
}

let pki: Promise<FixturePki> | undefined;

export async function openTarget(protocol: Protocol, seed = 1): Promise<Target> {
  pki ??= generateFixturePki();
  const fixture = await pki;
  const emu = createEmulator({ protocol, pki: fixture, seed });
  const dev = (await openDevice(emu.uart, { protocol })) as Device<Driver>;
  return {
    dev,
    emu,
    ca: fixture.ca,
    async forwardOf(port, reported) {
      if (reported) return reported;
      const deadline = Date.now() + 5000;
      for (;;) {
        const f = emu.forwards.find((x) => x.port === port);
        if (f) return f.forwardPort;
        if (Date.now() > deadline) throw new Error(`the emulator reported no forward for device port ${port}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await dev.close();
      await emu.close();
    },
  };
}

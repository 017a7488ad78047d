/**
 * Test support for the AT driver tests: open a Device over a scripted module, byte helpers,
 * and an assertion that a promise fails with a given errno.
 */
import { type Device, openDevice } from '../device.js';
import { OSError } from '../errors.js';
import type { AtDriver, AtDriverOptions } from './at-driver.js';
import { FakeAtModule, type Step, startupSteps } from './fake-device.js';

export const OK = '\r\nOK\r\n';
export const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/**
 * A Device on a fake module that first runs the standard start-up, then `steps`. The liveness
 * probe is off unless `keepaliveMs` is given: a script lists every byte the host may write.
 */
export async function openFake(
  steps: Step[],
  options: AtDriverOptions & { split?: 'chunks' | 'bytes'; version?: string } = {},
): Promise<{ dev: Device<AtDriver>; fake: FakeAtModule }> {
  const fake = new FakeAtModule([...startupSteps(options.version), ...steps], { split: options.split });
  const dev = await openDevice(fake, { protocol: 'at', keepaliveMs: 0, ...options });
  return { dev, fake };
}

/** Expects `p` to reject with OSError `errno`; returns the error. (No vitest import: this file is built.) */
export async function raises(p: Promise<unknown>, errno: number): Promise<OSError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof OSError) || err.errno !== errno) {
    throw new Error(`expected OSError(${errno}), got ${err === undefined ? 'success' : String(err)}`);
  }
  return err;
}

/** Reads exactly n bytes (or to EOF) with a deadline. */
export async function recvAll(
  s: { recv(n: number): Promise<Uint8Array>; settimeout(t: number | null): void },
  n: number,
): Promise<string> {
  s.settimeout(2);
  let out = '';
  while (out.length < n) {
    const chunk = await s.recv(n - out.length);
    if (chunk.length === 0) break;
    out += text(chunk);
  }
  return out;
}

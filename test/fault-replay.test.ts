/**
 * Same seed, same faults, same outcome: a scenario run twice against a live host gives the same
 * fault trace (kinds, directions, byte offsets, corrupted bytes) and the same result for the user.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEmulator, type FaultEvent } from '../emulator/index.js';
import { OSError, openDevice } from '../index.js';
import { allBytes } from './helpers/patterns.js';

const scenario = (name: string): string => fileURLToPath(new URL(`../fixtures/scenarios/${name}`, import.meta.url));

/** One session under a scenario: `size` bytes echoed through echo.test; returns the trace and what the user saw. */
async function run(file: string, seed: number, size = 200_000): Promise<{ trace: FaultEvent[]; outcome: string }> {
  const emu = createEmulator({ faults: scenario(file), seed, pki: undefined });
  const dev = await openDevice(emu.uart, { keepaliveMs: 0 });
  let outcome: string;
  try {
    const s = await dev.socket.socket();
    s.settimeout(10);
    await s.connect(['echo.test', 7]);
    const data = allBytes(size);
    const [, back] = await Promise.all([s.sendall(data), s.read(data.length)]);
    outcome = Buffer.from(back as Uint8Array).equals(data) ? 'intact' : 'corrupt';
  } catch (e) {
    outcome = e instanceof OSError ? `OSError ${e.errno}` : String(e);
  }
  const trace = emu.faults.trace().filter((e) => e.kind === 'reboot' || (e.offset ?? 0) < 20_000);
  await dev.close().catch(() => {});
  await emu.close();
  return { trace, outcome };
}

describe('fault replay', () => {
  it('reboot-mid-transfer.json twice: the same reboot at the same byte, the same ECONNRESET', async () => {
    const a = await run('reboot-mid-transfer.json', 1);
    const b = await run('reboot-mid-transfer.json', 1);
    expect(a.trace.map((e) => [e.kind, e.dir, e.offset])).toEqual([['reboot', 'hostToDevice', 20000]]);
    expect(b.trace).toEqual(a.trace);
    expect(a.outcome).toBe('OSError 104');
    expect(b.outcome).toBe(a.outcome);
  });

  it('lossy-line.json twice with one seed: identical fault sequence on the wire, data intact both times', {
    timeout: 90_000,
  }, async () => {
    const a = await run('lossy-line.json', 42, 50_000);
    const b = await run('lossy-line.json', 42, 50_000);
    expect(a.trace.length).toBeGreaterThan(0);
    // Offsets below 20 000 in each direction: before the first retransmission can shift the bytes.
    const key = (t: FaultEvent[]) => t.map((e) => `${e.dir}:${e.kind}:${e.offset}:${(e.bytes ?? []).join('.')}`);
    expect(key(b.trace)).toEqual(key(a.trace));
    expect(a.outcome).toBe('intact');
    expect(b.outcome).toBe('intact');
    const c = await run('lossy-line.json', 43, 50_000);
    expect(key(c.trace)).not.toEqual(key(a.trace));
  });
});

/**
 * The reliable link (SPEC §7) against the faulty line: with corruption, drops, insertions and
 * jitter both ways, a host session still moves every byte intact and in order. And one scenario
 * with one seed gives the same faults twice.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, type OpenOptions, OSError, openDevice } from '../../index.js';
import { createEmulator, type Emulator, type EmulatorOptions } from '../index.js';

let emu: Emulator | undefined;
let dev: Device | undefined;
afterEach(async () => {
  await dev?.close().catch(() => {});
  await emu?.close();
  dev = undefined;
  emu = undefined;
});

const scenarioPath = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/scenarios/${name}`, import.meta.url));

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + (i >> 9)) & 0xff;
  return b;
}

/** Echoes `size` bytes through echo.test; returns what came back and the error that ended it, if any. */
async function echo(
  opts: EmulatorOptions,
  size: number,
  host: OpenOptions = {},
): Promise<{ back: Buffer; error?: unknown }> {
  emu = createEmulator({ pki: undefined, ...opts });
  const d = await openDevice(emu.uart, { requestTimeoutMs: 10_000, helloTimeoutMs: 5000, ...host, protocol: 'slip' });
  dev = d;
  const chunks: Uint8Array[] = [];
  let got = 0;
  try {
    const s = await d.socket.socket();
    s.settimeout(15);
    await s.connect(['echo.test', 7]);
    await Promise.all([
      s.sendall(pattern(size)),
      (async () => {
        while (got < size) {
          const c = await s.recv(65536);
          if (c.length === 0) break;
          chunks.push(c);
          got += c.length;
        }
      })(),
    ]);
    return { back: Buffer.concat(chunks) };
  } catch (error) {
    return { back: Buffer.concat(chunks), error };
  }
}

describe('the reliable link over a faulty line', () => {
  it('lossy-line.json: 1e-4 corruption and drops both ways, 6 KB echoed intact', async () => {
    const data = pattern(6000);
    // Keep-alive off: its PING waits behind the link's backed-off retransmission (see the report).
    const host = { keepaliveMs: 0 } as OpenOptions;
    const { back, error } = await echo({ faults: scenarioPath('lossy-line.json') }, data.length, host);
    expect(error).toBeUndefined();
    expect(back.equals(data)).toBe(true);
    const s = emu!.faults.summary();
    expect((s.corrupt ?? 0) + (s.drop ?? 0)).toBeGreaterThan(0);
  });

  // Both directions loaded at once on the noisy line (how fast belongs to the bench's noisy row).
  it('lossy-line.json: 300 KB echoed intact, keep-alive on', async () => {
    const data = pattern(300_000);
    const { back, error } = await echo({ faults: scenarioPath('lossy-line.json') }, data.length);
    expect(error).toBeUndefined();
    expect(back.equals(data)).toBe(true);
  }, 60_000);

  it('corrupt, drop and insert at 2e-5 with jitter: 50 KB echoed intact', async () => {
    const line = { corrupt: 2e-5, drop: 2e-5, insert: 2e-5, jitterMs: 2 };
    const data = pattern(50_000);
    const { back, error } = await echo({ seed: 7, faults: { line: { both: line } } }, data.length);
    expect(error).toBeUndefined();
    expect(back.equals(data)).toBe(true);
    expect(emu!.faults.trace().length).toBeGreaterThan(3);
  });

  it('no silent loss on a hopeless line: what arrives is a prefix of what was sent, or it fails loudly', async () => {
    const data = pattern(50_000);
    const line = { corrupt: 3e-3, drop: 3e-3, insert: 3e-3 };
    const host = { keepaliveMs: 300, keepaliveTimeoutMs: 600, requestTimeoutMs: 2000 } as OpenOptions;
    const { back, error } = await echo({ seed: 2, faults: { line: { both: line } } }, data.length, host);
    expect(back.equals(data.subarray(0, back.length))).toBe(true);
    if (back.length < data.length) expect(error).toBeInstanceOf(OSError);
  });

  it('the same scenario and seed give the same faults for the same bytes', async () => {
    const bytes = pattern(50_000);
    const traces = [];
    for (let run = 0; run < 2; run++) {
      const e = createEmulator({
        pki: undefined,
        faults: { seed: 77, line: { both: { corrupt: 1e-3, drop: 1e-3, burst: 2 } } },
      });
      e.uart.on('data', () => {});
      for (let o = 0; o < bytes.length; o += 1000 + run * 337) e.uart.write(bytes.subarray(o, o + 1000 + run * 337));
      e.faults.corruptNext(4, 'hostToDevice');
      e.uart.write(bytes.subarray(0, 100));
      await new Promise((r) => setTimeout(r, 20));
      traces.push(e.faults.trace().filter((t) => t.dir === 'hostToDevice'));
      await e.close();
    }
    expect(traces[0]!.length).toBeGreaterThan(30);
    expect(traces[1]).toEqual(traces[0]);
  });
});

/**
 * Soak: a TCP echo through echo.test over a serial line that corrupts and drops bytes
 * (fixtures/scenarios/lossy-line.json: 1e-4 corruption and 1e-4 drops per byte, both ways).
 * Every byte must come back intact and in order over SLIP with the reliable link (SPEC §7).
 * 2 MiB in the suite; `npm run soak` (NETCOPROC_SOAK=1) moves 10 MiB and prints the figures.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator/index.js';
import type { SlipDriver } from '../host-lib/slip/slip-driver.js';
import { openDevice } from '../index.js';
import { allBytes } from './helpers/patterns.js';

const MiB = 1024 * 1024;
// 2 MiB keeps the suite's run to seconds; `npm run soak` moves the full 10 MiB (about 30 s here).
const size = process.env.NETCOPROC_SOAK ? 10 * MiB : 2 * MiB;
const scenario = fileURLToPath(new URL('../fixtures/scenarios/lossy-line.json', import.meta.url));

describe('soak over a lossy line', () => {
  it(`echoes ${size / MiB} MiB intact through 1e-4 corruption and drops both ways`, { timeout: 600_000 }, async () => {
    const emu = createEmulator({ faults: scenario, pki: undefined });
    const dev = await openDevice(emu.uart, { helloTimeoutMs: 10_000 });
    const s = await dev.socket.socket();
    s.settimeout(60);
    await s.connect(['echo.test', 7]);
    const block = allBytes(MiB);
    const t0 = performance.now();
    let got = 0;
    let mismatch = -1;
    await Promise.all([
      (async () => {
        for (let sent = 0; sent < size; sent += MiB) await s.sendall(block);
      })(),
      (async () => {
        while (got < size) {
          const c = await s.recv(65536);
          if (c.length === 0) break;
          for (let i = 0; i < c.length && mismatch < 0; i += 4093) if (c[i] !== ((got + i) & 0xff)) mismatch = got + i;
          if (
            mismatch < 0 &&
            Buffer.compare(Buffer.from(c), block.subarray(got % MiB, (got % MiB) + c.length)) !== 0 &&
            (got % MiB) + c.length <= MiB
          )
            mismatch = got;
          got += c.length;
        }
      })(),
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const rpc = (dev.driver as SlipDriver as unknown as { rpc: { reliable: { link?: { stats: object } } } }).rpc;
    const device = (emu.personality as unknown as { link: { link?: { stats: object } } }).link.link;
    const summary = emu.faults.summary();
    console.log(
      JSON.stringify({
        bytes: size,
        seconds: Number(seconds.toFixed(2)),
        goodputKiBs: Math.round(size / 1024 / seconds),
        faults: summary,
        hostLink: rpc.reliable.link?.stats,
        deviceLink: device?.stats,
      }),
    );
    expect(got).toBe(size);
    expect(mismatch).toBe(-1);
    await s.close();
    await dev.close();
    await emu.close();
  });
});

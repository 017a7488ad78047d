/**
 * The hardware-in-the-loop runner's plumbing, exercised in CI: `NETCOPROC_TARGET=hil` with
 * NETCOPROC_PORT pointing at an emulator's pty (standing in for /dev/ttyUSB0) runs conformance
 * files against "the board" over a real serial port, for SLIP and for ESP-AT. A real board is the
 * same command with its device path (docs/hil.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnEmulator } from './helpers/spawn-emulator.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

describe.each([
  ['slip', []],
  ['at', ['--protocol', 'at']],
] as const)('npm run test:hil against an emulated board on a pty (%s)', (protocol, extra) => {
  it('runs the conformance files over the serial port and reports what it skipped', { timeout: 120_000 }, async () => {
    const emu = await spawnEmulator([...extra, '--pty']);
    const dir = mkdtempSync(join(tmpdir(), 'hil-'));
    const report = join(dir, 'report.json');
    try {
      const r = spawnSync(
        process.execPath,
        [vitest, 'run', 'test/conformance/socket-basic.test.ts', 'test/conformance/accept-connect.test.ts'],
        {
          cwd: root,
          env: {
            ...process.env,
            NETCOPROC_TARGET: 'hil',
            NETCOPROC_PORT: emu.pty,
            NETCOPROC_PROTOCOL: protocol,
            NETCOPROC_PEER_HOST: '127.0.0.1',
            NETCOPROC_REPORT: report,
          },
          encoding: 'utf8',
          timeout: 110_000,
        },
      );
      const json = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number };
      expect(json.numFailedTests, `${r.stdout}\n${r.stderr}`.slice(0, 4000)).toBe(0);
      expect(json.numPassedTests).toBeGreaterThanOrEqual(8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      expect(await emu.stop()).toBe(0);
    }
  });
});

/**
 * Every script in examples/ runs as a user runs it (a child process, `import ... from 'netcoproc'`)
 * and prints what it promises: against an in-process emulator, and — for the ones that take a
 * locator — against `netcoproc emulate` over socket://. The `netcoproc-source` condition resolves
 * the package to this checkout's sources, so no build is needed and nothing stale is tested.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs examples/NAME.ts with ARGS; resolves with its stdout (rejects on a non-zero exit). */
async function example(name: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--conditions=netcoproc-source', `examples/${name}.ts`, ...args],
    { cwd: ROOT, timeout: 90_000 },
  );
  return stdout;
}

const EXPECTED: Record<string, RegExp[]> = {
  'micropython-style': [
    /^echo: hello, coprocessor$/m,
    /^poll: \[ 'POLLIN' \]$/m,
    /^non-blocking recv: EAGAIN$/m,
    /^http: HTTP\/1\.1 200 OK \(64 body bytes\)$/m,
    /^refused\.test: ECONNREFUSED$/m,
  ],
  'at-board': [
    /^wlan: connected, ip 10\.77\.0\.\d+ mask 255\.255\.255\.0$/m,
    /^scan: .*netcoproc/m,
    /2000 bytes intact$/m,
  ],
  tls: [/^tls\.test: HTTP\/1\.1 200 OK, 1000 body bytes$/m, /^unknown-ca\.test: ESECBADCAFILE \(456\)$/m],
  'several-boards': [
    /^board A 10\.77\.0\.2 \(wipy\), board B 10\.77\.0\.3 \(esp32\)$/m,
    /^A got back: from board A$/m,
    /^node via 127\.0\.0\.1:\d+ got back: from node$/m,
  ],
  'node-native': [
    /^net: hello through dev\.net \(half-closed: (true|false)\)$/m,
    /^http: 200, 100 bytes, reused socket: false$/m,
    /^http: 200, 200 bytes, reused socket: true$/m,
    /^fetch: 200, 1000 bytes$/m,
  ],
  faults: [
    /^noisy line \(.*\): 20000 bytes intact$/m,
    /^blackhole\.test: ETIMEDOUT$/m,
    /^refused\.test: ECONNREFUSED$/m,
    /^device event 'reset'/m,
    /^pending recv after reboot: ECONNRESET$/m,
    /^after reboot: still here$/m,
  ],
};

describe('examples/ against an in-process emulator', () => {
  it('every example has its expectations here', () => {
    const names = readdirSync(new URL('../examples/', import.meta.url))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3));
    expect(names.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [name, lines] of Object.entries(EXPECTED)) {
    it(`examples/${name}.ts`, async () => {
      const out = await example(name);
      for (const line of lines) expect(out).toMatch(line);
    }, 120_000);
  }
});

describe('examples/ against `netcoproc emulate` over socket://', () => {
  let slip: SpawnedEmulator;
  let at: SpawnedEmulator;
  beforeAll(async () => {
    [slip, at] = await Promise.all([spawnEmulator([]), spawnEmulator(['--protocol', 'at'])]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([slip?.stop(), at?.stop()]);
  });

  for (const name of ['micropython-style', 'tls']) {
    it(`examples/${name}.ts socket://…`, async () => {
      const out = await example(name, slip.url as string);
      for (const line of EXPECTED[name] ?? []) expect(out).toMatch(line);
    }, 120_000);
  }

  it('examples/node-native.ts socket://… at CA.pem (ESP-AT, the CA from --ca-out)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netcoproc-example-'));
    const ca = join(dir, 'ca.pem');
    const emu = await spawnEmulator(['--protocol', 'at', '--ca-out', ca]);
    try {
      const deadline = Date.now() + 15_000;
      while (!existsSync(ca) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const out = await example('node-native', emu.url as string, 'at', ca);
      for (const line of EXPECTED['node-native'] ?? []) expect(out).toMatch(line);
      expect(out).toMatch(/half-closed: false/); // ESP-AT cannot half-close (docs/node.md)
    } finally {
      await emu.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('examples/at-board.ts socket://… (ESP-AT personality)', async () => {
    const out = await example('at-board', at.url as string);
    for (const line of EXPECTED['at-board'] ?? []) expect(out).toMatch(line);
  }, 120_000);
});

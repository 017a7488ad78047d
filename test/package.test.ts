/**
 * The package as a user gets it (ARCHITECTURE.md §8): `npm pack`, the tarball installed into a
 * fresh project outside this checkout, then used from plain Node (no tsx), from a strict
 * TypeScript consumer, and through the installed `netcoproc` command.
 *
 * No network: the fresh project gets a lockfile made from ours (the same versions, the same
 * integrity hashes), so `npm ci --offline` installs from the npm cache this checkout's own
 * `npm ci` filled.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const OURS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
};

interface LockEntry {
  version?: string;
  dev?: boolean;
  [key: string]: unknown;
}

/** The consumer's package-lock: our runtime dependency tree, the tarball, and @types/node for tsc. */
function consumerLock(tarball: string): { pkg: object; lock: object } {
  const ourLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const typesNode = ourLock.packages['node_modules/@types/node'] as LockEntry;
  const pkg = {
    name: 'consumer',
    private: true,
    type: 'module',
    dependencies: { netcoproc: `file:${tarball}` },
    devDependencies: { '@types/node': typesNode.version },
  };
  const packages: Record<string, object> = { '': pkg };
  packages['node_modules/netcoproc'] = {
    version: OURS.version,
    resolved: `file:${tarball}`,
    integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
    license: OURS.license,
    dependencies: OURS.dependencies,
    bin: OURS.bin,
    engines: OURS.engines,
  };
  for (const [path, entry] of Object.entries(ourLock.packages)) {
    if (path && !entry.dev && !path.startsWith('node_modules/netcoproc')) packages[path] = entry;
  }
  for (const path of ['node_modules/@types/node', 'node_modules/undici-types']) {
    packages[path] = ourLock.packages[path] as LockEntry;
  }
  return { pkg, lock: { name: 'consumer', lockfileVersion: 3, requires: true, packages } };
}

/** A plain-Node script: the MicroPython API over an in-process emulator, and the emulator subpath. */
const APP_MJS = `
import { openDevice, OSError } from 'netcoproc';
import { createEmulator } from 'netcoproc/emulator';
import { encodeMessage } from 'netcoproc/protocol';

const dev = await openDevice('emulator:');
const { socket } = dev;
const addr = (await socket.getaddrinfo('echo.test', 7))[0][4];
const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
s.settimeout(5);
await s.connect(addr);
await s.sendall(new TextEncoder().encode('hello from a plain node app'));
let got = '';
while (got.length < 27) got += new TextDecoder().decode(await s.recv(64));
await s.close();
await dev.close();
console.log(JSON.stringify({ echo: got, createEmulator: typeof createEmulator, encodeMessage: typeof encodeMessage, OSError: typeof OSError }));
`;

/** A TypeScript consumer, checked under the strict settings of §8. */
const CONSUMER_TS = `
import { type Device, openDevice, OSError } from 'netcoproc';
import { createEmulator } from 'netcoproc/emulator';
import { errno } from 'netcoproc/protocol';

export async function ping(locator: string): Promise<Uint8Array> {
  const dev: Device = await openDevice(locator, { openTimeoutMs: 2000 });
  try {
    const { socket } = dev;
    const info = await socket.getaddrinfo('echo.test', 7);
    const addr = info[0]?.[4];
    if (addr === undefined) throw new Error('no address');
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    s.settimeout(2);
    await s.connect(addr);
    await s.sendall(new TextEncoder().encode('ping'));
    try {
      return await s.recv(4);
    } catch (e) {
      if (e instanceof OSError && e.errno === errno.ETIMEDOUT) return new Uint8Array();
      throw e;
    } finally {
      await s.close();
    }
  } finally {
    await dev.close();
  }
}

export const emulator = createEmulator({ protocol: 'at' });
`;

const STRICT_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
  },
  files: ['consumer.ts'],
};

describe('npm pack, installed into a fresh project', () => {
  let work: string;
  let project: string;
  let files: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ncp-pack-'));
    // prepack builds dist/ first, so the tarball holds what the sources say now.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
    });
    const [report] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    files = report?.files.map((f) => f.path) ?? [];
    const tarball = join(work, report?.filename as string);
    project = join(work, 'consumer');
    const { pkg, lock } = consumerLock(tarball);
    await run('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project });
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds what runs (built JS, .d.ts, source maps, launcher, runtime fixtures, agent) and no tests', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/netcoproc.mjs',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.js.map',
      'dist/emulator/index.js',
      'dist/emulator/index.d.ts',
      'dist/firmware-protocol/index.d.ts',
      'dist/bin/cli.js',
      'dist/cli/netcoproc.js',
      'fixtures/hosts.json',
      'firmware-protocol/micropython/agent.py',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /\.test\.|(^|\/)test\/|^bench\/|^scratch\//.test(f))).toEqual([]);
    // TypeScript ships as declarations only.
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('a plain-node .mjs opens emulator:, echoes data, and imports netcoproc/emulator and /protocol', async () => {
    writeFileSync(join(project, 'app.mjs'), APP_MJS);
    const { stdout } = await run(process.execPath, ['app.mjs'], { cwd: project, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({
      echo: 'hello from a plain node app',
      createEmulator: 'function',
      encodeMessage: 'function',
      OSError: 'function',
    });
  }, 90_000);

  it("a strict consumer's tsc (nodenext, exactOptionalPropertyTypes, noUncheckedIndexedAccess, no skipLibCheck) has 0 errors", async () => {
    writeFileSync(join(project, 'consumer.ts'), CONSUMER_TS);
    // Also with the DOM library, as a project that runs in browsers too would have it.
    for (const lib of [['ES2023'], ['ES2023', 'DOM']]) {
      const config = { ...STRICT_TSCONFIG, compilerOptions: { ...STRICT_TSCONFIG.compilerOptions, lib } };
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(config, null, 2));
      const result = await run(process.execPath, [TSC, '-p', '.'], { cwd: project, timeout: 120_000 }).then(
        ({ stdout }) => stdout,
        (e: { stdout?: string }) => `tsc failed:\n${e.stdout}`,
      );
      expect(result, `lib ${lib.join(', ')}`).toBe('');
    }
  }, 150_000);

  it('the installed netcoproc runs the built CLI: --version, and emulate prints its listening line', async () => {
    const bin = join(project, 'node_modules', '.bin', 'netcoproc');
    const { stdout } = await run(bin, ['--version'], { cwd: project });
    expect(stdout).toBe(`netcoproc ${OURS.version}\n`);
    const proc = spawn(bin, ['emulate'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listening line in 30 s: ${out}`)), 30_000);
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^listening socket:\/\/127\.0\.0\.1:\d+$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
      proc.once('exit', (code) => reject(new Error(`emulate exited (${code}): ${out}`)));
    });
    expect(line).toMatch(/^listening socket:/);
    const code = await new Promise<number | null>((resolve) => {
      proc.removeAllListeners('exit');
      proc.once('exit', resolve);
      proc.kill('SIGTERM');
    });
    expect(code).toBe(0);
  }, 60_000);
});

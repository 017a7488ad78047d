#!/usr/bin/env node
/**
 * Builds the installed `netcoproc` command: bin/cli.ts and everything it imports, bundled by
 * esbuild into dist/cli/ (`netcoproc.js` plus chunks that load only when a command asks for
 * them). Run by `npm run build` (so by `prepare` and `prepack`) after tsc.
 *
 * Why a bundle (docs/package.md, "Start-up"): `emulate` must print `listening` within 300 ms.
 * Node 20 loads an ES module graph file by file (resolve, stat, read, compile, link) and has no
 * compile cache; the unbundled dist/bin/cli.js loads ~230 files and spends most of its start there.
 * Dependencies stay external (plain `node_modules` imports) except zod, whose own ~95 files and
 * unused locales are the single largest cost: it is bundled through bin/bundle/zod.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = `${ROOT}dist/cli`;
const LEAN_ZOD = `${ROOT}bin/bundle/zod.ts`;
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));

// 1. Every zod member the sources use must exist in the lean namespace: checked by tsc, whose
//    'zod' is mapped to bin/bundle/zod.ts there. A missing one stops the build here.
const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
const check = spawnSync(process.execPath, [tsc, '-p', `${ROOT}tsconfig.bundle.json`], { stdio: 'inherit' });
if (check.status !== 0) {
  console.error('bin/bundle/build.mjs: the sources use a zod member missing from bin/bundle/zod-members.ts');
  process.exit(1);
}

/** `import ... from 'zod'` → the lean namespace; 'zod/v4' (used by the lean namespace) stays zod's. */
const leanZod = {
  name: 'lean-zod',
  setup(b) {
    b.onResolve({ filter: /^zod$/ }, () => ({ path: LEAN_ZOD }));
  },
};

// 2. The bundle. Chunks are split along the CLI's own dynamic imports (a command's
//    implementation, --ui, --trace, the fixture PKI), so `emulate` loads only what it runs.
rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { netcoproc: 'bin/cli.ts' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Chunks beside netcoproc.js, two levels below the package root like dist/bin/*.js: the files
  // found from import.meta.url (package.json, fixtures/hosts.json, agent.py) are looked up there.
  chunkNames: '[name]-[hash]',
  external: Object.keys(pkg.dependencies).filter((name) => name !== 'zod'),
  plugins: [leanZod],
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});
if (result.errors.length || result.warnings.length) process.exit(1);

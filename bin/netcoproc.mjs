#!/usr/bin/env node
// The `netcoproc` command. Installed from the package it runs the bundled JavaScript in dist/cli/
// (built by bin/bundle/build.mjs: a few files instead of ~230, for a fast start; no TypeScript at
// run time). In the checkout, where bin/cli.ts sits beside this file, it runs the sources through
// tsx so edits need no build; NETCOPROC_DIST=1 runs the bundle there too.
import { existsSync } from 'node:fs';

const fromSource = process.env.NETCOPROC_DIST !== '1' && existsSync(new URL('./cli.ts', import.meta.url));
let cli;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('./cli.ts');
} else {
  cli = await import('../dist/cli/netcoproc.js');
}
cli.installLastResortHandlers();
process.exitCode = await cli.main(process.argv.slice(2));

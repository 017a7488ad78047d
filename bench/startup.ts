/**
 * CLI start-up: wall time from spawning `netcoproc emulate` (the bundled JavaScript in dist/cli/,
 * as installed from the package) to its `listening socket://…` line, over repeated runs like
 * hyperfine. Bare `node -e 0` runs interleaved with them give the machine's own floor: on a busy
 * machine both rise, so the ratio says more than either alone (docs/package.md, "Start-up").
 * `npx tsx bench/startup.ts [RUNS]` prints min / median / max; bench/run.ts reports it as a row.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Target } from './targets.js';

const BIN = fileURLToPath(new URL('../bin/netcoproc.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/cli/netcoproc.js', import.meta.url));

/** The contract's figure (ARCHITECTURE.md §8): `listening` within 300 ms of start. */
export const STARTUP_TARGET_MS = 300;

export interface Startup {
  runs: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
  /** Median of bare `node -e 0` runs on the same machine at the same time: what Node itself costs. */
  nodeBaselineMs: number;
  /** medianMs / nodeBaselineMs: start-up in units of a bare Node start on the same machine, same time. */
  ratioToNode: number;
  targetMs: number;
}

/** Wall time of one bare `node -e 0`, spawn to exit. */
function bareNode(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const proc = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    proc.once('error', reject);
    proc.once('exit', () => resolve(performance.now() - t0));
  });
}

/** One start: spawn, wait (at most 10 s) for `listening`, stop it with SIGTERM. */
function startOnce(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // NETCOPROC_DIST=1: the checkout's launcher runs dist/ as the installed package does.
    const proc = spawn(process.execPath, [BIN, 'emulate', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NETCOPROC_DIST: '1' },
    });
    let out = '';
    let elapsed: number | undefined;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no 'listening' line within 10 s: ${out}`));
    }, 10_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (elapsed === undefined && out.includes('listening ')) {
        elapsed = performance.now() - t0;
        proc.kill('SIGTERM');
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (elapsed !== undefined) resolve(elapsed);
      else reject(new Error(`emulate exited (${code}) before listening: ${out}`));
    });
  });
}

/** `runs` starts one after the other (after one warm-up, so the file cache is warm). */
export async function measureStartup(runs = 10, args: string[] = []): Promise<Startup> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
  await startOnce(args);
  const times: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    times.push(await startOnce(args));
    baseline.push(await bareNode());
  }
  const round = (n: number): number => Math.round(n * 10) / 10;
  const median = (xs: number[]): number => round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number);
  const medianMs = median(times);
  const nodeBaselineMs = median(baseline);
  return {
    runs,
    minMs: round(Math.min(...times)),
    medianMs,
    maxMs: round(Math.max(...times)),
    nodeBaselineMs,
    ratioToNode: Math.round((medianMs / nodeBaselineMs) * 100) / 100,
    targetMs: STARTUP_TARGET_MS,
  };
}

/** The row of bench/run.ts's targets: the median start against the contract's 300 ms. */
export function startupTarget(s: Startup): Target {
  return {
    name: 'CLI start-up to listening (built JS), median',
    actual: s.medianMs,
    target: s.targetMs,
    unit: 'ms',
    higherIsBetter: false,
    met: s.medianMs < s.targetMs,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const s = await measureStartup(Number(process.argv[2] ?? 10));
  console.log(
    `CLI start-up to listening: min ${s.minMs} ms, median ${s.medianMs} ms, max ${s.maxMs} ms over ${s.runs} runs ` +
      `(target ${s.targetMs} ms; bare \`node -e 0\` median ${s.nodeBaselineMs} ms, ratio ${s.ratioToNode})`,
  );
}

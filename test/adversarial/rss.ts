/**
 * Memory checks for the adversarial suites. Resident size alone cannot tell a leak from garbage
 * awaiting collection: V8 collects dead ArrayBuffers only when its heuristics say so (up to its
 * external-memory trigger, 64 MiB), and freed pages mostly stay resident. So the suites read what
 * is still held after a full GC (a leak grows it, round after round) and bound the resident peak
 * (VmHWM) separately. See docs/architecture.md "Memory under abuse".
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Resident memory of a process now, KiB (Linux). */
export function rssKiB(pid: number): number {
  return statusKiB(pid, 'VmRSS');
}

/** The most a process was ever resident, KiB (Linux). */
export function peakRssKiB(pid: number): number {
  return statusKiB(pid, 'VmHWM');
}

/** Node flags that make a child answer {@link heldMemory} (pass before the script). */
export const PROBE_NODE_ARGS = [
  '--expose-gc',
  '--import',
  fileURLToPath(new URL('./memory-probe.mjs', import.meta.url)),
];

/**
 * What a process holds after a full GC, KiB: the least of three probes 250 ms apart, so bytes still
 * in flight when the round ended (a download the last host left behind) are not read as held.
 */
export async function settledMemory(proc: ChildProcess, stderr: () => string): Promise<HeldMemory> {
  const first = await heldMemory(proc, stderr);
  let least = first;
  for (let i = 1; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const m = await heldMemory(proc, stderr);
    if (m.heapUsed + m.arrayBuffers < least.heapUsed + least.arrayBuffers) least = m;
  }
  // The first GC is the one that found the round's garbage.
  return { ...least, garbageArrayBuffers: first.garbageArrayBuffers };
}

/** What a process still holds after a full GC, KiB. */
export interface HeldMemory {
  heapUsed: number;
  arrayBuffers: number;
  /** ArrayBuffers the GC freed: garbage that was counted as resident until then. */
  garbageArrayBuffers: number;
}

/** Asks a child started with {@link PROBE_NODE_ARGS} for its memory after a full GC (deadline 5 s). */
export async function heldMemory(proc: ChildProcess, stderr: () => string): Promise<HeldMemory> {
  const seen = stderr().split('memory-probe ').length;
  proc.kill('SIGUSR2');
  const deadline = Date.now() + 5000;
  for (;;) {
    const parts = stderr().split('memory-probe ');
    if (parts.length > seen) {
      const m = JSON.parse((parts[parts.length - 1] as string).split('\n')[0] as string);
      if (!m.gc) throw new Error('memory probe without --expose-gc');
      return m as HeldMemory;
    }
    if (Date.now() > deadline) throw new Error('no memory-probe answer within 5000 ms');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * This process's memory after a full GC, KiB (heap in use plus live ArrayBuffers): the least of
 * three readings 250 ms apart, so bytes still in flight (in the socket, about to be read) settle.
 */
export async function heldHereKiB(): Promise<number> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 250));
    gc();
    const m = process.memoryUsage();
    least = Math.min(least, Math.round((m.heapUsed + m.arrayBuffers) / 1024));
  }
  return least;
}

/**
 * Memory of a child process, for "bounded memory" checks in the adversarial suites: VmRSS from
 * /proc/PID/status (Linux), in KiB.
 */
import { readFileSync } from 'node:fs';

export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

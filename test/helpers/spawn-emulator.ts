/**
 * Runs `netcoproc emulate` as a real child process, the way a user runs it, and waits (with a
 * deadline) for its `listening …` / `pty …` lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/netcoproc.mjs', import.meta.url));

export interface SpawnedEmulator {
  proc: ChildProcess;
  url?: string;
  pty?: string;
  stderr: () => string;
  stop(): Promise<number | null>;
}

export async function spawnEmulator(args: string[], timeoutMs = 15_000): Promise<SpawnedEmulator> {
  const proc = spawn(process.execPath, [CLI, 'emulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const wantPty = args.includes('--pty');
  const wantTcp = args.some((a) => a.startsWith('tcp://')) || !wantPty;
  const result: SpawnedEmulator = {
    proc,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', (code) => {
          clearTimeout(killer);
          resolve(code);
        });
        proc.kill('SIGTERM');
      }),
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator not ready in ${timeoutMs} ms: ${out} ${err}`)), timeoutMs);
    proc.once('exit', (code) => reject(new Error(`emulator exited (${code}): ${err}`)));
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      result.url = /listening (socket:\/\/\S+)/.exec(out)?.[1];
      result.pty = /^pty (\S+)/m.exec(out)?.[1];
      if ((!wantTcp || result.url) && (!wantPty || result.pty)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return result;
}

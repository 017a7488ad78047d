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
  /** The `listening rfc2217://…` locator, when started with `--rfc2217`. */
  rfc2217?: string;
  /** The live page (`ui http://127.0.0.1:PORT/`), when started with `--ui`. */
  ui?: string;
  stderr: () => string;
  /** Everything printed so far (later lines too: `forward …`, `ca FILE`). */
  stdout: () => string;
  stop(): Promise<number | null>;
}

/** @param nodeArgs Node flags for the child (before the script), e.g. test/adversarial/rss.ts's probe. */
export async function spawnEmulator(
  args: string[],
  timeoutMs = 15_000,
  nodeArgs: string[] = [],
): Promise<SpawnedEmulator> {
  const proc = spawn(process.execPath, [...nodeArgs, CLI, 'emulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const wantPty = args.includes('--pty');
  const wantRfc2217 = args.includes('--rfc2217');
  const wantUi = args.includes('--ui');
  const wantTcp = args.some((a) => a.startsWith('tcp://')) || (!wantPty && !wantRfc2217);
  const result: SpawnedEmulator = {
    proc,
    stderr: () => err,
    stdout: () => out,
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
    const timer = setTimeout(
      () => reject(new Error(`emulator not ready in ${timeoutMs} ms: ${out} ${err}`)),
      timeoutMs,
    );
    proc.once('exit', (code) => reject(new Error(`emulator exited (${code}): ${err}`)));
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      result.url = /listening (socket:\/\/\S+)/.exec(out)?.[1];
      result.pty = /^pty (\S+)/m.exec(out)?.[1];
      result.rfc2217 = /listening (rfc2217:\/\/\S+)/.exec(out)?.[1];
      result.ui = /^ui (http:\/\/\S+)/m.exec(out)?.[1];
      const ready = (!wantTcp || result.url) && (!wantPty || result.pty) && (!wantRfc2217 || result.rfc2217);
      if (ready && (!wantUi || result.ui)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return result;
}

/**
 * `netcoproc trace FILE` as a user meets it: the conversation of a trace the host wrote, a clear
 * one-line error (exit 1) for a file that is not pcapng or does not exist, the usage (exit 2)
 * without a file; and `openDevice(…, { trace })` with a path it cannot write fails naming it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../index.js';
import { CLI } from './helpers/spawn-emulator.js';

const dir = mkdtempSync(join(tmpdir(), 'netcoproc-trace-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

describe('netcoproc trace', () => {
  it('prints the conversation of an in-process run traced by the host', async () => {
    const file = join(dir, 'inproc.pcapng');
    const dev = await openDevice('emulator:', { trace: file, emulator: { pki: undefined } });
    const s = await dev.socket.socket();
    s.settimeout(5);
    await s.connect(['refused.test', 80]).catch(() => {});
    await s.close();
    await dev.close();
    const r = await cli('trace', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ {3}0\.000 host→dev {2}#1 HELLO/m);
    expect(r.out).toMatch(/^ +[\d.]+ dev→host {2}CONNECTED sock 0 status ECONNREFUSED/m);
  });

  it('a file that is not pcapng, or no file: one line and exit 1', async () => {
    const junk = join(dir, 'junk.pcapng');
    writeFileSync(junk, 'GET / HTTP/1.1\r\n\r\n');
    const r = await cli('trace', junk);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`netcoproc trace: ${junk}: not a pcapng file (no section header)\n`);
    const missing = await cli('trace', join(dir, 'nope.pcapng'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^netcoproc trace: cannot read .*nope\.pcapng: ENOENT\n$/);
  });

  it('no file: the usage and exit 2', async () => {
    const r = await cli('trace');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^netcoproc trace: .*\nusage: netcoproc trace \[--absolute\] FILE\.pcapng\n/);
  });

  it('openDevice with a trace path it cannot create fails naming the file', async () => {
    const bad = join(dir, 'no-such-dir', 'x.pcapng');
    await expect(openDevice('emulator:', { trace: bad, emulator: { pki: undefined } })).rejects.toThrow(
      `cannot create trace ${bad}`,
    );
  });
});

/**
 * `netcoproc emulate`'s log lines on stderr, as a user sees them: attach, busy, reboot and detach
 * by default; every decoded serial exchange with --verbose; nothing of the kind with --quiet.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openDevice } from '../index.js';
import { spawnEmulator } from './helpers/spawn-emulator.js';

/** Waits until `get()` matches, or fails after `ms` with what it had. */
async function until(get: () => string, re: RegExp, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(get())) {
    if (Date.now() > end) throw new Error(`no ${re} in:\n${get()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function bootNonce(ui: string): Promise<string> {
  return ((await (await fetch(`${ui}api/state`)).json()) as { board: { bootNonce: string } }).board.bootNonce;
}

/** A session: attach, a second host turned away, a reboot from the page's API, detach. */
async function session(flags: string[]): Promise<string> {
  const emu = await spawnEmulator(['--ui', ...flags]);
  const ui = emu.ui as string;
  try {
    const dev = await openDevice(emu.url as string);
    const second = connect(Number(new URL((emu.url as string).replace('socket:', 'http:')).port), '127.0.0.1');
    second.on('error', () => {});
    let note = '';
    second.on('data', (d: Buffer) => {
      note += d.toString();
    });
    await until(() => (second.destroyed ? `closed ${note}` : ''), /closed netcoproc: busy/);
    const before = await bootNonce(ui);
    expect((await fetch(`${ui}api/faults/reboot`, { method: 'POST' })).status).toBe(200);
    let after = before;
    for (const end = Date.now() + 5000; after === before && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 20));
      after = await bootNonce(ui);
    }
    expect(after).not.toBe(before);
    await dev.close();
    // The detach line follows the close of the TCP connection.
    await until(() => (flags.includes('--quiet') ? 'quiet' : emu.stderr()), /detached|quiet/);
  } finally {
    expect(await emu.stop()).toBe(0);
  }
  return emu.stderr();
}

describe('emulate log lines', () => {
  it('say attach, busy, reboot (with the new boot nonce) and detach by default', async () => {
    const err = await session([]);
    expect(err).toMatch(/^socket: host 127\.0\.0\.1:\d+ attached \(socket:\/\/127\.0\.0\.1:\d+\)$/m);
    expect(err).toMatch(/^socket: busy: host 127\.0\.0\.1:\d+ turned away/m);
    expect(err).toMatch(/^reboot, boot nonce [0-9a-f]{16}$/m);
    expect(err).toMatch(/^socket: host 127\.0\.0\.1:\d+ detached/m);
    expect(err).not.toMatch(/HELLO/);
  }, 30_000);

  it('--verbose adds every serial exchange decoded', async () => {
    const err = await session(['--verbose']);
    expect(err).toMatch(/^host→dev {2}#1 HELLO version 1/m);
    expect(err).toMatch(/^dev→host {2}BOOT version 1 bootNonce [0-9a-f]{16}$/m);
    expect(err).toMatch(/attached/);
  }, 30_000);

  it('--quiet says none of it', async () => {
    const err = await session(['--quiet']);
    expect(err).not.toMatch(/attached|busy|reboot|HELLO/);
  }, 30_000);
});

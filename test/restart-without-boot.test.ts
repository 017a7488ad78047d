/**
 * Liveness with no user timeout (ARCHITECTURE §9). A board that restarts behind a link that stays open, and whose BOOT frame never reaches the
 * host (corrupted, or sent while nobody read): the keep-alive exchange carries the boot nonce
 * (SPEC §4.4, revision 1.1), so the host notices the new board by itself — with no user timeout,
 * within ARCHITECTURE §9's 3 s — and a pending blocking recv fails with ECONNRESET.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator/index.js';
import { OSError, openDevice } from '../index.js';

/** Device → host bytes pass unchanged, except BOOT frames while `dropBoot` is set. */
function lineLosingBoot(uart: Duplex): { line: Duplex; dropBoot: { on: boolean } } {
  const dropBoot = { on: false };
  const line = new Duplex({
    write(chunk, _enc, done) {
      uart.write(chunk, done);
    },
    read() {},
  });
  uart.on('data', (chunk: Buffer) => {
    // The in-process personality pushes one whole frame per chunk: C0, version 01, kind 02 (event),
    // seq, opcode 80 (BOOT). None of these bytes needs escaping.
    const isBoot = chunk[0] === 0xc0 && chunk[1] === 1 && chunk[2] === 2 && chunk[5] === 0x80;
    if (!(isBoot && dropBoot.on)) line.push(chunk);
  });
  return { line, dropBoot };
}

const outcome = (p: Promise<unknown>, deadlineMs: number): Promise<unknown> =>
  Promise.race([
    p.then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    new Promise((r) => setTimeout(() => r(`still pending after ${deadlineMs} ms`), deadlineMs)),
  ]);

describe('a restart whose BOOT was lost (SLIP)', () => {
  it('a blocking recv fails with ECONNRESET within 3 s, and the next socket works', async () => {
    const emu = createEmulator({ seed: 11 });
    const { line, dropBoot } = lineLosingBoot(emu.uart);
    const dev = await openDevice(line);
    try {
      const resets: unknown[] = [];
      dev.on('reset', (r) => resets.push(r));
      const s = await dev.socket.socket();
      await s.connect(['echo.test', 7]);
      const before = dev.driver.session.bootNonce;
      const pending = s.recv(10); // blocking: no user timeout anywhere
      await new Promise((r) => setTimeout(r, 50));
      dropBoot.on = true;
      emu.reboot();
      const got = await outcome(pending, 3000);
      expect(got).toBeInstanceOf(OSError);
      expect((got as OSError).errno).toBe(dev.errno.ECONNRESET);
      expect((got as OSError).message).toMatch(/restarted/);
      expect(resets.length).toBeGreaterThanOrEqual(1);
      dropBoot.on = false;
      // The driver re-ran its handshake: it knows the new board, and sockets work again.
      const c = await dev.socket.socket();
      c.settimeout(5);
      await c.connect(['echo.test', 7]);
      expect(dev.driver.session.bootNonce).not.toBe(before);
      await c.sendall('again');
      expect(Buffer.from((await c.read(5)) as Uint8Array).toString()).toBe('again');
      await c.close();
      await s.close();
    } finally {
      await dev.close();
      await emu.close();
    }
  });

  it('a board that goes silent: a blocking recv fails with ETIMEDOUT "not responding" within 3 s', async () => {
    const emu = createEmulator({ seed: 12, faults: {} });
    const dev = await openDevice(emu.uart);
    try {
      const s = await dev.socket.socket();
      await s.connect(['echo.test', 7]);
      const pending = s.recv(10); // blocking: no user timeout anywhere
      emu.faults.hang();
      const got = await outcome(pending, 3000);
      expect(got).toBeInstanceOf(OSError);
      expect((got as OSError).errno).toBe(dev.errno.ETIMEDOUT);
      expect((got as OSError).message).toMatch(/not responding/);
    } finally {
      emu.faults.resume();
      await dev.close();
      await emu.close();
    }
  });
});

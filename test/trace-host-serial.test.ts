/**
 * The host's trace on serial links, as with a real board: the driver talks through the trace's
 * tap while the Device keeps the port itself, so run-time baud changes (serialport `update` over
 * a real pty, RFC 2217 SET-BAUDRATE) still reach the port, and the trace holds the whole
 * conversation (UART_CONFIG included) once `dev.close()` has resolved.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { traceLines } from '../bin/trace.js';
import { openDevice } from '../index.js';
import { spawnEmulator } from './helpers/spawn-emulator.js';

const dir = mkdtempSync(join(tmpdir(), 'netcoproc-host-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(text: () => string, pattern: RegExp, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !pattern.test(text()); ) {
    if (Date.now() > end) throw new Error(`not seen in ${ms} ms: ${pattern} in:\n${text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ['a pty through serialport', ['--pty'], 'pty'],
  ['rfc2217://', ['--rfc2217', '0'], 'rfc2217'],
] as const)('host trace over %s', (_name, args, key) => {
  it('records HELLO, UART_CONFIG and the socket calls; the baud change reaches the port', async () => {
    const emu = await spawnEmulator([...args]);
    const file = join(dir, `${key}.pcapng`);
    const dev = await openDevice(emu[key] as string, { baudRate: 115200, trace: file });
    try {
      await dev.setBaudRate(921600);
      await waitFor(emu.stderr, /uart 921600 8N1/);
      if (key === 'rfc2217') await waitFor(emu.stderr, /rfc2217: baud 921600/);
      const s = await dev.socket.socket();
      s.settimeout(5);
      await s.connect(['echo.test', 7]);
      await s.sendall('traced');
      expect(Buffer.from((await s.read(6)) as Uint8Array).toString()).toBe('traced');
      await s.close();
    } finally {
      await dev.close();
      expect(await emu.stop()).toBe(0);
    }
    const text = traceLines(readFileSync(file)).join('\n');
    expect(text).toMatch(/host→dev {2}#1 HELLO version 1/);
    expect(text).toMatch(/host→dev {2}#\d+ UART_CONFIG baudRate 921600 dataBits 8 parity 0 stopBits 1/);
    expect(text).toMatch(/dev→host {2}#\d+ UART_CONFIG ok/);
    expect(text).toMatch(/host→dev {2}#\d+ SEND sock 0 data 6 bytes/);
    expect(text).toMatch(/host→dev {2}#\d+ CLOSE sock 0/);
  }, 30_000);
});

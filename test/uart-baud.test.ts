/**
 * Switching the line speed at run time, in agreement with the device (issue "Real hardware",
 * item 3): the host asks the device (SLIP UART_CONFIG, or AT+UART_CUR), which answers at the old
 * speed, then the host's own port follows. Over rfc2217:// both changes are visible in the
 * emulator's log; the link keeps working afterwards.
 */
import { describe, expect, it } from 'vitest';
import { openDevice } from '../index.js';
import { spawnEmulator } from './helpers/spawn-emulator.js';

async function waitFor(text: () => string, pattern: RegExp, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pattern.test(text())) {
    if (Date.now() > end) throw new Error(`not seen in ${ms} ms: ${pattern} in:\n${text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ['slip', []],
  ['at', ['--protocol', 'at']],
] as const)('setBaudRate over %s', (protocol, extra) => {
  it('the device switches first, then the local port; the link keeps working', async () => {
    const emu = await spawnEmulator([...extra, '--rfc2217', '0']);
    const dev = await openDevice(emu.rfc2217 as string, { protocol, baudRate: 115200 });
    try {
      await dev.setBaudRate(921600);
      await waitFor(emu.stderr, /uart 921600 8N1/);
      await waitFor(emu.stderr, /rfc2217: baud 921600/);
      const log = emu.stderr();
      expect(log.indexOf('uart 921600')).toBeLessThan(log.lastIndexOf('rfc2217: baud 921600'));
      const s = await dev.socket.socket();
      s.settimeout(5);
      await s.connect(['echo.test', 7]);
      await s.sendall('still talking');
      expect(Buffer.from((await s.read(13)) as Uint8Array).toString()).toBe('still talking');
      await s.close();
      await expect(dev.setBaudRate(12)).rejects.toThrow(/baudRate/);
    } finally {
      await dev.close();
      expect(await emu.stop()).toBe(0);
    }
  });
});

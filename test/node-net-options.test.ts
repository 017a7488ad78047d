/**
 * dev.net's setNoDelay/setKeepAlive over ESP-AT reach the board: the emulator's own
 * AT+CIPTCPOPT? (asked through the driver's channel) shows the values on the socket's link.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { infoLines } from '../host-lib/at/command.js';
import { type AtDriver, type Device, openDevice } from '../index.js';

/** The +CIPTCPOPT rows as [id, linger, nodelay, sndtimeo, keep_alive]. */
async function tcpOpts(dev: Device<AtDriver>): Promise<unknown[][]> {
  const reply = await dev.driver.channel.run({ name: 'CIPTCPOPT', form: 'query' });
  return infoLines(reply, '+CIPTCPOPT').map((l) => l.fields);
}

describe("dev.net socket options over openDevice('emulator:', { protocol: 'at' })", () => {
  it('setNoDelay(true) and setKeepAlive(true, 5000) show in the board’s AT+CIPTCPOPT?', async () => {
    const dev = (await openDevice('emulator:', { protocol: 'at' })) as Device<AtDriver>;
    try {
      expect((await tcpOpts(dev)).every((f) => f[2] === 0 && f[4] === 0)).toBe(true);
      const sock = dev.net.connect(7, 'echo.test');
      sock.setNoDelay(true); // before connect: remembered, written after AT+CIPSTART
      await once(sock, 'connect');
      sock.setKeepAlive(true, 5000); // connected: written at once
      const want = [-1, 1, 0, 5];
      const deadline = Date.now() + 5000;
      let rows = await tcpOpts(dev);
      while (!rows.some((f) => JSON.stringify(f.slice(1)) === JSON.stringify(want)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        rows = await tcpOpts(dev);
      }
      expect(rows.filter((f) => JSON.stringify(f.slice(1)) === JSON.stringify(want))).toHaveLength(1);
      sock.setNoDelay(false);
      sock.setKeepAlive(false);
      const id = rows.find((f) => f[2] === 1)![0];
      let row: unknown[] | undefined;
      for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
        row = (await tcpOpts(dev)).find((f) => f[0] === id);
        if (row?.[2] === 0 && row[4] === 0) break;
      }
      expect(row).toEqual([id, -1, 0, 0, 0]);
      sock.destroy();
    } finally {
      await dev.close();
    }
  });
});

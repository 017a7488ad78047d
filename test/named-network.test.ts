/**
 * Two emulator processes on one named virtual network (`--join NAME`), as MicroPython's
 * two-instance multi_net tests need: device A listens, device B connects through the network,
 * data flows both ways, and A sees B's virtual address in accept.
 */
import { describe, expect, it } from 'vitest';
import { openDevice } from '../index.js';
import { spawnEmulator } from './helpers/spawn-emulator.js';

describe('--join NAME', () => {
  it("two emulator processes share a network: A accepts B with B's own address", async () => {
    const name = `lab${process.pid}`;
    const ea = await spawnEmulator(['--join', name, '--listen', 'tcp://127.0.0.1:0']);
    const eb = await spawnEmulator(['--join', name, '--listen', 'tcp://127.0.0.1:0']);
    const a = await openDevice(ea.url as string);
    const b = await openDevice(eb.url as string);
    try {
      const srv = await a.socket.socket();
      await srv.bind(['0.0.0.0', 8000]);
      await srv.listen(1);
      const cli = await b.socket.socket();
      cli.settimeout(5);
      await cli.connect(['10.77.0.2', 8000]);
      srv.settimeout(5);
      const [conn, peer] = await srv.accept();
      expect(peer[0]).toBe('10.77.0.3');
      await cli.sendall('from B');
      expect(Buffer.from((await conn.read(6)) as Uint8Array).toString()).toBe('from B');
      await conn.sendall('from A');
      expect(Buffer.from((await cli.read(6)) as Uint8Array).toString()).toBe('from A');
      // Both still reach the built-in hosts.
      const u = await b.socket.socket(b.socket.AF_INET, b.socket.SOCK_DGRAM);
      u.settimeout(5);
      await u.sendto('dgram', ['echo.test', 7]);
      expect(Buffer.from((await u.recvfrom(10))[0]).toString()).toBe('dgram');
      for (const s of [u, cli, conn, srv]) await s.close();
    } finally {
      await a.close();
      await b.close();
      expect(await eb.stop()).toBe(0);
      expect(await ea.stop()).toBe(0);
    }
  });
});

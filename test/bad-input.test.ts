/**
 * Garbage on the serial line: neither side crashes; the host reports bad frames and
 * resynchronises at the next END; the emulator (a real process) keeps serving.
 */
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator/index.js';
import { openDevice } from '../index.js';
import { allBytes, echoThrough } from './helpers/patterns.js';
import { spawnEmulator } from './helpers/spawn-emulator.js';

/** A link between host and emulator UART that can inject bytes towards the host. */
function tapLink(uart: Duplex): { link: Duplex; injectToHost(b: Uint8Array): void } {
  const link = new Duplex({
    write(chunk, _enc, cb) {
      uart.write(chunk, cb);
    },
    read() {},
  });
  uart.on('data', (c: Buffer) => link.push(c));
  return { link, injectToHost: (b) => link.push(b) };
}

describe('bad input on the line', () => {
  it('the host counts garbage as bad frames, resynchronises, and loses nothing', async () => {
    const emu = createEmulator();
    const { link, injectToHost } = tapLink(emu.uart);
    const dev = await openDevice(link);
    const bad: string[] = [];
    dev.on('bad-frame', (r: string) => bad.push(r));
    const s = await dev.socket.socket();
    s.settimeout(5);
    await s.connect(['echo.test', 7]);
    // Garbage between frames: a frame with a bad CRC, a bad escape, random noise.
    injectToHost(Buffer.from('\xc0noise\xc0\xdb\x41\xc0', 'latin1'));
    injectToHost(Buffer.from([0xc0, 1, 2, 0, 9, 0x81, 0, 0, 0xaa, 1, 2, 3, 4, 0xc0]));
    const data = allBytes(100_000);
    expect((await echoThrough(s, data)).equals(data)).toBe(true);
    expect(bad.length).toBeGreaterThanOrEqual(3);
    expect(dev.driver.badFrames).toBe(bad.length);
    await dev.close();
    await emu.close();
  });

  it('the emulator process survives garbage and then serves a proper host', async () => {
    const emu = await spawnEmulator(['--listen', 'tcp://127.0.0.1:0']);
    const url = new URL(emu.url as string);
    await new Promise<void>((resolve, reject) => {
      const c = connect(Number(url.port), url.hostname, () => {
        const junk = Buffer.alloc(200_000);
        for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
        c.end(Buffer.concat([junk, Buffer.from([0xc0, 0xc0]), Buffer.from('AT\r\n')]));
      });
      c.on('error', reject);
      c.on('close', () => resolve());
      c.resume();
    });
    const dev = await openDevice(emu.url as string);
    const s = await dev.socket.socket();
    await s.connect(['echo.test', 7]);
    await s.sendall('still alive');
    expect(Buffer.from(await s.recv(100)).toString()).toBe('still alive');
    await dev.close();
    expect(emu.stderr()).toMatch(/bad frame from host/);
    expect(await emu.stop()).toBe(0);
  });

  it('a host that finds no SLIP device gives a clear error within its deadline', async () => {
    const silent = new Duplex({ write: (_c, _e, cb) => cb(), read() {} });
    const t0 = Date.now();
    await expect(openDevice(silent, { helloTimeoutMs: 400 })).rejects.toThrow(/no SLIP RPC coprocessor answered/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

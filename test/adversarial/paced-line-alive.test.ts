/**
 * A slow paced line is not a silent board: with the liveness defaults (probe after 500 ms without
 * life, docs/architecture.md "Liveness schedule"), an echo through `netcoproc emulate --baud N`
 * (bytes paced as on a real UART, both ways at once) completes intact and the device never emits
 * `hang`. On ESP-AT each AT+CIPSEND payload (at most 0.5 s of line time at the known or measured rate) is
 * a stretch where no probe can go out; on SLIP frames queue behind each other for the line's time.
 *
 * ESP-AT over socket:// knows no baud rate: it measures the line's speed from how soon each
 * payload is confirmed (`Recv N bytes`) and sizes CIPSENDs to 0.5 s of line time at it, starting
 * at 480 bytes (9600 baud assumed), host-lib/at/line-rate.ts. Before that it assumed 115200 and
 * sent 8 KiB CIPSENDs there: behind a 19200 line one takes 4.3 s, and the board was declared lost
 * inside it after 0.5 + 1.5 + 0.71 = 2.7 s of silence (the 19200 socket case failed so). The
 * allowance stays bounded: a board silent inside a CIPSEND is still declared lost within 3 s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { type Device, openDevice } from '../../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../helpers/spawn-emulator.js';
import { HostileDevice } from './hostile-device.js';

let emu: SpawnedEmulator | undefined;
let bad: HostileDevice | undefined;
afterEach(async () => {
  await emu?.stop();
  await bad?.close();
  emu = undefined;
  bad = undefined;
});

/**
 * `via`: socket:// (the host knows no baud rate and must learn the line's speed) or a pty opened
 * with the line's `baudRate` (as a real serial port is).
 */
const CASES = [
  { protocol: 'at', via: 'socket', baud: 115200, size: 32 * 1024 },
  { protocol: 'at', via: 'socket', baud: 19200, size: 16 * 1024 },
  { protocol: 'at', via: 'pty', baud: 19200, size: 16 * 1024 },
  { protocol: 'slip', via: 'socket', baud: 115200, size: 32 * 1024 },
  { protocol: 'slip', via: 'socket', baud: 19200, size: 8 * 1024 },
] as const;

describe.each(CASES)('$protocol via $via paced at $baud baud', ({ protocol, via, baud, size }) => {
  it(`a ${size / 1024} KiB echo completes intact and the board is never declared lost`, async () => {
    const where = via === 'socket' ? ['--listen', 'tcp://127.0.0.1:0'] : ['--pty'];
    emu = await spawnEmulator([...where, '--protocol', protocol, '--baud', String(baud)]);
    const dev = (await (via === 'socket'
      ? openDevice(emu.url as string, { protocol })
      : openDevice(emu.pty as string, { protocol, baudRate: baud }))) as Device;
    const hangs: unknown[] = [];
    dev.on('hang', (e: unknown) => hangs.push(e));
    try {
      const s = await dev.socket.socket();
      s.settimeout(60);
      await s.connect(['echo.test', 7]);
      const data = Buffer.alloc(size);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
      const [, back] = await Promise.all([s.sendall(data), s.read(data.length)]);
      expect(Buffer.from(back as Uint8Array).equals(data)).toBe(true);
      expect(hangs).toEqual([]);
      await s.close();
    } finally {
      await dev.close();
    }
  }, 90_000);
});

describe('the allowance is bounded', () => {
  it('ESP-AT over socket:// (speed unknown): a board silent from a CIPSEND prompt on is declared lost within 3 s', async () => {
    bad = await HostileDevice.start('at');
    const dev = await openDevice(bad.url, { protocol: 'at' });
    dev.on('error', () => {});
    try {
      const s = await dev.socket.socket();
      await s.connect(['echo.test', 7]);
      let silentAt = 0;
      // After the board's `>` reaches the host (the board's listener forwards it first), it goes silent.
      bad.board.uart.on('data', (b: Buffer) => {
        if (!silentAt && b.includes('>')) {
          silentAt = Date.now();
          bad?.silence();
        }
      });
      const err = await s.sendall(Buffer.alloc(64 * 1024, 0x5a)).then(
        () => undefined,
        (e: Error & { errno?: number }) => e,
      );
      const ms = Date.now() - silentAt;
      expect(silentAt).toBeGreaterThan(0);
      expect(err?.errno).toBe(E.ETIMEDOUT);
      expect(ms, `declared lost ${ms} ms after the prompt`).toBeLessThan(3000);
      expect(ms).toBeGreaterThan(2000); // not before the probe schedule allows (idle + answer)
    } finally {
      await dev.close();
    }
  }, 30_000);
});

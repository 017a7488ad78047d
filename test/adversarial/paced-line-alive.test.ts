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

/** Echoes `data` through echo.test:7 (send and read at once), asserts it came back intact with no `hang`, then closes `dev`. */
async function echoesIntact(dev: Device, data: Buffer): Promise<void> {
  const hangs: unknown[] = [];
  dev.on('hang', (e: unknown) => hangs.push(e));
  try {
    const s = await dev.socket.socket();
    s.settimeout(60);
    await s.connect(['echo.test', 7]);
    const [, back] = await Promise.all([s.sendall(data), s.read(data.length)]);
    expect(Buffer.from(back as Uint8Array).equals(data)).toBe(true);
    expect(hangs).toEqual([]);
    await s.close();
  } finally {
    await dev.close();
  }
}

describe.each(CASES)('$protocol via $via paced at $baud baud', ({ protocol, via, baud, size }) => {
  it(`a ${size / 1024} KiB echo completes intact and the board is never declared lost`, async () => {
    const where = via === 'socket' ? ['--listen', 'tcp://127.0.0.1:0'] : ['--pty'];
    emu = await spawnEmulator([...where, '--protocol', protocol, '--baud', String(baud)]);
    const dev = (await (via === 'socket'
      ? openDevice(emu.url as string, { protocol })
      : openDevice(emu.pty as string, { protocol, baudRate: baud }))) as Device;
    const data = Buffer.alloc(size);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    await echoesIntact(dev, data);
  }, 90_000);
});

/**
 * SLIP over socket:// knows no baud rate either: the reliable link learns the line's speed from how
 * soon its frames are acknowledged (firmware-protocol/line-rate.ts) and models the line with it, and
 * a request's deadline counts from when the device could have answered (behind the frames queued on
 * the line). The worst case for a line of unknown speed is data SLIP escapes: every 0xC0 byte takes
 * two on the line, so 6 KiB is 12 KiB of line each way, 6.4 s at 19200. Without the learnt speed the
 * link timed its frames without their line time (false timeouts wasted the line: over 16 s for an
 * 8 KiB echo of 8.5 s) and the last SENDs, issued at once, were answered after the 4 s deadline
 * (ETIMEDOUT: "coprocessor did not answer SEND within 4000 ms"). 6 KiB with a 4 s deadline fails the
 * old way by over 2 s of line time while the run stays about 7 s (16 KiB with the 30 s default, 17 s of
 * line, failed the same way; it now completes in about 19 s).
 */
describe('SLIP via socket paced at 19200 baud, the speed unknown to the host', () => {
  it('a 6 KiB echo of 0xC0 (12 KiB of line each way) completes intact with a 4 s request deadline', async () => {
    emu = await spawnEmulator(['--listen', 'tcp://127.0.0.1:0', '--protocol', 'slip', '--baud', '19200']);
    const dev = await openDevice(emu.url as string, { protocol: 'slip', requestTimeoutMs: 4000 });
    await echoesIntact(dev as Device, Buffer.alloc(6 * 1024, 0xc0));
  }, 60_000);

  /**
   * With frames unacknowledged the keep-alive declares a board lost after 0.5 s + 1.5 s + two
   * retransmission timeouts (as they were before the silence) without a valid frame (docs/architecture.md
   * "Liveness schedule"); on this line the RTO counts the device's 1 s frames. Measured 1.6-1.8 s
   * after the stop alone, 4.1 s with other suites running; 3.6-4.8 s alone when the link timed frames
   * without their line time (its false timeouts had doubled the RTO).
   */
  it('a board that stops mid-echo (SIGSTOP: not a byte more, TCP open) is declared lost on schedule', async () => {
    emu = await spawnEmulator(['--listen', 'tcp://127.0.0.1:0', '--protocol', 'slip', '--baud', '19200']);
    const dev = await openDevice(emu.url as string, { protocol: 'slip' });
    dev.on('error', () => {});
    let hangAt = 0;
    dev.on('hang', () => {
      hangAt = Date.now();
    });
    const proc = emu.proc;
    const rpc = () => (dev.driver as unknown as { rpc: { reliable: { link?: { currentRtoMs: number } } } }).rpc;
    try {
      const s = await dev.socket.socket();
      s.settimeout(60);
      await s.connect(['echo.test', 7]);
      const data = Buffer.alloc(16 * 1024, 0xc0); // 17 s of line: still under way at the stop
      const echo = Promise.all([s.sendall(data), s.read(data.length)]).then(
        () => undefined,
        (e: Error & { errno?: number }) => e,
      );
      await new Promise((r) => setTimeout(r, 3000)); // the speed is learnt by now
      const rtoMs = rpc().reliable.link?.currentRtoMs ?? 0;
      proc.kill('SIGSTOP');
      const stoppedAt = Date.now();
      const err = await echo;
      expect(err?.errno, err?.message).toBe(E.ETIMEDOUT);
      expect(hangAt).toBeGreaterThan(0);
      // The rule's allowance, plus the keep-alive's check period and a loaded machine's late timers.
      const allowed = 500 + 1500 + 2 * rtoMs + 125 + 500;
      const ms = hangAt - stoppedAt;
      expect(ms, `declared lost ${ms} ms after the stop (RTO ${rtoMs} ms)`).toBeLessThan(allowed);
    } finally {
      proc.kill('SIGCONT');
      await dev.close();
    }
  }, 60_000);
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

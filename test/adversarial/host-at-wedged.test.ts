/**
 * A board wedged by a previous host: that host died after `AT+CIPSEND=0,2048` (or inside
 * passthrough), and the board — as real ESP-AT firmware does — still waits for the payload,
 * taking every byte as data. The next openDevice must find it anyway (host-lib/at/unwedge.ts).
 * The emulator runs as its own process, on a real TCP socket, and keeps its state between hosts.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openDevice } from '../../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../helpers/spawn-emulator.js';
import { timed } from './hostile-device.js';

let emu: SpawnedEmulator | undefined;

afterEach(async () => {
  if (emu) expect(await emu.stop()).toBe(0);
  emu = undefined;
});

/** A host that says `lines`, waiting for each reply to end with `until`, then dies. */
async function previousHost(url: string, lines: [string, string][]): Promise<void> {
  const { hostname, port } = new URL(url.replace('socket://', 'tcp://'));
  const c = net.connect(Number(port), hostname);
  await new Promise((r) => c.once('connect', r));
  let seen = '';
  c.on('data', (d: Buffer) => {
    seen += d.toString('latin1');
  });
  for (const [line, until] of lines) {
    seen = '';
    c.write(line);
    const deadline = Date.now() + 3000;
    while (!seen.includes(until)) {
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(until)} after ${line}: ${seen}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  c.destroy();
  await new Promise((r) => setTimeout(r, 300)); // the emulator frees its one host seat on 'close'
}

const CONNECTED: [string, string][] = [
  ['ATE0\r\n', 'OK'],
  ['AT+CIPMUX=1\r\n', 'OK'],
  ['AT+CIPSTART=0,"TCP","echo.test",7\r\n', 'OK'],
];

/** openDevice succeeds within 6 s, and a new socket echoes `text` through echo.test. */
async function opensAndEchoes(url: string, text: string): Promise<void> {
  const r = await timed(openDevice(url, { protocol: 'at' }));
  expect(r.err).toBeUndefined();
  expect(r.ms).toBeLessThan(6000);
  const dev = r.value!;
  const s = await dev.socket.socket();
  s.settimeout(5);
  await s.connect(['echo.test', 7]);
  await s.sendall(text);
  expect(Buffer.from(await s.recv(text.length)).toString()).toBe(text);
  await dev.close();
}

describe('a board wedged by a previous host (ESP-AT, socket://)', () => {
  it('waiting for the 2048 bytes of AT+CIPSEND=0,2048: openDevice still succeeds, and sockets work', async () => {
    emu = await spawnEmulator(['--protocol', 'at', '--listen', 'tcp://127.0.0.1:0']);
    await previousHost(emu.url!, [...CONNECTED, ['AT+CIPSEND=0,2048\r\n', '>']]);
    await opensAndEchoes(emu.url!, 'after the wedge');
  });

  it('left in passthrough (AT+CIPMODE=1, AT+CIPSEND): openDevice leaves it with +++ and succeeds', async () => {
    emu = await spawnEmulator(['--protocol', 'at', '--listen', 'tcp://127.0.0.1:0']);
    await previousHost(emu.url!, [
      ['ATE0\r\n', 'OK'],
      ['AT+CIPSTART="TCP","echo.test",7\r\n', 'OK'],
      ['AT+CIPMODE=1\r\n', 'OK'],
      ['AT+CIPSEND\r\n', '>'],
    ]);
    await opensAndEchoes(emu.url!, 'after passthrough');
  });
});

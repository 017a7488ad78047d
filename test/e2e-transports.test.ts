/**
 * End to end over real parts: the emulator runs as its own process (`netcoproc emulate --pty
 * --listen tcp://127.0.0.1:0`), and host-lib opens it through a real pty with serialport and
 * through socket://. Each transport carries a full-duplex 1 MiB echo of every byte value, an
 * HTTP download and a UDP round trip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../index.js';
import { allBytes, echoThrough, splitHttp } from './helpers/patterns.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

describe.each([
  ['pty via serialport', ['--pty'], (e: SpawnedEmulator) => e.pty as string],
  ['socket://', ['--listen', 'tcp://127.0.0.1:0'], (e: SpawnedEmulator) => e.url as string],
])('over %s', (_name, args, locator) => {
  let emu: SpawnedEmulator;
  let dev: Device;
  beforeAll(async () => {
    emu = await spawnEmulator(args);
    dev = await openDevice(locator(emu), { baudRate: 921600 });
  });
  afterAll(async () => {
    await dev.close();
    expect(await emu.stop()).toBe(0);
  });

  it('echoes 1 MiB of every byte value, written and read concurrently, intact', async () => {
    const { socket } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    s.settimeout(30);
    await s.connect((await socket.getaddrinfo('echo.test', 7))[0]![4]);
    const data = allBytes(1 << 20);
    const back = await echoThrough(s, data);
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    await s.close();
  });

  it('downloads GET /bytes/100000 from http.test intact', async () => {
    const { socket } = dev;
    const s = await socket.socket();
    s.settimeout(10);
    await s.connect(['http.test', 80]);
    await s.sendall('GET /bytes/100000 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
    const { status, body } = splitHttp(Buffer.from((await s.read()) as Uint8Array));
    expect(status).toBe('HTTP/1.1 200 OK');
    expect(body.equals(allBytes(100000))).toBe(true);
    await s.close();
  });

  it('round-trips a UDP datagram through echo.test', async () => {
    const { socket } = dev;
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    u.settimeout(5);
    const to = (await socket.getaddrinfo('echo.test', 7))[0]![4];
    const payload = allBytes(600);
    expect(await u.sendto(payload, to)).toBe(600);
    const [data, from] = await u.recvfrom(2048);
    expect(Buffer.from(data).equals(payload)).toBe(true);
    expect(from).toEqual(to);
    await u.close();
  });
});

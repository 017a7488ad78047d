/**
 * The same smoke test over every transport a user can attach to a coprocessor: in-process,
 * a pty path (serialport), socket:// and rfc2217:// (the emulator as a real process for the last
 * three). Each one resolves a name, echoes every byte value over TCP, round-trips a datagram and
 * downloads over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../index.js';
import { allBytes, echoThrough, splitHttp } from './helpers/patterns.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

type Transport = [name: string, args: string[] | null, locator: (e?: SpawnedEmulator) => string];

const transports: Transport[] = [
  ['in-process', null, () => 'emulator:'],
  ['pty path', ['--pty'], (e) => e?.pty as string],
  ['socket://', ['--listen', 'tcp://127.0.0.1:0'], (e) => e?.url as string],
  ['rfc2217://', ['--rfc2217', '0'], (e) => e?.rfc2217 as string],
];

describe.each(transports)('smoke over %s', (_name, args, locator) => {
  let emu: SpawnedEmulator | undefined;
  let dev: Device;
  beforeAll(async () => {
    emu = args ? await spawnEmulator(args) : undefined;
    dev = await openDevice(locator(emu), { baudRate: 115200 });
  });
  afterAll(async () => {
    await dev.close();
    if (emu) expect(await emu.stop()).toBe(0);
  });

  it('resolves, echoes TCP and UDP, and downloads over HTTP', async () => {
    const { socket } = dev;
    const echo = (await socket.getaddrinfo('echo.test', 7))[0]![4];
    expect(echo).toEqual(['10.77.0.7', 7]);
    const s = await socket.socket();
    s.settimeout(10);
    await s.connect(echo);
    const data = allBytes(64 * 1024);
    expect((await echoThrough(s, data)).equals(data)).toBe(true);
    await s.close();

    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    u.settimeout(5);
    await u.sendto(allBytes(256), echo);
    expect(Buffer.from((await u.recvfrom(512))[0]).equals(allBytes(256))).toBe(true);
    await u.close();

    const h = await socket.socket();
    h.settimeout(10);
    await h.connect(['http.test', 80]);
    await h.sendall('GET /bytes/10000 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
    const { status, body } = splitHttp(Buffer.from((await h.read()) as Uint8Array));
    expect(status).toBe('HTTP/1.1 200 OK');
    expect(body.equals(allBytes(10000))).toBe(true);
    await h.close();
  });
});

/**
 * The ESP-AT host driver end to end against the emulator's ESP-AT personality, in-process
 * (`openDevice(emu.uart, { protocol: 'at' })`): DNS, a full-duplex echo of every byte value,
 * HTTP, UDP, refused / unreachable connects, a server reached from this machine, WLAN, a
 * reboot in the middle of a connection, and protocol 'auto' picking the right driver.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../emulator/index.js';
import { type AtDriver, type Device, OSError, openDevice } from '../index.js';
import { allBytes, echoThrough, recvExactly, splitHttp } from './helpers/patterns.js';

let emu: Emulator | undefined;
let dev: Device<AtDriver> | undefined;
afterEach(async () => {
  await dev?.close();
  await emu?.close();
  dev = undefined;
  emu = undefined;
});

async function openAt(): Promise<Device<AtDriver>> {
  emu = createEmulator({ protocol: 'at' });
  dev = await openDevice(emu.uart, { protocol: 'at' });
  return dev;
}

async function raises(p: Promise<unknown>, errno: number): Promise<OSError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OSError);
  expect((err as OSError).errno).toBe(errno);
  return err as OSError;
}

describe('ESP-AT driver against the emulated ESP-AT board', () => {
  it('resolves echo.test and echoes 200 KiB of every byte value, full duplex', async () => {
    const { socket } = await openAt();
    const addr = (await socket.getaddrinfo('echo.test', 7))[0]![4];
    const s = await socket.socket();
    s.settimeout(10);
    await s.connect(addr);
    const data = allBytes(200 * 1024);
    expect((await echoThrough(s, data)).equals(data)).toBe(true);
    await s.close();
  });

  it('fetches GET /bytes/N from http.test intact, then reads EOF when the server closes', async () => {
    const { socket } = await openAt();
    const s = await socket.socket();
    s.settimeout(10);
    await s.connect((await socket.getaddrinfo('http.test', 80))[0]![4]);
    await s.sendall('GET /bytes/30000 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
    const { status, body } = splitHttp(await recvExactly(s, 1 << 20));
    expect(status).toBe('HTTP/1.1 200 OK');
    expect(body.equals(allBytes(30000))).toBe(true);
    expect((await s.recv(10)).length).toBe(0);
    await s.close();
  });

  it('select.poll reports POLLOUT at once and POLLIN when the echo arrives', async () => {
    const { socket, select } = await openAt();
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect((await socket.getaddrinfo('echo.test', 7))[0]![4]);
    const p = select.poll();
    p.register(s, select.POLLIN | select.POLLOUT);
    expect(await p.poll(1000)).toEqual([[s, select.POLLOUT]]);
    p.modify(s, select.POLLIN);
    expect(await p.poll(0)).toEqual([]);
    await s.sendall('ping');
    expect(await p.poll(2000)).toEqual([[s, select.POLLIN]]);
    expect(Buffer.from(await recvExactly(s, 4)).toString()).toBe('ping');
    await s.close();
  });

  it('UDP echo: sendto / recvfrom with the sender address', async () => {
    const { socket } = await openAt();
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    u.settimeout(5);
    const addr = (await socket.getaddrinfo('echo.test', 7))[0]![4];
    for (const msg of ['ping', 'second datagram']) {
      await u.sendto(msg, addr);
      const [data, from] = await u.recvfrom(1500);
      expect([Buffer.from(data).toString(), from]).toEqual([msg, addr]);
    }
    await u.close();
  });

  it('maps failures: unknown name -2, refused ECONNREFUSED, blackhole ETIMEDOUT at the socket timeout', async () => {
    const { socket, errno } = await openAt();
    await raises(socket.getaddrinfo('no-such-host.test', 80), -2);
    const r = await socket.socket();
    r.settimeout(5);
    await raises(r.connect([(await socket.getaddrinfo('refused.test', 80))[0]![4][0], 80]), errno.ECONNREFUSED);
    await r.close();
    const b = await socket.socket();
    b.settimeout(0.5);
    const t0 = Date.now();
    await raises(b.connect([(await socket.getaddrinfo('blackhole.test', 80))[0]![4][0], 80]), errno.ETIMEDOUT);
    expect(Date.now() - t0).toBeLessThan(1500);
    await b.close();
  });

  it('serves a client from this machine through AT+CIPSERVER', async () => {
    const { socket } = await openAt();
    const srv = await socket.socket();
    await srv.bind(['0.0.0.0', 8080]);
    await srv.listen(1);
    const deadline = Date.now() + 2000;
    while (!emu!.forwards.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const forwardPort = emu!.forwards.at(-1)!.forwardPort;
    const peer = connect({ host: '127.0.0.1', port: forwardPort });
    const greeting = new Promise<string>((resolve) => peer.once('data', (b) => resolve(b.toString())));
    peer.write('hello device');
    srv.settimeout(5);
    const [c] = await srv.accept();
    c.settimeout(5);
    expect(Buffer.from(await recvExactly(c, 12)).toString()).toBe('hello device');
    await c.sendall('hello host');
    expect(await greeting).toBe('hello host');
    peer.destroy();
    await c.close();
    await srv.close();
  });

  it('network.WLAN: joined at boot, ifconfig, scan sees the access point', async () => {
    const dev = await openAt();
    const wlan = dev.network.WLAN(dev.network.STA_IF);
    expect(await wlan.isconnected()).toBe(true);
    const [ip, mask] = await wlan.ifconfig();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(mask).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const ssids = (await wlan.scan()).map((ap) => Buffer.from(ap[0]).toString());
    expect(ssids).toContain('netcoproc');
    await wlan.connect('netcoproc', 'netcoproc-pass');
    expect(await wlan.status()).toBe(dev.network.STAT_GOT_IP);
  });

  it('a board reboot fails the open socket with ECONNRESET within 1 s; the device starts again', async () => {
    const dev = await openAt();
    const { socket, errno } = dev;
    const resets: unknown[] = [];
    dev.on('reset', (info) => resets.push(info));
    const s = await socket.socket();
    await s.connect((await socket.getaddrinfo('echo.test', 7))[0]![4]);
    const reading = s.recv(10);
    const t0 = Date.now();
    emu!.reboot();
    const err = await raises(reading, errno.ECONNRESET);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err.message).toContain('coprocessor restarted');
    expect(resets.length).toBe(1);
    const again = await socket.socket();
    again.settimeout(5);
    await again.connect((await socket.getaddrinfo('echo.test', 7))[0]![4]);
    const data = allBytes(1000);
    expect((await echoThrough(again, data)).equals(data)).toBe(true);
    await again.close();
    await s.close();
  });
});

describe("openDevice('emulator:', { protocol: 'at' })", () => {
  it('starts an in-process ESP-AT board and closes it with the device', async () => {
    const d = await openDevice('emulator:', { protocol: 'at' });
    try {
      expect(d.profile).toBe('esp-at');
      expect(d.driver.caps.recvCommand).not.toBeNull();
      expect((await d.socket.getaddrinfo('http.test', 80))[0]![4]).toEqual(['10.77.0.80', 80]);
    } finally {
      await d.close();
    }
  });
});

describe("protocol 'auto'", () => {
  it('finds the ESP-AT board after the SLIP hello goes unanswered', async () => {
    emu = createEmulator({ protocol: 'at' });
    const auto = await openDevice(emu.uart, { protocol: 'auto', autoSlipTimeoutMs: 300 });
    dev = auto as Device<AtDriver>;
    expect(auto.profile).toBe('esp-at');
    const s = await auto.socket.socket();
    s.settimeout(5);
    await s.connect((await auto.socket.getaddrinfo('echo.test', 7))[0]![4]);
    expect((await echoThrough(s, allBytes(5000))).equals(allBytes(5000))).toBe(true);
    await s.close();
  });

  it('finds the SLIP board at once', async () => {
    emu = createEmulator();
    const auto = await openDevice(emu.uart, { protocol: 'auto' });
    try {
      expect(auto.profile).toBe('wipy');
      const s = await auto.socket.socket();
      s.settimeout(5);
      await s.connect((await auto.socket.getaddrinfo('echo.test', 7))[0]![4]);
      expect((await echoThrough(s, allBytes(5000))).equals(allBytes(5000))).toBe(true);
      await s.close();
    } finally {
      await auto.close();
    }
  });
});

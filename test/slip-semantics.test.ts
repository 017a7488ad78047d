/**
 * MicroPython socket semantics of the first slice, in-process (emulator UART handed straight
 * to host-lib): non-blocking EAGAIN, connect timeouts, refused, EOF, the socket table limit,
 * EBADF after close, and the modules' local helpers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Device, OSError, openDevice } from '../index.js';

let dev: Device;
beforeEach(async () => {
  dev = await openDevice('emulator:');
});
afterEach(async () => {
  await dev.close();
});

async function raises(p: Promise<unknown>, errno: number): Promise<OSError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OSError);
  expect((err as OSError).errno).toBe(errno);
  return err as OSError;
}

describe('socket semantics over SLIP (wipy profile)', () => {
  it('recv on a non-blocking socket with nothing ready raises EAGAIN', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    await s.connect(['echo.test', 7]);
    s.setblocking(false);
    await raises(s.recv(10), errno.EAGAIN);
    s.settimeout(0);
    await raises(s.recv(10), errno.EAGAIN);
    await s.close();
  });

  it('recv with a timeout and nothing arriving raises ETIMEDOUT after the timeout', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    await s.connect(['echo.test', 7]);
    s.settimeout(0.2);
    const t0 = Date.now();
    await raises(s.recv(10), errno.ETIMEDOUT);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    await s.close();
  });

  it('connect to blackhole.test with settimeout(0.5) raises ETIMEDOUT after about 0.5 s', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    s.settimeout(0.5);
    const t0 = Date.now();
    await raises(s.connect(['blackhole.test', 80]), errno.ETIMEDOUT);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(480);
    expect(took).toBeLessThan(1500);
    await s.close();
  });

  it('a non-blocking connect raises EINPROGRESS', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    s.setblocking(false);
    await raises(s.connect(['blackhole.test', 80]), errno.EINPROGRESS);
    await raises(s.connect(['blackhole.test', 80]), errno.EALREADY);
    await s.close();
  });

  it('connect to refused.test raises ECONNREFUSED with a clear message', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    const err = await raises(s.connect(['refused.test', 80]), errno.ECONNREFUSED);
    expect(err.message).toMatch(/ECONNREFUSED/);
    await s.close();
  });

  it('recv after the peer closed returns empty bytes, repeatably', async () => {
    const { socket } = dev;
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect(['http.test', 80]);
    await s.sendall('GET /bytes/10 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
    const all = await s.read();
    expect(Buffer.from(all as Uint8Array).subarray(-10)).toEqual(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect((await s.recv(100)).length).toBe(0);
    expect((await s.recv(100)).length).toBe(0);
    await s.close();
  });

  it('the 9th socket on the wipy profile raises OSError(ENFILE), and a freed slot is reused', async () => {
    const { socket, errno } = dev;
    const socks = [];
    for (let i = 0; i < 8; i++) socks.push(await socket.socket());
    const err = await raises(socket.socket(), errno.ENFILE);
    expect(err.message).toMatch(/socket table full \(8 sockets\)/);
    await socks[3]!.close();
    socks[3] = await socket.socket();
    for (const s of socks) await s.close();
  });

  it('operations on a closed socket raise EBADF; closing twice is a no-op', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    await s.connect(['echo.test', 7]);
    await s.close();
    await s.close();
    await raises(s.recv(1), errno.EBADF);
    await raises(s.send('x'), errno.EBADF);
    await raises(s.connect(['echo.test', 7]), errno.EBADF);
  });

  it('send may be short: it takes what fits the device window, sendall takes everything', async () => {
    const { socket } = dev;
    const s = await socket.socket();
    await s.connect(['echo.test', 7]);
    const big = new Uint8Array(200_000);
    const n = await s.send(big);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(big.length);
    await s.close();
  });

  it('makefile/readline/readinto follow lwIP stream semantics (no short reads while blocking)', async () => {
    const { socket } = dev;
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect(['echo.test', 7]);
    const f = s.makefile('rwb');
    expect(f).toBe(s);
    await f.write('line one\nline two\n');
    expect(Buffer.from((await f.readline()) as Uint8Array).toString()).toBe('line one\n');
    const buf = new Uint8Array(9);
    expect(await f.readinto(buf)).toBe(9);
    expect(Buffer.from(buf).toString()).toBe('line two\n');
    s.setblocking(false);
    expect(await f.read(5)).toBeNull();
    await s.close();
  });

  it('getaddrinfo returns MicroPython 5-tuples and fails for unknown names with a negative errno', async () => {
    const { socket } = dev;
    const [entry] = await socket.getaddrinfo('echo.test', 7);
    expect(entry).toEqual([socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', ['10.77.0.7', 7]]);
    const err = await socket.getaddrinfo('nonexistent.invalid', 80).catch((e: OSError) => e);
    expect(err).toBeInstanceOf(OSError);
    expect((err as OSError).errno).toBeLessThan(0);
  });

  it('inet_pton/inet_ntop handle IPv4 and IPv6, and reject bad input clearly', () => {
    const { socket, errno } = dev;
    expect(Array.from(socket.inet_pton(socket.AF_INET, '10.0.0.1'))).toEqual([10, 0, 0, 1]);
    expect(socket.inet_ntop(socket.AF_INET, Uint8Array.of(127, 0, 0, 1))).toBe('127.0.0.1');
    const v6 = socket.inet_pton(socket.AF_INET6, '2001:db8::1');
    expect(v6.length).toBe(16);
    expect(socket.inet_ntop(socket.AF_INET6, v6)).toBe('2001:db8::1');
    expect(socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, '::ffff:1.2.3.4'))).toBe(
      '::ffff:102:304',
    );
    expect(() => socket.inet_pton(socket.AF_INET, '300.1.1.1')).toThrow(OSError);
    try {
      socket.inet_ntop(socket.AF_INET, Uint8Array.of(1, 2, 3));
    } catch (e) {
      expect((e as OSError).errno).toBe(errno.EINVAL);
    }
  });

  it('recvfrom on a stream socket reports the peer it is connected to', async () => {
    const { socket } = dev;
    const addr = (await socket.getaddrinfo('echo.test', 7))[0]![4];
    const s = await socket.socket();
    s.settimeout(2);
    await s.connect(addr);
    await s.sendall('hi');
    const [data, from] = await s.recvfrom(2);
    expect(Buffer.from(data).toString()).toBe('hi'.slice(0, data.length));
    expect(from).toEqual(addr);
    expect(from[0]).not.toBe('0.0.0.0');
    await s.close();
  });

  it('bad arguments raise TypeError/ValueError naming the argument', async () => {
    const { socket } = dev;
    const s = await socket.socket();
    expect(() => s.settimeout(-1)).toThrow(/value/);
    await expect(s.connect(['echo.test'] as unknown as [string, number])).rejects.toThrow(TypeError);
    await expect(s.send(42 as unknown as Uint8Array)).rejects.toThrow(/buffer protocol/);
    await expect(socket.socket(null as unknown as number)).rejects.toThrow(/af/);
    await s.close();
  });

  it('exposes MicroPython constants, including IPPROTO_SEC, and the errno module', () => {
    const { socket, errno } = dev;
    expect([socket.AF_INET, socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.IPPROTO_SEC]).toEqual([2, 1, 2, 100]);
    expect([errno.EAGAIN, errno.ETIMEDOUT, errno.ECONNRESET, errno.EINPROGRESS]).toEqual([11, 110, 104, 115]);
    expect(errno.errorcode[110]).toBe('ETIMEDOUT');
  });
});

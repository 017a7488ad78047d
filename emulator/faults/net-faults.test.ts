/**
 * Network faults: through a real host session for TCP (RST mid-stream, resetConnections,
 * connect latency, blackhole, UDP loss), and on the wrapped network directly for the datagram
 * statistics (duplication, reordering), where no host timing gets in the way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, OSError, openDevice } from '../../index.js';
import { createEmulator, type Emulator, type EmulatorOptions } from '../index.js';
import { VirtualNetwork } from '../network/index.js';
import { seededRandom } from '../random.js';
import { NetFaults } from './net-faults.js';
import type { HostFaults } from './scenario.js';
import type { FaultEvent } from './trace.js';

const ECONNRESET = 104;
const ETIMEDOUT = 110;

let emu: Emulator | undefined;
let dev: Device | undefined;
let net: VirtualNetwork | undefined;
afterEach(async () => {
  await dev?.close().catch(() => {});
  await emu?.close();
  await net?.close();
  dev = emu = net = undefined;
});

async function open(hosts: Record<string, HostFaults>, extra: EmulatorOptions = {}): Promise<Device> {
  emu = createEmulator({ seed: 3, pki: undefined, faults: { network: { hosts } }, ...extra });
  dev = await openDevice(emu.uart);
  return dev;
}

async function errnoOf(p: Promise<unknown>): Promise<number | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OSError);
  return (err as OSError).errno;
}

/** Reads until the socket fails; returns the bytes before the failure and its errno. */
async function readUntilError(s: Awaited<ReturnType<Device['socket']['socket']>>) {
  const got: Uint8Array[] = [];
  for (;;) {
    try {
      const c = await s.recv(4096);
      if (c.length === 0) return { bytes: Buffer.concat(got), errno: 0 };
      got.push(c);
    } catch (err) {
      return { bytes: Buffer.concat(got), errno: (err as OSError).errno };
    }
  }
}

describe('network faults (TCP)', () => {
  it('RST mid-stream: recv gives the bytes before it, then ECONNRESET', async () => {
    const d = await open({ 'echo.test': { resetAfterBytes: 1000 } });
    const s = await d.socket.socket();
    s.settimeout(3);
    await s.connect(['echo.test', 7]);
    const data = Buffer.alloc(3000);
    for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
    await s.sendall(data);
    const { bytes, errno } = await readUntilError(s);
    expect(errno).toBe(ECONNRESET);
    expect(bytes.equals(data.subarray(0, 1000))).toBe(true);
    expect(emu!.faults.trace()).toEqual([
      { dir: 'network', kind: 'rst', host: 'echo.test', offset: 1000, source: 'scenario' },
    ]);
  });

  it('RST mid-stream with latency and jitter still delivers the bytes before it in order', async () => {
    const d = await open({ '*': { latencyMs: 5, jitterMs: 10, resetAfterBytes: 50_000 } });
    const s = await d.socket.socket();
    s.settimeout(5);
    await s.connect(['echo.test', 7]);
    const data = Buffer.alloc(80_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const sending = s.sendall(data).catch(() => {});
    const { bytes, errno } = await readUntilError(s);
    await sending;
    expect(errno).toBe(ECONNRESET);
    expect(bytes.equals(data.subarray(0, 50_000))).toBe(true);
  });

  it('resetConnections(host): the device sees ECONNRESET at once; other hosts are untouched', async () => {
    const d = await open({});
    const echo = await d.socket.socket();
    echo.settimeout(3);
    await echo.connect(['echo.test', 7]);
    const http = await d.socket.socket();
    http.settimeout(3);
    await http.connect(['http.test', 80]);
    const pending = echo.recv(10);
    expect(emu!.faults.resetConnections('echo.test')).toBe(1);
    expect(await errnoOf(pending)).toBe(ECONNRESET);
    await http.sendall('GET /bytes/5 HTTP/1.1\r\nHost: http.test\r\n\r\n');
    expect(Buffer.from(await http.recv(200)).toString()).toMatch(/^HTTP\/1.1 200/);
    expect(emu!.faults.trace()).toEqual([{ dir: 'network', kind: 'rst', host: 'echo.test', offset: 0, source: 'api' }]);
  });

  it('connect latency delays the connect by about latencyMs', async () => {
    const d = await open({ 'echo.test': { latencyMs: 150 } });
    const s = await d.socket.socket();
    s.settimeout(3);
    const t0 = Date.now();
    await s.connect(['echo.test', 7]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await s.sendall('hi');
    expect(Buffer.from(await s.recv(10)).toString()).toBe('hi');
  });

  it('a blackholed host: the connect never completes, the socket times out', async () => {
    const d = await open({ 'http.test': { blackhole: true } });
    const s = await d.socket.socket();
    s.settimeout(0.3);
    expect(await errnoOf(s.connect(['http.test', 80]))).toBe(ETIMEDOUT);
    expect(emu!.faults.trace()).toEqual([{ dir: 'network', kind: 'blackhole', host: 'http.test', source: 'scenario' }]);
  });

  it('UDP loss 1: datagrams to the host vanish and the recv times out; setHost() clears it', async () => {
    const d = await open({ 'echo.test': { udp: { loss: 1 } } });
    const s = await d.socket.socket(d.socket.AF_INET, d.socket.SOCK_DGRAM);
    s.settimeout(0.2);
    const addr = (await d.socket.getaddrinfo('echo.test', 7))[0]![4];
    await s.sendto('lost', addr);
    expect(await errnoOf(s.recvfrom(100))).toBe(ETIMEDOUT);
    emu!.faults.setHost('echo.test', { udp: { loss: 0 } });
    await s.sendto('kept', addr);
    const [data] = await s.recvfrom(100);
    expect(Buffer.from(data).toString()).toBe('kept');
    const losses = emu!.faults.trace().filter((e) => e.kind === 'udp-loss');
    expect(losses).toEqual([
      { dir: 'network', kind: 'udp-loss', host: 'echo.test', flow: 'out', offset: 0, source: 'random' },
    ]);
  });
});

describe('network faults (UDP, on the wrapped network)', () => {
  async function endpoint(udp: HostFaults['udp'], seed = 5) {
    net = new VirtualNetwork();
    const trace: FaultEvent[] = [];
    const faults = new NetFaults(net.attach(), { 'echo.test': { udp } }, seededRandom(seed), (e) => trace.push(e));
    const ep = await faults.openUdpOn('', 0);
    const got: number[] = [];
    ep.onMessage((data) => got.push(data[0] as number));
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) ep.send(Uint8Array.of(i), '10.77.0.7', 7);
      await new Promise((r) => setTimeout(r, 60));
    };
    return { got, send, trace };
  }

  it('duplicate 1: every datagram twice out and twice back (4 copies)', async () => {
    const { got, send } = await endpoint({ duplicate: 1 });
    await send(3);
    expect(got).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it('loss 0.3: about 30% lost each way, the same ones for the same seed', async () => {
    const a = await endpoint({ loss: 0.3 }, 11);
    await a.send(200);
    await net!.close();
    const b = await endpoint({ loss: 0.3 }, 11);
    await b.send(200);
    // Each way loses ~30%: ~49% arrive.
    expect(a.got.length).toBeGreaterThan(70);
    expect(a.got.length).toBeLessThan(130);
    expect(b.got).toEqual(a.got);
    expect(b.trace).toEqual(a.trace);
  });

  it('reorder 0.3: everything arrives, not all in order', async () => {
    const { got, send, trace } = await endpoint({ reorder: 0.3 });
    await send(100);
    expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got).not.toEqual([...got].sort((x, y) => x - y));
    expect(trace.filter((e) => e.kind === 'udp-reorder').length).toBeGreaterThan(30);
  });
});

/**
 * Device faults seen by a real host (host-lib in-process on `emu.uart`): a reboot resets the
 * session and fails open sockets, a hang makes requests time out until the device resumes,
 * the out-of-sockets / out-of-memory switches, and byte-triggered reboots from a scenario.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, OSError, openDevice } from '../../index.js';
import { createEmulator, type Emulator, type EmulatorOptions } from '../index.js';

const ECONNRESET = 104;
const ETIMEDOUT = 110;
const ENFILE = 23;
const ENOMEM = 12;

let emu: Emulator | undefined;
let dev: Device | undefined;
afterEach(async () => {
  await dev?.close().catch(() => {});
  await emu?.close();
  dev = undefined;
  emu = undefined;
});

async function open(opts: EmulatorOptions = { faults: {} }, requestTimeoutMs = 2000): Promise<Device> {
  emu = createEmulator({ seed: 1, pki: undefined, ...opts });
  dev = await openDevice(emu.uart, { requestTimeoutMs });
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

async function echoSocket(d: Device) {
  const s = await d.socket.socket();
  s.settimeout(3);
  await s.connect(['echo.test', 7]);
  return s;
}

describe('device faults', () => {
  it('reboot(): the host sees a reset and its open sockets fail with ECONNRESET; new ones work', async () => {
    const d = await open();
    const resets: unknown[] = [];
    d.on('reset', (info) => resets.push(info));
    const s = await echoSocket(d);
    const pending = s.recv(10);
    emu!.faults.reboot();
    expect(await errnoOf(pending)).toBe(ECONNRESET);
    expect(resets).toHaveLength(1);
    // The driver says HELLO again by itself; a new socket works.
    const s2 = await echoSocket(d);
    await s2.sendall('again');
    expect(Buffer.from(await s2.recv(10)).toString()).toBe('again');
    expect(emu!.faults.trace()).toEqual([{ dir: 'device', kind: 'reboot', source: 'api' }]);
  });

  it('emu.reboot() goes through the same path without a fault scenario', async () => {
    const d = await open({});
    const resets: unknown[] = [];
    d.on('reset', (info) => resets.push(info));
    const s = await echoSocket(d);
    emu!.reboot();
    expect(await errnoOf(s.recv(10))).toBe(ECONNRESET);
    expect(resets).toHaveLength(1);
    expect(() => emu!.faults.hang()).toThrow(/needs a faulty line/);
  });

  it('hang(): requests time out while hung; after resume() the same session works again', async () => {
    const d = await open({ faults: {} }, 300);
    const s = await echoSocket(d);
    emu!.faults.hang();
    expect(emu!.faults.hung).toBe(true);
    const t0 = Date.now();
    expect(await errnoOf(d.socket.getaddrinfo('http.test', 80))).toBe(ETIMEDOUT);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    emu!.faults.resume();
    // The reliable link retransmits what the hung device ignored; the socket is still there.
    await s.sendall('after the hang');
    expect(Buffer.from(await s.recv(100)).toString()).toBe('after the hang');
    expect(emu!.faults.trace().map((e) => e.kind)).toEqual(['hang', 'resume']);
  });

  it('a reboot ends a hang', async () => {
    const d = await open({ faults: {} }, 300);
    emu!.faults.hang();
    const resets: unknown[] = [];
    d.on('reset', (info) => resets.push(info));
    emu!.faults.reboot();
    expect(emu!.faults.hung).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(resets).toHaveLength(1);
    const s = await echoSocket(d);
    await s.close();
  });

  it('a hang with forMs resumes by itself', async () => {
    const d = await open({ faults: { device: { hang: { atMs: 0, forMs: 150 } } } }, 3000);
    await new Promise((r) => setTimeout(r, 20));
    expect(emu!.faults.hung).toBe(true);
    const s = await echoSocket(d);
    expect(emu!.faults.hung).toBe(false);
    await s.close();
    expect(emu!.faults.trace()).toEqual([
      { dir: 'device', kind: 'hang', atMs: 0, ms: 150, source: 'scenario' },
      { dir: 'device', kind: 'resume', source: 'scenario' },
    ]);
  });

  it('out of sockets → ENFILE, out of memory → ENOMEM, and back', async () => {
    const d = await open();
    emu!.faults.outOfSockets();
    expect(await errnoOf(d.socket.socket())).toBe(ENFILE);
    emu!.faults.outOfMemory();
    expect(await errnoOf(d.socket.socket())).toBe(ENOMEM);
    emu!.faults.outOfMemory(false);
    emu!.faults.outOfSockets(false);
    const s = await d.socket.socket();
    await s.close();
  });

  it('the scenario switches apply from boot', async () => {
    const d = await open({ faults: { device: { outOfMemory: true } } });
    expect(await errnoOf(d.socket.socket())).toBe(ENOMEM);
  });

  it('ESP-AT personality: reboot() through the faulty line; the AT host sees ready, resets and goes on', async () => {
    emu = createEmulator({ protocol: 'at', seed: 1, pki: undefined, faults: {}, atTiming: { joinMs: 1 } });
    const d = await openDevice(emu.uart, { protocol: 'at' });
    dev = d as unknown as Device;
    const resets: unknown[] = [];
    d.on('reset', (info) => resets.push(info));
    const s = await d.socket.socket();
    s.settimeout(3);
    await s.connect((await d.socket.getaddrinfo('echo.test', 7))[0]![4]);
    const pending = s.recv(10);
    emu.faults.reboot();
    expect(await errnoOf(pending)).toBe(ECONNRESET);
    expect(resets).toHaveLength(1);
    const s2 = await d.socket.socket();
    s2.settimeout(5);
    await s2.connect((await d.socket.getaddrinfo('echo.test', 7))[0]![4]);
    await s2.sendall('at again');
    expect(Buffer.from(await s2.recv(10)).toString()).toBe('at again');
  });

  it('reboot-mid-transfer.json: the board reboots after exactly N host bytes, mid-transfer', async () => {
    const path = fileURLToPath(new URL('../../fixtures/scenarios/reboot-mid-transfer.json', import.meta.url));
    const d = await open({ faults: path });
    const resets: unknown[] = [];
    d.on('reset', (info) => resets.push(info));
    const s = await echoSocket(d);
    s.settimeout(5);
    const big = Buffer.alloc(200_000, 0x41);
    const outcome = await Promise.all([s.sendall(big), s.recv(1)]).then(
      () => 'completed',
      (e: OSError) => e.errno,
    );
    expect(outcome).toBe(ECONNRESET);
    expect(resets).toHaveLength(1);
    const [reboot] = emu!.faults.trace().filter((e) => e.kind === 'reboot');
    expect(reboot).toEqual({ dir: 'hostToDevice', kind: 'reboot', offset: 20_000, source: 'scenario' });
  });
});

/**
 * The virtual network's PKI is made on first need, never in the background (docs/performance.md:
 * its ~0.5 s of CPU stalled the first transfer of every session). A board used only for plain TCP
 * makes none; the first https connection or file request makes it, once, and every consumer (the
 * https hosts, /flash/cert/ca.pem) sees that one set.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../emulator/index.js';
import { type FixturePki, fixturePkiGenerations, generateFixturePki } from '../fixtures/certs/index.js';
import { type Device, openDevice, type Socket } from '../index.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';
import { getBytes } from './helpers/tls.js';

let dev: Device | undefined;
let emu: Emulator | undefined;
let child: SpawnedEmulator | undefined;
afterEach(async () => {
  await dev?.close();
  await emu?.close();
  await child?.stop();
  dev = emu = child = undefined;
});

async function echo(d: Device, text: string): Promise<string> {
  const s = await d.socket.socket();
  s.settimeout(5);
  await s.connect((await d.socket.getaddrinfo('echo.test', 7))[0]![4]);
  await s.write(text);
  const back = new TextDecoder().decode((await s.read(text.length)) ?? new Uint8Array(0));
  await s.close();
  return back;
}

/** GET over IPPROTO_SEC with CERT_REQUIRED and the CA the board ships. */
async function verifiedGet(d: Device, n: number): Promise<void> {
  const s: Socket = await d.socket.socket(d.socket.AF_INET, d.socket.SOCK_STREAM, d.socket.IPPROTO_SEC);
  s.settimeout(10);
  await d.ssl.wrap_socket(s, { cert_reqs: 2, ca_certs: '/flash/cert/ca.pem', server_hostname: 'tls.test' });
  await s.connect((await d.socket.getaddrinfo('tls.test', 443))[0]![4]);
  await getBytes(s, 'tls.test', n);
  await s.close();
}

const caOf = async (d: Device) => new TextDecoder().decode(await d.files.read('/flash/cert/ca.pem'));

describe('the fixture PKI is made on first need', () => {
  it("openDevice('emulator:'): plain TCP makes none; the first TLS connection makes it, with the CA the board ships", async () => {
    dev = await openDevice('emulator:');
    expect(await echo(dev, 'plain')).toBe('plain');
    expect(fixturePkiGenerations()).toBe(0);
    await verifiedGet(dev, 10_000);
    expect(fixturePkiGenerations()).toBe(1);
    const pki: FixturePki = await generateFixturePki(); // the shared set: not made again
    expect(await caOf(dev)).toBe(pki.ca);
    expect(fixturePkiGenerations()).toBe(1);
  });

  it('createEmulator({ pki: fn }): the first file request asks for it, once for files and https alike', async () => {
    let asked = 0;
    emu = createEmulator({
      pki: () => {
        asked += 1;
        return generateFixturePki();
      },
    });
    dev = await openDevice(emu.uart);
    expect(await echo(dev, 'tcp only')).toBe('tcp only');
    expect(asked).toBe(0);
    const listing = await dev.files.list('/flash/cert');
    expect(asked).toBe(1);
    expect(listing).toEqual([{ name: 'ca.pem', size: (await generateFixturePki()).ca.length, dir: false }]);
    await verifiedGet(dev, 1000);
    expect(asked).toBe(1);
  });

  it('a PKI that fails: asked once, https hosts reset, /flash/cert/ca.pem absent, files still work', async () => {
    let asked = 0;
    emu = createEmulator({
      pki: () => {
        asked += 1;
        return Promise.reject(new Error('no x509 here'));
      },
    });
    dev = await openDevice(emu.uart);
    const warned = new Promise<string>((resolve) => process.once('warning', (w) => resolve(w.message)));
    expect(await dev.files.list('/flash')).toEqual([]);
    expect(await warned).toContain('could not pre-provision /flash/cert/ca.pem: no x509 here');
    const s = await dev.socket.socket(dev.socket.AF_INET, dev.socket.SOCK_STREAM, dev.socket.IPPROTO_SEC);
    s.settimeout(5);
    await dev.ssl.wrap_socket(s, { cert_reqs: 0, server_hostname: 'tls.test' });
    const failed = await s.connect((await dev.socket.getaddrinfo('tls.test', 443))[0]![4]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed, 'the handshake fails on a reset').toBeInstanceOf(Error);
    await s.close();
    expect(asked).toBe(1);
  });

  it('netcoproc emulate: plain TCP, then verified TLS with the CA of /flash/cert/ca.pem', async () => {
    child = await spawnEmulator(['--listen', 'tcp://127.0.0.1:0']);
    dev = await openDevice(child.url!);
    expect(await echo(dev, 'first')).toBe('first');
    await verifiedGet(dev, 10_000);
    expect(await caOf(dev)).toContain('-----BEGIN CERTIFICATE-----');
    expect(child.stderr()).not.toContain('fixture PKI failed');
  });
});

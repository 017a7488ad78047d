/**
 * TLS over ESP-AT, in-process (`openDevice(emu.uart, { protocol: 'at' })`): an IPPROTO_SEC
 * socket becomes AT+CIPSSLCCONF / CIPSSLCSNI / CIPSSLCALPN + AT+CIPSTART "SSL", TLS runs on the
 * emulated module with certificates from its file store (the stand-in for ESP-AT's certificate
 * partitions). Host-side TLS over an AT link works too.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AtPersonality, createEmulator, type Emulator } from '../emulator/index.js';
import { type FixturePki, generateFixturePki } from '../fixtures/certs/index.js';
import { type AtDriver, type Device, openDevice, type Socket, SSLSocket } from '../index.js';
import { getBytes, raises } from './helpers/tls.js';

let pki: FixturePki;
let emu: Emulator | undefined;
let dev: Device<AtDriver> | undefined;

beforeAll(async () => {
  pki = await generateFixturePki();
});
afterEach(async () => {
  await dev?.close();
  await emu?.close();
  dev = undefined;
  emu = undefined;
});

async function openAt(): Promise<Device<AtDriver>> {
  emu = createEmulator({ protocol: 'at', pki });
  dev = await openDevice(emu.uart, { protocol: 'at' });
  return dev;
}

const board = (): AtPersonality => emu!.personality as AtPersonality;

async function secureTo(d: Device<AtDriver>, host: string, opts: Record<string, unknown>): Promise<Socket> {
  const { socket, ssl } = d;
  const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
  s.settimeout(10);
  await ssl.wrap_socket(s, opts);
  try {
    await s.connect((await socket.getaddrinfo(host, 443))[0]![4]);
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}

describe('TLS over ESP-AT', () => {
  it('GET /bytes/100000 from tls.test through CIPSTART "SSL" with CERT_REQUIRED and the fixture CA arrives intact', async () => {
    const d = await openAt();
    const opts = { cert_reqs: d.ssl.CERT_REQUIRED, ca_certs: '/flash/cert/ca.pem', server_hostname: 'tls.test' };
    const s = await secureTo(d, 'tls.test', opts);
    // The module verified the server (auth 2, CA partition 0, SNI) with real time from SNTP.
    const link = board().settings.live.sslc.find((c) => c.sni === 'tls.test');
    expect(link).toMatchObject({ authMode: 2, caNumber: 0, sni: 'tls.test', alpn: [] });
    expect(board().settings.live.sntp.synced).toBe(true);
    await getBytes(s, 'tls.test', 100_000);
    await s.close();
  });

  it('verification failures are ERROR on the module (450 on the host); CERT_NONE connects to the bad servers', async () => {
    const d = await openAt();
    const verify = { cert_reqs: 2, ca_certs: '/flash/cert/ca.pem' };
    for (const host of ['expired.test', 'wrong-host.test', 'unknown-ca.test']) {
      const err = await raises(secureTo(d, host, { ...verify, server_hostname: host }), 450);
      expect(err.message).toContain('AT+CIPSTART "SSL" failed');
      const s = await secureTo(d, host, { cert_reqs: d.ssl.CERT_NONE, server_hostname: host });
      await getBytes(s, host, 100);
      await s.close();
    }
  });

  it('mutual TLS with the client certificate from the module partitions (auth 3) and ALPN', async () => {
    const d = await openAt();
    await emu!.files.write('/flash/cert/cert.pem', new TextEncoder().encode(pki.certs.client.cert), { truncate: true });
    await emu!.files.write('/flash/cert/private.key', new TextEncoder().encode(pki.certs.client.key), {
      truncate: true,
    });
    const s = await secureTo(d, 'mtls.test', {
      ...{ cert_reqs: 2, ca_certs: '/flash/cert/ca.pem', server_hostname: 'mtls.test' },
      ...{ certfile: '/flash/cert/cert.pem', keyfile: '/flash/cert/private.key', alpn_protocols: ['http/1.1'] },
    });
    expect(board().settings.live.sslc.find((c) => c.sni === 'mtls.test')).toMatchObject({
      authMode: 3,
      pkiNumber: 0,
      alpn: ['http/1.1'],
    });
    await getBytes(s, 'mtls.test', 20_000);
    await s.close();
  });

  it('paths that name no ESP-AT partition, and TLS servers, are refused', async () => {
    const d = await openAt();
    const { socket, ssl } = d;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
    const bad = await raises(ssl.wrap_socket(s, { cert_reqs: 2, ca_certs: '/flash/my-ca.pem' }), d.errno.EINVAL);
    expect(bad.message).toContain('numbered partitions');
    await raises(
      ssl.wrap_socket(s, { server_side: true, keyfile: '/flash/cert/private.key', certfile: '/flash/cert/cert.pem' }),
      d.errno.EOPNOTSUPP,
    );
    await s.close();
  });

  it('host-side TLS runs over an AT link too', async () => {
    const d = await openAt();
    const { socket, ssl } = d;
    const s = await socket.socket();
    s.settimeout(10);
    await s.connect((await socket.getaddrinfo('tls.test', 443))[0]![4]);
    const t = await ssl.wrap_socket(s, { cert_reqs: 2, cadata: pki.ca, server_hostname: 'tls.test' });
    expect(t).toBeInstanceOf(SSLSocket);
    await getBytes(t, 'tls.test', 50_000);
    await t.close();
  });
});

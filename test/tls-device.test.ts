/**
 * Device-side TLS (WiPy IPPROTO_SEC) over the SLIP RPC, in-process: ssl.wrap_socket sends
 * TLS_WRAP, the handshake runs inside connect on the emulated board, the host sees plaintext.
 * Real TLS against the virtual network's HTTPS hosts with the fixture CA.
 */
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FixturePki, generateFixturePki } from '../fixtures/certs/index.js';
import { type Device, openDevice, type Socket } from '../index.js';
import { badPeer, getBytes, raises } from './helpers/tls.js';

let pki: FixturePki;
let dev: Device | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  pki = await generateFixturePki();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await dev?.close();
  dev = undefined;
});

async function open(emulator: Record<string, unknown> = {}): Promise<Device> {
  dev = await openDevice('emulator:', { emulator: { pki, ...emulator } });
  return dev;
}

/** An IPPROTO_SEC socket wrapped with `opts`, connected to host:port (the handshake runs in connect). */
async function secureTo(d: Device, host: string, port: number, opts: Record<string, unknown>): Promise<Socket> {
  const { socket, ssl } = d;
  const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
  cleanups.push(() => s.close());
  s.settimeout(5);
  const wrapped = await ssl.wrap_socket(s, opts);
  expect(wrapped).toBe(s); // WiPy: the ssl object shares the socket
  await s.connect((await socket.getaddrinfo(host, port))[0]![4]);
  return s;
}

const VERIFY = { cert_reqs: 2, ca_certs: '/flash/cert/ca.pem' };

describe('IPPROTO_SEC: TLS on the coprocessor (wipy profile)', () => {
  it('GET /bytes/100000 from tls.test with CERT_REQUIRED and the fixture CA arrives intact', async () => {
    const d = await open();
    const s = await secureTo(d, 'tls.test', 443, { ...VERIFY, server_hostname: 'tls.test' });
    expect(s.tls?.certReqs).toBe(d.ssl.CERT_REQUIRED);
    await getBytes(s, 'tls.test', 100_000);
  });

  it('an untrusted CA fails with ESECBADCAFILE (456)', async () => {
    const d = await open();
    const err = await raises(secureTo(d, 'unknown-ca.test', 443, VERIFY), 456);
    expect(err.code).toBe('ESECBADCAFILE');
    expect(err.message).toContain('not signed by a trusted CA');
  });

  it('a wrong host name fails with ESECWRONGPEERCERT (469)', async () => {
    const d = await open();
    const err = await raises(
      secureTo(d, 'wrong-host.test', 443, { ...VERIFY, server_hostname: 'wrong-host.test' }),
      469,
    );
    expect(err.message).toContain('does not match the host name');
  });

  it('an expired certificate fails with ESECDATEERROR (461)', async () => {
    const d = await open();
    const err = await raises(secureTo(d, 'expired.test', 443, { ...VERIFY, server_hostname: 'expired.test' }), 461);
    expect(err.message).toContain('expired');
  });

  it('CERT_NONE (and an unwrapped IPPROTO_SEC socket, and CERT_OPTIONAL) connect to the bad servers', async () => {
    const d = await open();
    for (const host of ['unknown-ca.test', 'wrong-host.test', 'expired.test']) {
      const s = await secureTo(d, host, 443, { cert_reqs: d.ssl.CERT_NONE, server_hostname: host });
      await getBytes(s, host, 1000);
      await s.close();
    }
    const opt = await secureTo(d, 'expired.test', 443, { ...VERIFY, cert_reqs: d.ssl.CERT_OPTIONAL });
    await getBytes(opt, 'expired.test', 10);
    await opt.close();
    const { socket } = d;
    const plain = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
    cleanups.push(() => plain.close());
    await plain.connect((await socket.getaddrinfo('unknown-ca.test', 443))[0]![4]);
    await getBytes(plain, 'unknown-ca.test', 10);
  });

  it('mutual TLS to mtls.test with the client certificate and key from /flash/cert/', async () => {
    const d = await open();
    await d.files.write('/flash/cert/cert.pem', pki.certs.client.cert);
    await d.files.write('/flash/cert/private.key', pki.certs.client.key);
    const s = await secureTo(d, 'mtls.test', 443, {
      ...VERIFY,
      ...{ certfile: '/flash/cert/cert.pem', keyfile: '/flash/cert/private.key', server_hostname: 'mtls.test' },
    });
    await getBytes(s, 'mtls.test', 20_000);
    // Without the client certificate the server ends the handshake: the peer closed it.
    await raises(secureTo(d, 'mtls.test', 443, VERIFY), 452);
  });

  it('a device-side TLS server accepts a node:tls client from the machine through the forwarded port', async () => {
    const d = await open();
    const { socket, ssl } = d;
    await d.files.write('/flash/cert/cert.pem', pki.certs.loopback.cert);
    await d.files.write('/flash/cert/private.key', pki.certs.loopback.key);
    const srv = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
    cleanups.push(() => srv.close());
    await ssl.wrap_socket(srv, {
      server_side: true,
      keyfile: '/flash/cert/private.key',
      certfile: '/flash/cert/cert.pem',
    });
    await srv.bind(['0.0.0.0', 8443]);
    const port = await srv.listen(1);
    expect(port).toBeGreaterThan(0);
    const client = tls.connect({ host: '127.0.0.1', port, ca: pki.ca });
    cleanups.push(async () => void client.destroy());
    const secured = new Promise<void>((resolve, reject) => {
      client.once('secureConnect', resolve);
      client.once('error', reject);
    });
    srv.settimeout(5);
    const [conn] = await srv.accept();
    cleanups.push(() => conn.close());
    await secured;
    expect(client.authorized).toBe(true);
    const got = new Promise<string>((resolve) => client.once('data', (b: Buffer) => resolve(b.toString())));
    await conn.sendall('hello from the board');
    expect(await got).toBe('hello from the board');
    client.write('ping');
    conn.settimeout(5);
    expect(Buffer.from(await conn.recv(4)).toString()).toBe('ping');
  });

  it('a handshake with no answer fails with ESECHANDSHAKETIMEDOUT (462)', async () => {
    const d = await open({ tlsHandshakeTimeoutMs: 300 });
    const peer = await badPeer('silent');
    cleanups.push(() => peer.close());
    const t0 = Date.now();
    await raises(secureTo(d, '127.0.0.1', peer.port, {}), 462);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a peer that closes during the handshake fails with ESECCLOSED (452)', async () => {
    const d = await open();
    const peer = await badPeer('hang-up');
    cleanups.push(() => peer.close());
    await raises(secureTo(d, '127.0.0.1', peer.port, {}), 452);
  });

  it('more TLS sessions than the profile allows fail with ESECTOOMANYSSLOPENED (460), until one closes', async () => {
    const d = await open();
    const a = await secureTo(d, 'tls.test', 443, {});
    await secureTo(d, 'tls.test', 443, {});
    const err = await raises(secureTo(d, 'tls.test', 443, {}), 460);
    expect(err.message).toMatch(/too many TLS sessions: the wipy board has 2/);
    await a.close();
    const c = await secureTo(d, 'tls.test', 443, {});
    await getBytes(c, 'tls.test', 100);
  });

  it('wrap_socket after connect, a missing CA file and a path outside /flash are refused', async () => {
    const d = await open();
    const { socket, ssl } = d;
    const s = await secureTo(d, 'tls.test', 443, {});
    const e = await raises(ssl.wrap_socket(s, {}), d.errno.EISCONN);
    expect(e.message).toContain('before connect');
    const t = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
    cleanups.push(() => t.close());
    await raises(ssl.wrap_socket(t, { ...VERIFY, ca_certs: '/flash/cert/nope.pem' }), 454);
    await raises(ssl.wrap_socket(t, { ...VERIFY, ca_certs: '/flash/../etc/passwd' }), d.errno.EACCES);
  });
});

/**
 * Host-side TLS: ssl.wrap_socket / SSLContext on a connected plain socket runs node:tls on this
 * machine over the coprocessor's byte stream (socket.asDuplex()), so it works on boards without
 * TLS (esp32 profile) and keys never leave the host. In-process emulator, fixture CA.
 */
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FixturePki, generateFixturePki } from '../fixtures/certs/index.js';
import { type Device, openDevice, type Socket, SSLSocket } from '../index.js';
import { badPeer, getBytes, raises } from './helpers/tls.js';

let pki: FixturePki;
let dev: Device | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  pki = await generateFixturePki();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await dev?.close();
  dev = undefined;
});

async function open(profile = 'wipy'): Promise<Device> {
  dev = await openDevice('emulator:', { emulator: { pki, profile } });
  return dev;
}

async function plainTo(d: Device, host: string, port: number): Promise<Socket> {
  const s = await d.socket.socket();
  cleanups.push(() => s.close());
  s.settimeout(5);
  await s.connect((await d.socket.getaddrinfo(host, port))[0]![4]);
  return s;
}

async function wrapped(d: Device, host: string, opts: Record<string, unknown>): Promise<SSLSocket> {
  const t = await d.ssl.wrap_socket(await plainTo(d, host, 443), opts);
  expect(t).toBeInstanceOf(SSLSocket);
  cleanups.push(() => (t as SSLSocket).close());
  return t as SSLSocket;
}

describe('host-side TLS over a plain device socket', () => {
  it('GET /bytes/100000 from tls.test with CERT_REQUIRED and the fixture CA (cadata) arrives intact', async () => {
    const d = await open();
    const t = await wrapped(d, 'tls.test', {
      cert_reqs: d.ssl.CERT_REQUIRED,
      cadata: pki.ca,
      server_hostname: 'tls.test',
    });
    expect(t.cipher()[1]).toMatch(/^TLSv1\.[23]$/);
    expect((t.getpeercert() as tls.PeerCertificate).subjectaltname).toBe('DNS:tls.test');
    await getBytes(t, 'tls.test', 100_000);
  });

  it('ca_certs may name the CA in the coprocessor file store; SSLContext works the same way', async () => {
    const d = await open();
    const t = await wrapped(d, 'tls.test', {
      cert_reqs: 2,
      ca_certs: '/flash/cert/ca.pem',
      server_hostname: 'tls.test',
    });
    await getBytes(t, 'tls.test', 5000);
    const ctx = new d.ssl.SSLContext(d.ssl.PROTOCOL_TLS_CLIENT);
    expect([ctx.verify_mode, ctx.check_hostname]).toEqual([d.ssl.CERT_REQUIRED, true]);
    ctx.load_verify_locations({ cadata: Buffer.from(pki.ca) });
    const c = (await ctx.wrap_socket(await plainTo(d, 'tls.test', 443), { server_hostname: 'tls.test' })) as SSLSocket;
    cleanups.push(() => c.close());
    await getBytes(c, 'tls.test', 5000);
    await raises(
      ctx.wrap_socket(await plainTo(d, 'wrong-host.test', 443), { server_hostname: 'wrong-host.test' }),
      469,
    );
  });

  it('verification failures: unknown CA 456, wrong host name 469, expired 461; CERT_NONE connects to all three', async () => {
    const d = await open();
    const verify = { cert_reqs: d.ssl.CERT_REQUIRED, cadata: pki.ca };
    await raises(d.ssl.wrap_socket(await plainTo(d, 'unknown-ca.test', 443), verify), 456);
    await raises(
      d.ssl.wrap_socket(await plainTo(d, 'wrong-host.test', 443), { ...verify, server_hostname: 'wrong-host.test' }),
      469,
    );
    const expired = await raises(d.ssl.wrap_socket(await plainTo(d, 'expired.test', 443), verify), 461);
    expect(expired.message).toContain('CERT_HAS_EXPIRED');
    for (const host of ['unknown-ca.test', 'wrong-host.test', 'expired.test']) {
      await getBytes(await wrapped(d, host, { cert_reqs: d.ssl.CERT_NONE, server_hostname: host }), host, 100);
    }
  });

  it('mutual TLS to mtls.test with key and cert bytes that stay on the host', async () => {
    const d = await open();
    const { cert, key } = pki.certs.client;
    const t = await wrapped(d, 'mtls.test', { cert_reqs: 2, cadata: pki.ca, cert, key, server_hostname: 'mtls.test' });
    await getBytes(t, 'mtls.test', 10_000);
  });

  it('a host-side TLS server on an accepted device socket serves a node:tls client', async () => {
    const d = await open();
    const srv = await d.socket.socket();
    cleanups.push(() => srv.close());
    await srv.bind(['0.0.0.0', 9443]);
    const port = await srv.listen(1);
    const client = tls.connect({ host: '127.0.0.1', port, ca: pki.ca });
    cleanups.push(async () => client.destroy());
    client.on('error', () => {});
    srv.settimeout(5);
    const [conn] = await srv.accept();
    const { cert, key } = pki.certs.loopback;
    const t = (await d.ssl.wrap_socket(conn, { server_side: true, cert, key })) as SSLSocket;
    cleanups.push(() => t.close());
    await new Promise((r) => (client.authorized ? r(null) : client.once('secureConnect', r)));
    expect(client.authorized).toBe(true);
    client.write('hello\n');
    expect(Buffer.from((await t.readline()) ?? []).toString()).toBe('hello\n');
    await t.write('bye');
    expect(await new Promise((r) => client.once('data', (b: Buffer) => r(b.toString())))).toBe('bye');
  });

  it('handshake deadline (socket timeout) gives 462; a peer hanging up gives 452', async () => {
    const d = await open();
    const silent = await badPeer('silent');
    const hangUp = await badPeer('hang-up');
    cleanups.push(
      () => silent.close(),
      () => hangUp.close(),
    );
    const s = await plainTo(d, '127.0.0.1', silent.port);
    s.settimeout(0.3);
    await raises(d.ssl.wrap_socket(s), 462);
    await raises(d.ssl.wrap_socket(await plainTo(d, '127.0.0.1', hangUp.port)), 452);
  });

  it('non-blocking reads give null when nothing is ready; closed SSLSockets raise EBADF', async () => {
    const d = await open();
    const t = await wrapped(d, 'tls.test', {});
    t.setblocking(false);
    expect(await t.recv(10)).toBeNull();
    expect(await t.read(10)).toBeNull();
    t.setblocking(true);
    await getBytes(t, 'tls.test', 10);
    await t.close();
    await t.close();
    await raises(t.recv(1), d.errno.EBADF);
  });
});

describe('one set of stream methods for plain and TLS sockets', () => {
  it('settimeout of a non-number raises TypeError on both; a negative one ValueError', async () => {
    const d = await open();
    const plain = await plainTo(d, 'echo.test', 7);
    const t = await wrapped(d, 'tls.test', {});
    for (const s of [plain, t]) {
      expect(() => s.settimeout('1' as never)).toThrow(TypeError);
      expect(() => s.settimeout(-1)).toThrow(expect.objectContaining({ name: 'ValueError' }));
    }
  });

  it('readline splits lines across TLS records and reads the last line to EOF', async () => {
    const d = await open();
    const t = await wrapped(d, 'tls.test', {});
    await t.write('GET /bytes/3 HTTP/1.0\r\nHost: tls.test\r\n\r\n');
    const status = Buffer.from((await t.readline())!).toString();
    expect(status).toMatch(/^HTTP\/1\.[01] 200 .*\r\n$/);
    let line = '';
    do line = Buffer.from((await t.readline())!).toString();
    while (line !== '\r\n' && line !== '');
    expect([...(await t.readline())!]).toEqual([0, 1, 2]);
    expect((await t.readline())!.length).toBe(0);
  });
});

describe('esp32 profile (no TLS on the board)', () => {
  it('IPPROTO_SEC is refused with a clear error; host-side TLS works', async () => {
    const d = await open('esp32');
    const { socket, ssl } = d;
    const err = await raises(
      socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC),
      d.errno.EPROTONOSUPPORT,
    );
    expect(err.message).toMatch(/IPPROTO_SEC: the esp32 coprocessor does no TLS itself; .*ssl\.wrap_socket/);
    const t = await wrapped(d, 'tls.test', {
      cert_reqs: ssl.CERT_REQUIRED,
      cadata: pki.ca,
      server_hostname: 'tls.test',
    });
    await getBytes(t, 'tls.test', 100_000);
  });
});

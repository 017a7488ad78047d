/**
 * HTTPS on the virtual network: node:tls client-side over VirtualNetwork.connectTcp, verifying
 * against the fixture CA (composed in here, as at every composition point).
 */
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FixturePki, generateFixturePki } from '../../../fixtures/certs/index.js';
import { VirtualNetwork } from '../virtual-network.js';

const IP = {
  'tls.test': '10.77.0.43',
  'expired.test': '10.77.0.44',
  'wrong-host.test': '10.77.0.45',
  'unknown-ca.test': '10.77.0.46',
  'mtls.test': '10.77.0.47',
} as const;
type Host = keyof typeof IP;

let pki: FixturePki;
let network: VirtualNetwork | undefined;

beforeAll(async () => {
  pki = await generateFixturePki();
});

afterEach(async () => {
  await network?.close();
  network = undefined;
});

type Result = { ok: true; response: Buffer; authorized: boolean } | { ok: false; code: string };

/** GET `path` over TLS from `host`:443; the whole response (head and body) or the error code. */
async function get(host: Host, path: string, opts: tls.ConnectionOptions = {}): Promise<Result> {
  const raw: Duplex = await network!.connectTcp(IP[host], 443, AbortSignal.timeout(2000));
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const c = tls.connect({ socket: raw, ca: pki.ca, servername: host, ...opts }, () => {
      c.end(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    const timer = setTimeout(() => finish({ ok: false, code: 'TEST_DEADLINE' }), 5000);
    const finish = (r: Result): void => {
      clearTimeout(timer);
      c.destroy();
      resolve(r);
    };
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('end', () => finish({ ok: true, response: Buffer.concat(parts), authorized: c.authorized }));
    c.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, code: err.code ?? err.message }));
  });
}

function body(response: Buffer): { head: string; body: Buffer } {
  const end = response.indexOf('\r\n\r\n');
  return { head: response.subarray(0, end).toString('latin1'), body: response.subarray(end + 4) };
}

describe('https on the virtual network', () => {
  it('tls.test:443 serves GET /bytes/100000 intact over a verified TLS session', async () => {
    network = new VirtualNetwork({ pki });
    const r = await get('tls.test', '/bytes/100000');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.authorized).toBe(true);
    const { head, body: data } = body(r.response);
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toContain('Content-Length: 100000');
    expect(data.length).toBe(100000);
    expect(data.every((b, i) => b === (i & 0xff))).toBe(true);
  });

  it('serves the same routes as http.test (index page, 404)', async () => {
    network = new VirtualNetwork({ pki });
    const index = await get('tls.test', '/');
    expect(index.ok && body(index.response).body.toString()).toContain('netcoproc virtual http.test');
    const missing = await get('tls.test', '/nope');
    expect(missing.ok && body(missing.response).head).toMatch(/^HTTP\/1\.1 404 /);
  });

  it.each<[Host, string]>([
    ['expired.test', 'CERT_HAS_EXPIRED'],
    ['wrong-host.test', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['unknown-ca.test', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  ])('%s presents a bad certificate: %s', async (host, code) => {
    network = new VirtualNetwork({ pki });
    expect(await get(host, '/')).toEqual({ ok: false, code });
    // Unverified, the same host answers: only the certificate is wrong.
    const r = await get(host, '/bytes/3', { rejectUnauthorized: false });
    expect(r.ok && r.authorized).toBe(false);
    expect(r.ok && body(r.response).body).toEqual(Buffer.from([0, 1, 2]));
  });

  it('mtls.test refuses a client without a certificate or with an untrusted one, serves one with the fixture client certificate', async () => {
    network = new VirtualNetwork({ pki });
    // node:tls over an in-memory stream does not flush the server's alert before closing, so
    // both refusals reach the client as a reset (on real TCP: CERTIFICATE_REQUIRED alert / EOF).
    expect(await get('mtls.test', '/bytes/3')).toEqual({ ok: false, code: 'ECONNRESET' });
    const untrusted = { cert: pki.certs.unknownCa.cert, key: pki.certs.unknownCa.key };
    expect(await get('mtls.test', '/bytes/3', untrusted)).toEqual({ ok: false, code: 'ECONNRESET' });
    const client = { cert: pki.certs.client.cert, key: pki.certs.client.key };
    const r = await get('mtls.test', '/bytes/3', client);
    expect(r.ok && r.authorized).toBe(true);
    expect(r.ok && body(r.response).body).toEqual(Buffer.from([0, 1, 2]));
  });

  it('a promised PKI: connections made before it is ready wait for it; a failed one resets them', async () => {
    let give!: (p: FixturePki) => void;
    network = new VirtualNetwork({ pki: new Promise<FixturePki>((resolve) => (give = resolve)) });
    const early = get('tls.test', '/bytes/5');
    await new Promise((resolve) => setTimeout(resolve, 20));
    give(pki);
    const r = await early;
    expect(r.ok && body(r.response).body).toEqual(Buffer.from([0, 1, 2, 3, 4]));
    await network.close();
    network = new VirtualNetwork({ pki: Promise.reject(new Error('no x509')) });
    expect(await get('tls.test', '/')).toEqual({ ok: false, code: 'ECONNRESET' });
  });

  it('without TLS material every https host refuses the connection', async () => {
    network = new VirtualNetwork();
    for (const ip of Object.values(IP)) {
      await expect(network.connectTcp(ip, 443)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
  });

  it('an https host without a certificate in the PKI resets the connection', async () => {
    network = new VirtualNetwork({ pki: { ca: pki.ca, hosts: { 'tls.test': pki.hosts['tls.test']! } } });
    expect(await get('expired.test', '/')).toEqual({ ok: false, code: 'ECONNRESET' });
    expect((await get('tls.test', '/bytes/1')).ok).toBe(true);
  });
});

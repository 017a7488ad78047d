/**
 * The ssl module's constants and argument checks: WiPy's ValueError cases for IPPROTO_SEC
 * sockets, the modern rules for host-side TLS, SSLContext's, and TypeErrors that name the
 * argument. Nothing here reaches a handshake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, OSError, openDevice, type Socket } from '../index.js';
import { raises, raisesArg } from './helpers/tls.js';

let dev: Device;
let sec: Socket;
let plain: Socket;

beforeAll(async () => {
  dev = await openDevice('emulator:');
  const { socket } = dev;
  sec = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
  plain = await socket.socket();
  await plain.connect((await socket.getaddrinfo('tls.test', 443))[0]![4]);
});
afterAll(async () => {
  await dev.close();
});

describe('ssl module', () => {
  it('has WiPy and MicroPython constants; SSLError is OSError', () => {
    const { ssl } = dev;
    expect([ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED]).toEqual([0, 1, 2]);
    expect([ssl.PROTOCOL_SSLv3, ssl.PROTOCOL_TLSv1, ssl.PROTOCOL_TLSv1_1, ssl.PROTOCOL_TLSv1_2]).toEqual([0, 1, 2, 3]);
    expect([ssl.PROTOCOL_TLS_CLIENT, ssl.PROTOCOL_TLS_SERVER]).toEqual([0, 1]);
    expect(ssl.SSLError).toBe(OSError);
    expect([dev.errno.ESECBADCAFILE, dev.errno.ESECDATEERROR, dev.errno.ESECHANDSHAKETIMEDOUT]).toEqual([
      456, 461, 462,
    ]);
    expect(dev.errno.errorcode[460]).toBe('ESECTOOMANYSSLOPENED');
  });

  it("wrap_socket on an IPPROTO_SEC socket: WiPy's ValueError cases", async () => {
    const { ssl } = dev;
    await raisesArg(ssl.wrap_socket(sec, { cert_reqs: ssl.CERT_REQUIRED }), 'ValueError', 'ca_certs');
    await raisesArg(ssl.wrap_socket(sec, { cert_reqs: ssl.CERT_OPTIONAL }), 'ValueError', 'ca_certs');
    await raisesArg(ssl.wrap_socket(sec, { server_side: true, keyfile: '/flash/k' }), 'ValueError', 'certfile');
    await raisesArg(ssl.wrap_socket(sec, { server_side: true }), 'ValueError', 'keyfile');
    await raisesArg(ssl.wrap_socket(sec, { cert_reqs: 7 }), 'ValueError', 'cert_reqs');
    await raisesArg(ssl.wrap_socket(sec, { ssl_version: 9 }), 'ValueError', 'ssl_version');
    await raisesArg(ssl.wrap_socket(sec, { ca_certs: `/flash/${'x'.repeat(260)}` }), 'ValueError', 'ca_certs');
    await raisesArg(ssl.wrap_socket(sec, { cadata: 'PEM' }), 'ValueError', 'cadata');
    await raisesArg(ssl.wrap_socket(sec, { key: 'k', cert: 'c' }), 'ValueError', 'key');
  });

  it('TypeErrors name the argument; SLIP TLS_WRAP has no ALPN', async () => {
    const { ssl } = dev;
    await raisesArg(ssl.wrap_socket(sec, { ciphers: 'x' } as never), 'TypeError', "'ciphers'");
    await raisesArg(ssl.wrap_socket(sec, { ca_certs: 5 } as never), 'TypeError', 'ca_certs');
    await raisesArg(ssl.wrap_socket({} as never), 'TypeError', 'sock');
    await raises(ssl.wrap_socket(sec, { alpn_protocols: ['h2'] }), dev.errno.EOPNOTSUPP);
  });

  it('host-side wrap_socket: CERT_REQUIRED needs a CA, a server needs key and cert, material must parse', async () => {
    const { ssl } = dev;
    await raisesArg(ssl.wrap_socket(plain, { cert_reqs: ssl.CERT_REQUIRED }), 'ValueError', 'cadata');
    await raisesArg(ssl.wrap_socket(plain, { server_side: true }), 'ValueError', 'key');
    await raisesArg(
      ssl.wrap_socket(plain, { cert_reqs: 2, cadata: new Uint8Array([1, 2, 3]) }),
      'ValueError',
      'invalid cert',
    );
    await raisesArg(ssl.wrap_socket(plain, { key: 'nope', cert: 'nope' }), 'ValueError', 'invalid');
    await raisesArg(ssl.wrap_socket(plain, { ssl_version: ssl.PROTOCOL_SSLv3 }), 'ValueError', 'ssl_version');
    await raises(ssl.wrap_socket(plain, { cert_reqs: 2, ca_certs: '/nonexistent/ca.pem' }), 454);
  });

  it('SSLContext: protocol, defaults, check_hostname needs server_hostname', async () => {
    const { ssl } = dev;
    expect(() => new ssl.SSLContext(7)).toThrow(/protocol/);
    const server = new ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER);
    expect([server.verify_mode, server.check_hostname]).toEqual([ssl.CERT_NONE, false]);
    const client = new ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT);
    await raisesArg(client.wrap_socket(plain), 'ValueError', 'server_hostname');
    expect(() => client.load_verify_locations()).toThrow(/cafile/);
    client.check_hostname = false;
    await raisesArg(client.wrap_socket(plain), 'ValueError', 'cadata'); // CERT_REQUIRED still needs a CA
  });
});

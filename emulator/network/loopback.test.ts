import dgram from 'node:dgram';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualNetwork } from './virtual-network.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function collect(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** A real TCP server on loopback that upper-cases what it gets and half-closes after. */
async function upperServer(): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
    s.on('end', () => s.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

/** A real UDP echo server on loopback. */
async function udpEchoServer(): Promise<number> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => sock.close(() => resolve())));
  return sock.address().port;
}

function network(mode: 'virtual' | 'host'): VirtualNetwork {
  const n = new VirtualNetwork({ mode });
  cleanups.push(() => n.close());
  return n;
}

describe.each(['virtual', 'host'] as const)('loopback in %s mode', (mode) => {
  it('connects to a real TCP server on 127.0.0.1 with half-close both ways', async () => {
    const port = await upperServer();
    const net1 = network(mode);
    const [ip] = await net1.resolve('localhost');
    const conn = await net1.connectTcp(ip!, port, AbortSignal.timeout(2000));
    const got = collect(conn);
    conn.end('hello loopback');
    expect((await got).toString()).toBe('HELLO LOOPBACK');
  });

  it('a closed loopback port refuses', async () => {
    const port = await upperServer();
    await Promise.all(cleanups.splice(0).map((fn) => fn())); // close the server again: the port is now free
    await expect(network(mode).connectTcp('127.0.0.1', port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a loopback peer reset arrives as NetError ECONNRESET', async () => {
    // Reset only after the first data: a reset during the handshake would fail connect() itself.
    const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const conn = await network(mode).connectTcp('127.0.0.1', (server.address() as net.AddressInfo).port);
    const failed = new Promise<Error>((resolve) => conn.once('error', resolve));
    conn.write('provoke');
    const err = await failed;
    expect(err).toMatchObject({ name: 'NetError', code: 'ECONNRESET' });
  });

  it('exchanges datagrams with a real UDP server on 127.0.0.1', async () => {
    const port = await udpEchoServer();
    const udp = await network(mode).openUdp();
    const reply = new Promise<[string, string, number]>((resolve) =>
      udp.onMessage((d, ip, p) => resolve([Buffer.from(d).toString(), ip, p])),
    );
    udp.send(Buffer.from('dgram over loopback'), '127.0.0.1', port);
    expect(await reply).toEqual(['dgram over loopback', '127.0.0.1', port]);
  });
});

describe('host mode', () => {
  it('resolves with the OS resolver and does not know the virtual names', async () => {
    const n = network('host');
    expect(await n.resolve('localhost')).toEqual(['127.0.0.1']);
    await expect(n.resolve('echo.test')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

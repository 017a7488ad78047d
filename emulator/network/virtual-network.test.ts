import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { NetError } from './net-error.js';
import { VirtualNetwork } from './virtual-network.js';

let network: VirtualNetwork;
afterEach(async () => {
  await network?.close();
});

function collect(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function allByteValues(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

describe('VirtualNetwork names and addresses', () => {
  it('resolves table names, literals and localhost; unknown names are ENOENT', async () => {
    network = new VirtualNetwork();
    expect(network.deviceIp).toBe('10.77.0.2');
    expect(await network.resolve('echo.test')).toEqual(['10.77.0.7']);
    expect(await network.resolve('HTTP.Test.')).toEqual(['10.77.0.80']);
    expect(await network.resolve('192.0.2.1')).toEqual(['192.0.2.1']);
    expect(await network.resolve('localhost')).toEqual(['127.0.0.1']);
    await expect(network.resolve('example.com')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(network.resolve('')).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('never leaves the virtual network: unknown addresses are EHOSTUNREACH, bad ones EINVAL', async () => {
    network = new VirtualNetwork();
    await expect(network.connectTcp('10.77.0.200', 80)).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
    await expect(network.connectTcp('8.8.8.8', 53)).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
    await expect(network.connectTcp('10.77.0.2', 80)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(network.connectTcp('echo.test', 7)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(network.connectTcp('10.77.0.7', 0)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('VirtualNetwork TCP services', () => {
  it('echo.test echoes 1 MiB with every byte value intact, then answers FIN with FIN', async () => {
    network = new VirtualNetwork();
    const conn = await network.connectTcp('10.77.0.7', 7);
    const payload = allByteValues(1024 * 1024);
    const echoed = collect(conn);
    // Write in uneven pieces, honouring backpressure like the socket table will.
    for (let off = 0; off < payload.length; off += 10_007) {
      if (!conn.write(payload.subarray(off, off + 10_007))) await new Promise((r) => conn.once('drain', r));
    }
    conn.end();
    const got = await echoed;
    expect(got.length).toBe(payload.length);
    expect(got.equals(payload)).toBe(true);
  });

  it('refused.test, closed ports and the not yet served tls.test refuse', async () => {
    network = new VirtualNetwork();
    const refused = network.connectTcp('10.77.0.99', 80);
    await expect(refused).rejects.toBeInstanceOf(NetError);
    await expect(refused).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(network.connectTcp('10.77.0.7', 8080)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(network.connectTcp('10.77.0.43', 443)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a registered service serves its kind (how tls.test will be plugged in)', async () => {
    network = new VirtualNetwork({
      services: { tcp: { https: (conn, info) => conn.end(`hello from ${info.hostName}:${info.port}`) } },
    });
    const conn = await network.connectTcp('10.77.0.43', 443);
    conn.end();
    expect((await collect(conn)).toString()).toBe('hello from tls.test:443');
  });

  it('blackhole.test stays pending until the signal aborts, then rejects ETIMEDOUT marked cancelled', async () => {
    network = new VirtualNetwork();
    const started = Date.now();
    const err = await network.connectTcp('10.77.0.66', 80, AbortSignal.timeout(200)).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(NetError);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', cancelled: true, name: 'AbortError' });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2000);
  });

  it('an already aborted signal rejects at once', async () => {
    network = new VirtualNetwork();
    await expect(network.connectTcp('10.77.0.7', 7, AbortSignal.abort())).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});

describe('VirtualNetwork.close', () => {
  it('resets open connections, cancels pending connects, closes UDP and leaves no handles or timers', async () => {
    // The test's own peer: its accepted socket closes when our reset arrives.
    const server = net.createServer((s) => s.on('error', () => {}));
    const peerClosed = new Promise((resolve) => server.once('connection', (s) => s.once('close', resolve)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const before = process.getActiveResourcesInfo();
    network = new VirtualNetwork();
    const echo = await network.connectTcp('10.77.0.7', 7);
    const http = await network.connectTcp('10.77.0.80', 80);
    http.write('GET /bytes/100000000 HTTP/1.1\r\nHost: http.test\r\n\r\n'); // a large response in progress
    const loop = await network.connectTcp('127.0.0.1', (server.address() as net.AddressInfo).port);
    const quiet = await network.connectTcp('10.77.0.7', 7); // no 'error' listener: closes without throwing
    const errors = [echo, http, loop].map((c) => new Promise((resolve) => c.once('error', resolve)));
    const pending = network.connectTcp('10.77.0.66', 1234).catch((e: unknown) => e);
    const udp = await network.openUdp();
    udp.send(Buffer.from('x'), '127.0.0.1', 9); // opens a real loopback socket
    await network.close();
    expect(await Promise.all(errors)).toEqual(Array(3).fill(expect.objectContaining({ code: 'ECONNRESET' })));
    expect(quiet.destroyed).toBe(true);
    expect(await pending).toMatchObject({ code: 'ECONNRESET' });
    expect(() => udp.send(Buffer.from('x'), '10.77.0.7', 7)).toThrow(NetError);
    await expect(network.connectTcp('10.77.0.7', 7)).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
    await peerClosed;
    // Nothing of ours is left: no kind of resource is more numerous than before. (A timer that
    // existed before, from vitest or an earlier test, may have fired meanwhile: fewer is fine.)
    const count = (kinds: string[]) => kinds.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
    const was = count(before);
    const left = [...count(process.getActiveResourcesInfo())].filter(([k, n]) => n > (was.get(k) ?? 0));
    expect(left).toEqual([]);
    await new Promise((resolve) => server.close(resolve));
  });
});

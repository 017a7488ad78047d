import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { joinNamedNetwork, type NamedNetwork } from './named.js';

const joined: NamedNetwork[] = [];
afterEach(async () => {
  for (const j of joined.splice(0).reverse()) await j.close();
});

async function read(conn: Duplex, n: number): Promise<string> {
  let got = '';
  for await (const chunk of conn) {
    got += chunk.toString();
    if (got.length >= n) break;
  }
  return got;
}

describe('named networks', () => {
  it('the first joiner hosts; later joiners get their own address and reach the first by TCP and UDP', async () => {
    const name = `t${process.pid}`;
    const a = await joinNamedNetwork(name);
    joined.push(a);
    const b = await joinNamedNetwork(name);
    joined.push(b);
    expect(a.network).toBeDefined();
    expect(b.network).toBeUndefined();
    expect(a.nic.ip).toBe('10.77.0.2');
    expect(b.nic.ip).toBe('10.77.0.3');
    expect(await b.nic.resolve('echo.test')).toEqual(['10.77.0.7']);

    let peer: [string, number] | undefined;
    const listener = await a.nic.listenTcp(
      8000,
      (conn, from) => {
        peer = from;
        conn.on('data', (d: Buffer) => conn.write(`A got ${d}`));
        return true;
      },
      false,
    );
    const conn = await b.nic.connectTcp(a.nic.ip, 8000);
    conn.write('hello');
    expect(await read(conn, 11)).toBe('A got hello');
    expect(peer?.[0]).toBe(b.nic.ip);
    conn.destroy();
    await listener.close();

    // B listens too (the hub forwards to the other process), and virtual services work from B.
    const lb = await b.nic.listenTcp(
      0,
      (c) => {
        c.end('from B');
        return true;
      },
      false,
    );
    const toB = await a.nic.connectTcp(b.nic.ip, lb.port);
    expect(await read(toB, 6)).toBe('from B');
    const echo = await b.nic.connectTcp('10.77.0.7', 7);
    echo.write('echo me');
    expect(await read(echo, 7)).toBe('echo me');
    echo.destroy();

    const ua = await a.nic.openUdp(9000);
    const ub = await b.nic.openUdp(0);
    const got = new Promise<[string, string, number]>((r) =>
      ua.onMessage((d, ip, port) => r([Buffer.from(d).toString(), ip, port])),
    );
    ub.send(Buffer.from('dgram'), a.nic.ip, 9000);
    expect(await got).toEqual(['dgram', b.nic.ip, ub.localPort]);
    ua.close();
    ub.close();
  });

  it('refusals cross the hub as errors', async () => {
    const name = `r${process.pid}`;
    const a = await joinNamedNetwork(name);
    joined.push(a);
    const b = await joinNamedNetwork(name);
    joined.push(b);
    await expect(b.nic.connectTcp(a.nic.ip, 9)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(b.nic.resolve('nothing.test')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

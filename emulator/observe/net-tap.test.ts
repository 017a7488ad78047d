/**
 * The board's network as observers see it (what traces record): connections the board makes,
 * connections forwarded to its listeners from this machine's loopback, UDP and name lookups,
 * each with the board's address and the right roles, FINs and resets.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../../index.js';
import type { Endpoints, NetObserver, Side } from './observer.js';

type Event = [string, ...unknown[]];

function recorder(): NetObserver & { events: Event[] } {
  const events: Event[] = [];
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  return {
    events,
    tcpOpen: (id: number, e: Endpoints) => events.push(['open', id, e]),
    tcpData: (id: number, side: Side, b: Uint8Array) => events.push(['data', id, side, text(b)]),
    tcpEnd: (id: number, side: Side) => events.push(['fin', id, side]),
    tcpReset: (id: number, side: Side) => events.push(['rst', id, side]),
    udp: (e: Endpoints, p: Uint8Array) => events.push(['udp', e, text(p)]),
    dns: (client: string, name: string, addresses: string[]) => events.push(['dns', client, name, addresses]),
  };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('NetTap', () => {
  let dev: Device | undefined;
  afterEach(async () => {
    await dev?.close();
    dev = undefined;
  });

  it('sees lookups, outgoing TCP both ways with FINs, and UDP, with the board as 10.77.0.2', async () => {
    const net = recorder();
    dev = await openDevice('emulator:', { emulator: { pki: undefined, observers: [{ net }] } });
    const { socket } = dev;
    const addr = (await socket.getaddrinfo('echo.test', 7))[0]?.[4] as [string, number];
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect(addr);
    await s.sendall(new TextEncoder().encode('ping'));
    expect(new TextDecoder().decode(await s.recv(4))).toBe('ping');
    await s.close();
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    u.settimeout(5);
    await u.sendto(new TextEncoder().encode('dgram'), addr);
    await u.recvfrom(64);
    await u.close();
    await until(() => net.events.filter((e) => e[0] === 'fin').length === 2, 'both FINs');
    const ends = { src: '10.77.0.2', sport: 49152, dst: '10.77.0.7', dport: 7 };
    expect(net.events.filter((e) => e[0] !== 'udp')).toEqual([
      ['dns', '10.77.0.2', 'echo.test', ['10.77.0.7']],
      ['open', 1, ends],
      ['data', 1, 'client', 'ping'],
      ['data', 1, 'server', 'ping'],
      ['fin', 1, 'client'],
      ['fin', 1, 'server'],
    ]);
    const udp = net.events.filter((e) => e[0] === 'udp');
    expect(udp).toHaveLength(2);
    expect(udp[0]?.[2]).toBe('dgram');
    expect(udp[1]?.[1]).toMatchObject({ dst: '10.77.0.2' });
  });

  it('sees a connection forwarded from loopback to a board listener, and the reset when the peer aborts', async () => {
    const net = recorder();
    dev = await openDevice('emulator:', { emulator: { pki: undefined, observers: [{ net }] } });
    const { socket } = dev;
    const l = await socket.socket();
    await l.bind(['0.0.0.0', 8000]);
    const port = await l.listen(1);
    l.settimeout(5);
    const peer = connect(port, '127.0.0.1');
    peer.on('error', () => {});
    peer.write('hello');
    const [conn] = await l.accept();
    conn.settimeout(5);
    expect(new TextDecoder().decode(await conn.recv(5))).toBe('hello');
    peer.resetAndDestroy();
    await until(() => net.events.some((e) => e[0] === 'rst'), 'the reset');
    const open = net.events.find((e) => e[0] === 'open');
    expect(open?.[2]).toMatchObject({ src: '127.0.0.1', dst: '10.77.0.2', dport: 8000 });
    expect(net.events).toContainEqual(['data', open?.[1], 'client', 'hello']);
    expect(net.events).toContainEqual(['rst', open?.[1], 'client']);
    await conn.close();
    await l.close();
  });
});

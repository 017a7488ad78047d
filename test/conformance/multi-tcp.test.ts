/**
 * MicroPython tests/multi_net, two instances as two devices on one network: tcp_data,
 * tcp_recv_peek, tcp_server_client (asyncio-free: readall / readexactly / close then write),
 * plus tcp_client_rst against a loopback peer that resets the connection.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Socket } from '../../host-lib/index.js';
import { errnoOf, loopbackServer, peerHost, sleep, text } from './helpers.js';
import { type Pair, selectedTargets } from './targets.js';

async function listenOn(pair: Pair): Promise<{ srv: Socket; port: number }> {
  const { a } = pair;
  const port = await pair.port(8000);
  const srv = await a.socket.socket();
  await srv.setsockopt(a.socket.SOL_SOCKET, a.socket.SO_REUSEADDR, 1);
  await srv.bind(['0.0.0.0', port]);
  await srv.listen(1);
  return { srv, port };
}

describe.each(selectedTargets().filter((t) => !t.lacks['multi-device']))('$name', (target) => {
  let pair: Pair;
  beforeEach(async () => {
    pair = await target.pair();
  });
  afterEach(async () => {
    await pair.close();
  });

  it('tcp_data: data flows both ways and A sees B in accept', async () => {
    const { b, aIp } = pair;
    const { srv, port } = await listenOn(pair);
    const cli = await b.socket.socket();
    await cli.connect([aIp, port]);
    const [conn, peer] = await srv.accept();
    expect(peer[0]).not.toBe(aIp === '127.0.0.1' ? '' : aIp);
    expect(typeof peer[1]).toBe('number');
    await cli.send('abc');
    expect(text(await conn.recv(10))).toBe('abc');
    await conn.send('0123456789');
    expect(text(await cli.read(10))).toBe('0123456789');
    await cli.close();
    expect(text(await conn.recv(10))).toBe('');
    await conn.close();
    await srv.close();
  });

  it('tcp_recv_peek: MSG_PEEK leaves the data queued', async () => {
    const { a, b, aIp } = pair;
    const { srv, port } = await listenOn(pair);
    const cli = await b.socket.socket();
    await cli.connect([aIp, port]);
    const [conn] = await srv.accept();
    await cli.send('hello');
    await sleep(50);
    expect(text(await conn.recv(5, a.socket.MSG_PEEK))).toBe('hello');
    expect(text(await conn.recv(5, a.socket.MSG_PEEK))).toBe('hello');
    expect(text(await conn.recv(5))).toBe('hello');
    for (const s of [cli, conn, srv]) await s.close();
  });

  it('tcp_server_client: readexactly, read to EOF, writing after close fails', async () => {
    const { b, aIp } = pair;
    const { srv, port } = await listenOn(pair);
    const cli = await b.socket.socket();
    cli.settimeout(5);
    await cli.connect([aIp, port]);
    const [conn] = await srv.accept();
    conn.settimeout(5);
    await conn.write('a'.repeat(3000));
    expect((await cli.read(3000))?.length).toBe(3000);
    await cli.write('bye');
    await cli.close();
    expect(text(await conn.read())).toBe('bye');
    expect(await errnoOf(cli.write('x'))).toBe(b.errno.EBADF);
    await conn.close();
    await srv.close();
  });

  it.skipIf(target.lacks.server || target.lacks.forwarding)(
    'forwarded listener: a Node client on this machine exchanges data',
    async () => {
      const { a } = pair;
      const srv = await a.socket.socket();
      await srv.bind(['0.0.0.0', 8080]);
      const fwd = await srv.listen(2);
      expect(fwd).toBeGreaterThan(0);
      const { connect } = await import('node:net');
      const c = connect(fwd, '127.0.0.1');
      await new Promise((r) => c.once('connect', r));
      const [conn, peer] = await srv.accept();
      expect(peer[0]).toBe('127.0.0.1');
      c.write('from node');
      expect(text(await conn.read(9))).toBe('from node');
      const got = new Promise<string>((r) => c.once('data', (d) => r(d.toString())));
      await conn.sendall('to node');
      expect(await got).toBe('to node');
      c.destroy();
      await conn.close();
      await srv.close();
    },
  );
});

describe.each(selectedTargets())('$name tcp_client_rst', (target) => {
  /** Connects to a loopback peer that sends 17 bytes, then resets; returns once they were polled readable. */
  async function resetPeer(dev: Awaited<ReturnType<typeof target.open>>) {
    const peer = await loopbackServer((c) => {
      c.write('data before reset', () => setTimeout(() => c.resetAndDestroy(), 50));
    });
    const { socket, select } = dev;
    const s = await socket.socket();
    s.settimeout(5);
    await s.connect([peerHost(), peer.port]);
    await sleep(200);
    const poller = select.poll();
    poller.register(s, select.POLLIN);
    const [[, flags]] = (await poller.poll(1000)) as [[Socket, number]];
    expect(flags & select.POLLIN).toBe(select.POLLIN);
    expect(text(await s.read(17))).toBe('data before reset');
    return { s, peer };
  }

  it.skipIf(target.lacks['reset-report'])(
    'peer RST: data is drained first, then ECONNRESET once, then EOF; EBADF after close',
    async () => {
      const dev = await target.open();
      const { s, peer } = await resetPeer(dev);
      expect(await errnoOf(s.recv(10))).toBe(dev.errno.ECONNRESET);
      expect(text(await s.recv(10))).toBe('');
      await s.close();
      expect(await errnoOf(s.recv(10))).toBe(dev.errno.EBADF);
      await peer.close();
      await dev.done();
    },
  );

  // Where the device cannot tell a reset from a close, the rest of tcp_client_rst still holds.
  it.runIf(target.lacks['reset-report'])(
    'peer RST without a reset report: data is drained first, then EOF; EBADF after close',
    async () => {
      const dev = await target.open();
      const { s, peer } = await resetPeer(dev);
      expect(text(await s.recv(10))).toBe('');
      expect(text(await s.recv(10))).toBe('');
      await s.close();
      expect(await errnoOf(s.recv(10))).toBe(dev.errno.EBADF);
      await peer.close();
      await dev.done();
    },
  );
});

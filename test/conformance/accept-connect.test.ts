/**
 * MicroPython tests/net_hosted: accept_nonblock, accept_timeout, connect_nonblock, connect_poll,
 * connect_timeout, connect_nonblock_xfer; tests/multi_net: tcp_accept_recv. Peers that were
 * internet hosts in MicroPython run on this machine's loopback or are the target's blackhole.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from '../../host-lib/index.js';
import { errnoOf, loopbackServer, peerHost } from './helpers.js';
import { selectedTargets } from './targets.js';

describe.each(selectedTargets())('$name', (target) => {
  let dev: Device & { done(): Promise<void> };
  beforeEach(async () => {
    dev = await target.open();
  });
  afterEach(async () => {
    await dev.done();
  });

  it.skipIf(target.lacks.server)('accept_nonblock: non-blocking accept raises EAGAIN (11)', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    await s.bind(['127.0.0.1', 0]);
    await s.listen(1);
    s.setblocking(false);
    expect(await errnoOf(s.accept())).toBe(errno.EAGAIN);
    expect(errno.EAGAIN).toBe(11);
    await s.close();
  });

  it.skipIf(target.lacks.server)('accept_timeout: accept with a timeout raises ETIMEDOUT', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    await s.bind(['127.0.0.1', 0]);
    await s.listen(1);
    s.settimeout(0.3);
    const t0 = Date.now();
    expect(await errnoOf(s.accept())).toBe(errno.ETIMEDOUT);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await s.close();
  });

  it.skipIf(target.lacks.server)('tcp_accept_recv: recv on a listening socket raises ENOTCONN', async () => {
    const { socket, errno } = dev;
    for (const backlog of [0, 1, 2]) {
      for (const blocking of [true, false]) {
        const s = await socket.socket();
        await s.bind(['127.0.0.1', 0]);
        await s.listen(backlog);
        s.setblocking(blocking);
        expect(await errnoOf(s.recv(10))).toBe(errno.ENOTCONN);
        await s.close();
      }
    }
  });

  it('connect_nonblock: a non-blocking connect raises EINPROGRESS', async () => {
    const { socket, errno } = dev;
    const peer = await loopbackServer();
    const s = await socket.socket();
    s.setblocking(false);
    expect(await errnoOf(s.connect([peerHost(), peer.port]))).toBe(errno.EINPROGRESS);
    await s.close();
    await peer.close();
  });

  it('connect_poll: poll gives 20 before, nothing while connecting, 4 once connected', async () => {
    const { socket, select, errno } = dev;
    const peer = await loopbackServer();
    const s = await socket.socket();
    const poller = select.poll();
    poller.register(s);
    expect((await poller.poll(0)).map(([, m]) => m)).toEqual([20]);
    s.setblocking(false);
    expect(await errnoOf(s.connect([peerHost(), peer.port]))).toBe(errno.EINPROGRESS);
    const during = await poller.poll(0);
    expect(during.length === 0 || during[0]![1] === 4).toBe(true);
    const after = await poller.poll(2000);
    expect(after.map(([, m]) => m)).toEqual([4]);
    await s.close();
    await peer.close();
  });

  it('connect_timeout: timeout 0 → EINPROGRESS, 0.5 s → ETIMEDOUT', async () => {
    const { socket, errno } = dev;
    const hole = await target.blackhole();
    const a = await socket.socket();
    a.settimeout(0);
    expect(await errnoOf(a.connect(hole.addr))).toBe(errno.EINPROGRESS);
    await a.close();
    const b = await socket.socket();
    b.settimeout(0.5);
    const t0 = Date.now();
    expect(await errnoOf(b.connect(hole.addr))).toBe(errno.ETIMEDOUT);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
    await b.close();
    await hole.close();
  });

  it('connect_nonblock_xfer: while connecting, send/recv EAGAIN, read/write None, poll empty', async () => {
    const { socket, select, errno } = dev;
    const hole = await target.blackhole();
    const s = await socket.socket();
    s.setblocking(false);
    expect(await errnoOf(s.connect(hole.addr))).toBe(errno.EINPROGRESS);
    expect(await errnoOf(s.send('test'))).toBe(errno.EAGAIN);
    expect(await errnoOf(s.recv(10))).toBe(errno.EAGAIN);
    expect(await s.write('test')).toBeNull();
    expect(await s.read(10)).toBeNull();
    const poller = select.poll();
    poller.register(s, select.POLLIN | select.POLLOUT);
    expect(await poller.poll(0)).toEqual([]);
    await s.close();
    await hole.close();
  });
});

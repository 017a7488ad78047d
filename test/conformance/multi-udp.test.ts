/**
 * MicroPython tests/multi_net: udp_data, udp_recv_dontwait, udp_recv_peek — two devices on one
 * network; datagram boundaries and truncation.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Socket } from '../../host-lib/index.js';
import { errnoOf, text } from './helpers.js';
import { type Pair, selectedTargets } from './targets.js';

describe.each(selectedTargets().filter((t) => !t.lacks['multi-device']))('$name', (target) => {
  let pair: Pair;
  let srv: Socket;
  let cli: Socket;
  let port: number;
  beforeEach(async () => {
    pair = await target.pair();
    port = await pair.port(8001);
    srv = await pair.a.socket.socket(pair.a.socket.AF_INET, pair.a.socket.SOCK_DGRAM);
    await srv.bind(['0.0.0.0', port]);
    cli = await pair.b.socket.socket(pair.b.socket.AF_INET, pair.b.socket.SOCK_DGRAM);
  });
  afterEach(async () => {
    await srv.close();
    await cli.close();
    await pair.close();
  });

  it('udp_data: sendto/recvfrom both ways with 250 ms timeouts, boundaries kept', async () => {
    srv.settimeout(0.25);
    cli.settimeout(0.25);
    for (let i = 0; i < 4; i++) {
      await cli.sendto(`client ${i}`, [pair.aIp, port]);
      const [data, from] = await srv.recvfrom(40);
      expect(text(data)).toBe(`client ${i}`);
      await srv.sendto(`server ${i}`, from);
      const [back, src] = await cli.recvfrom(40);
      expect(text(back)).toBe(`server ${i}`);
      expect(src).toEqual([pair.aIp, port]);
    }
  });

  it('datagram truncation: recv(n) returns the first n bytes and drops the rest', async () => {
    srv.settimeout(1);
    await cli.sendto('0123456789', [pair.aIp, port]);
    await cli.sendto('abc', [pair.aIp, port]);
    expect(text(await srv.recv(4))).toBe('0123');
    expect(text(await srv.recv(100))).toBe('abc');
  });

  it('udp_recv_dontwait: MSG_DONTWAIT raises EAGAIN at once, then gets the data', async () => {
    const t0 = Date.now();
    expect(await errnoOf(srv.recv(10, pair.a.socket.MSG_DONTWAIT))).toBe(pair.a.errno.EAGAIN);
    expect(Date.now() - t0).toBeLessThan(50);
    await cli.sendto('dontwait', [pair.aIp, port]);
    srv.settimeout(1);
    await srv.recv(0, pair.a.socket.MSG_PEEK);
    expect(text(await srv.recv(10, pair.a.socket.MSG_DONTWAIT))).toBe('dontwait');
  });

  it.skipIf(target.lacks.peek)(
    'udp_recv_peek: MSG_PEEK with recv and recvfrom keeps the datagram and its source',
    async () => {
      srv.settimeout(1);
      await cli.sendto('peek me', [pair.aIp, port]);
      const [p1, from1] = await srv.recvfrom(20, pair.a.socket.MSG_PEEK);
      expect(text(await srv.recv(20, pair.a.socket.MSG_PEEK))).toBe('peek me');
      const [d, from2] = await srv.recvfrom(20);
      expect(text(p1)).toBe('peek me');
      expect(text(d)).toBe('peek me');
      expect(from1).toEqual(from2);
    },
  );
});

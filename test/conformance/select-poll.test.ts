/**
 * MicroPython tests/extmod: select_poll_basic, select_poll_udp, select_ipoll (values from .exp:
 * POLLIN 1, POLLOUT 4, POLLNVAL 32 for a closed socket; ipoll flag 1 is one-shot).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device, Socket } from '../../host-lib/index.js';
import { errnoOf } from './helpers.js';
import { selectedTargets } from './targets.js';

const masks = (r: Iterable<[Socket, number]>): number[] => [...r].map(([, m]) => m);

describe.each(selectedTargets())('$name', (target) => {
  let dev: Device & { done(): Promise<void> };
  beforeEach(async () => {
    dev = await target.open();
  });
  afterEach(async () => {
    await dev.done();
  });

  it('select_poll_basic: register twice, modify rules, ENOENT, NVAL after close', async () => {
    const { socket, select, errno } = dev;
    const s = await socket.socket();
    const poller = select.poll();
    poller.register(s);
    poller.register(s, select.POLLIN);
    expect(() => (poller.modify as (o: unknown) => void)(s)).toThrow(TypeError);
    const other = await socket.socket();
    expect(await errnoOf(Promise.resolve().then(() => poller.modify(other, select.POLLIN)))).toBe(errno.ENOENT);
    poller.unregister(other);
    poller.register(s, select.POLLIN | select.POLLOUT);
    await s.close();
    const r = await poller.poll(0);
    expect(r.length).toBe(1);
    expect(r[0]![0]).toBe(s);
    expect(r[0]![1]).toBe(32);
    await other.close();
  });

  it('select_poll_udp: a bound UDP socket is writable, not readable', async () => {
    const { socket, select } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    await s.bind(['127.0.0.1', 0]);
    const poller = select.poll();
    poller.register(s, select.POLLIN);
    expect(masks(await poller.poll(0))).toEqual([]);
    poller.modify(s, select.POLLOUT);
    expect(masks(await poller.poll(0))).toEqual([select.POLLOUT]);
    await s.close();
  });

  it('select_ipoll: results, one-shot flag, re-arm with modify, unregister', async () => {
    const { socket, select } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    await s.bind(['127.0.0.1', 0]);
    const poller = select.poll();
    poller.register(s, select.POLLOUT);
    expect(masks(await poller.ipoll(0))).toEqual([4]);
    expect(masks(await poller.ipoll(0, 1))).toEqual([4]);
    expect(masks(await poller.ipoll(0))).toEqual([]);
    poller.modify(s, select.POLLOUT);
    expect(masks(await poller.ipoll(0))).toEqual([4]);
    poller.unregister(s);
    expect(masks(await poller.ipoll(0))).toEqual([]);
    await s.close();
  });

  it('poll with a timeout and nothing ready returns [] after the timeout', async () => {
    const { socket, select } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    await s.bind(['127.0.0.1', 0]);
    const poller = select.poll();
    poller.register(s, select.POLLIN);
    const t0 = Date.now();
    expect(await poller.poll(150)).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await s.close();
  });
});

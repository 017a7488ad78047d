/**
 * MicroPython tests/extmod: socket_tcp_basic, socket_udp_nonblock, socket_badconstructor —
 * behaviour translated, expected values from their .exp files.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from '../../host-lib/index.js';
import { errnoOf } from './helpers.js';
import { selectedTargets } from './targets.js';

describe.each(selectedTargets())('$name', (target) => {
  let dev: Device & { done(): Promise<void> };
  beforeEach(async () => {
    dev = await target.open();
  });
  afterEach(async () => {
    await dev.done();
  });

  it('socket_tcp_basic: recv on a fresh TCP socket raises ENOTCONN', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    expect(await errnoOf(s.recv(10))).toBe(errno.ENOTCONN);
    await s.close();
  });

  it('socket_udp_nonblock: settimeout(0) then recv on UDP raises EAGAIN', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    await s.bind(['127.0.0.1', 0]);
    s.settimeout(0);
    expect(await errnoOf(s.recv(1))).toBe(errno.EAGAIN);
    await s.close();
  });

  it('socket_badconstructor: None for af/type/proto raises TypeError', async () => {
    const { socket } = dev;
    for (const args of [[null], [socket.AF_INET, null], [socket.AF_INET, socket.SOCK_STREAM, null]]) {
      await expect((socket.socket as (...a: unknown[]) => Promise<unknown>)(...args)).rejects.toThrow(TypeError);
    }
  });

  it('closed socket: EBADF for operations, close twice is a no-op', async () => {
    const { socket, errno } = dev;
    const s = await socket.socket();
    await s.close();
    await s.close();
    expect(await errnoOf(s.recv(1))).toBe(errno.EBADF);
    expect(await errnoOf(s.send('x'))).toBe(errno.EBADF);
    expect(await errnoOf(s.listen(1))).toBe(errno.EBADF);
  });
});

/**
 * `\r\nready\r\n` at any moment = the module rebooted: every open socket fails with
 * ECONNRESET "coprocessor restarted" at once, the command in flight fails the same way, the
 * Device emits 'reset', the driver runs its start-up again and new sockets work.
 */
import { describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { startupSteps } from './fake-device.js';
import { OK, openFake, raises, recvAll } from './test-helpers.js';

describe('reboot detection', () => {
  it('fails open, connecting and listening sockets within 1 s, emits reset, and starts again', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
      { expect: 'AT+CIPSERVER=1,8080\r\n', reply: OK },
      { swallow: 'AT+CIPSTART=3,"TCP","10.0.0.1",81\r\n' }, // still connecting when it reboots
    ]);
    const resets: unknown[] = [];
    dev.on('reset', (info) => resets.push(info));
    const { socket } = dev;
    const a = await socket.socket();
    await a.connect(['10.0.0.1', 80]);
    const srv = await socket.socket();
    await srv.bind(['0.0.0.0', 8080]);
    await srv.listen(1);
    const b = await socket.socket();
    const connecting = b.connect(['10.0.0.1', 81]);
    const reading = a.recv(10); // blocking, no timeout: only the reboot can end it
    const accepting = srv.accept();
    await fake.done();

    fake.script({ inject: '\r\nready\r\n' }, ...startupSteps());
    const t0 = Date.now();
    const err = await raises(reading, E.ECONNRESET);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err.message).toContain('coprocessor restarted');
    await raises(connecting, E.ECONNRESET);
    await raises(accepting, E.ECONNRESET);
    await raises(a.send('x'), E.ECONNRESET);
    expect(resets).toEqual([{ reason: 'ready' }]);
    await fake.done();

    // Start-up ran again: the link table is fresh and new sockets work.
    fake.script(
      { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",82\r\n', reply: `4,CONNECT\r\n${OK}\r\n+IPD,4,2\r\n` },
      { expect: 'AT+CIPRECVDATA=4,8192\r\n', reply: `+CIPRECVDATA:2,"10.0.0.1",82,hi${OK}` },
      { expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` },
    );
    const c = await socket.socket();
    await c.connect(['10.0.0.1', 82]);
    expect(await recvAll(c, 2)).toBe('hi');
    await c.close();
    for (const s of [a, b, srv]) await s.close(); // already failed: no commands
    await fake.done();
    await dev.close();
  });

  it('a reboot in the middle of a command fails that command, not the next one', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPDOMAIN="a.test"\r\n', reply: ['+CIPDOMAIN:"10.0', '.0.1"\r\n\r\nready\r\n'] },
      ...startupSteps(),
      { expect: 'AT+CIPDOMAIN="a.test"\r\n', reply: `+CIPDOMAIN:"10.0.0.2"\r\n${OK}` },
    ]);
    await raises(dev.socket.getaddrinfo('a.test', 80), E.ECONNRESET);
    expect((await dev.socket.getaddrinfo('a.test', 80))[0]![4]).toEqual(['10.0.0.2', 80]);
    await fake.done();
    await dev.close();
  });

  it('the serial link closing fails every socket instead of hanging', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
    ]);
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    const reading = s.recv(10);
    fake.destroy();
    await raises(reading, E.ECONNRESET);
    await raises(dev.socket.getaddrinfo('a.test', 80), E.EIO);
    await dev.close();
  });
});

/**
 * The AT liveness probe, byte for byte: what goes out when the line has been quiet, how a busy
 * module's answer is told apart from the running command's, and what a silent one gets.
 */
import { describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { startupSteps } from './fake-device.js';
import { OK, openFake, raises } from './test-helpers.js';

const FAST = { keepaliveMs: 150, keepaliveTimeoutMs: 150 };

describe('AT liveness', () => {
  it('an idle line with an open socket is probed with AT+CIPMUX? (answered: nothing happens)', async () => {
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
        { expect: 'AT+CIPMUX?\r\n', reply: `+CIPMUX:1\r\n${OK}` },
      ],
      FAST,
    );
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    await fake.done(1000);
    await dev.close();
  });

  it('a probe beside a long command is `AT`; its `busy p...` is not taken as the command refused', async () => {
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n' },
        { expect: 'AT\r\n', reply: 'ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n' },
        { expect: 'AT\r\n', reply: 'ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n' },
        { inject: `4,CONNECT\r\n${OK}` },
      ],
      FAST,
    );
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]); // no resend of CIPSTART in between, no failure
    await fake.done(1000);
    fake.script({ expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` });
    await dev.close();
  });

  it('a probe that meets the command ending gets OK; the next command is preceded by a resync', async () => {
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n' },
        { expect: 'AT\r\n', reply: [`4,CONNECT\r\n${OK}`, OK] },
        // The extra OK must not pass for this command's: the resync probe absorbs it.
        { expect: 'AT+CIPMUX?\r\n', reply: `+CIPMUX:1\r\n${OK}` },
        { expect: 'AT+CIPDOMAIN="a.test"\r\n', reply: `+CIPDOMAIN:"10.0.0.9"\r\n${OK}` },
      ],
      { keepaliveMs: 150, keepaliveTimeoutMs: 5000 },
    );
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    expect((await dev.socket.getaddrinfo('a.test', 80))[0]![4]).toEqual(['10.0.0.9', 80]);
    await fake.done(1000);
    fake.script({ expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` });
    await dev.close();
  });

  it('no answer: sockets fail with ETIMEDOUT, later calls fail at once, start-up is retried', async () => {
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
        { swallow: 'AT+CIPMUX?\r\n' },
        { swallow: 'AT\r\n' }, // the background start-up's first probe; never answered here
      ],
      FAST,
    );
    const hang = new Promise((r) => dev.once('hang', r));
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    const err = await raises(s.recv(5), E.ETIMEDOUT);
    expect(err.message).toMatch(/not responding/);
    await hang;
    const t0 = Date.now();
    await raises(dev.socket.getaddrinfo('a.test', 80), E.ETIMEDOUT);
    await raises(dev.socket.socket(), E.ETIMEDOUT);
    expect(Date.now() - t0).toBeLessThan(100);
    await fake.done(1000);
    await dev.close();
  });

  it('`+CIPMUX:0` from the probe means the module restarted unseen: ECONNRESET and a new start-up', async () => {
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
        { expect: 'AT+CIPMUX?\r\n', reply: `+CIPMUX:0\r\n${OK}` },
        ...startupSteps(),
      ],
      FAST,
    );
    const reset = new Promise((r) => dev.once('reset', r));
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    await raises(s.recv(5), E.ECONNRESET);
    expect(await reset).toEqual({ reason: expect.stringMatching(/CIPMUX:0/) });
    await fake.done(1000);
    await dev.close();
  });
});

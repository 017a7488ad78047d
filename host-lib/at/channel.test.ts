/**
 * The command channel alone over a scripted module: `busy p...` retries with backoff (and a
 * final result during the backoff wins), deadlines, the resync after a timeout, a late `>`,
 * ERR CODE → errno, and bad parameters refused before anything is written.
 */
import { describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { AtChannel, infoLines } from './channel.js';
import { FakeAtModule, type Step } from './fake-device.js';
import { OK, raises } from './test-helpers.js';

function channel(steps: Step[], busyRetries = 3) {
  const fake = new FakeAtModule(steps);
  const urcs: unknown[] = [];
  const ch = new AtChannel(fake, { onUrc: (m) => urcs.push(m), busyRetries, busyBackoffMs: 10 });
  fake.on('data', (c: Buffer) => ch.feed(c));
  ch.mux = 1;
  return { fake, ch, urcs };
}

const DOMAIN = 'AT+CIPDOMAIN="a.test"\r\n';
const dns = { name: 'CIPDOMAIN', form: 'set', params: ['a.test'] } as const;

describe('AtChannel', () => {
  it('resends a command answered `busy p...`, with growing backoff, until it gets through', async () => {
    const { fake, ch } = channel([
      { expect: DOMAIN, reply: '\r\nbusy p...\r\n' },
      { expect: DOMAIN, reply: 'ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n' },
      { expect: DOMAIN, reply: `+CIPDOMAIN:"10.0.0.1"\r\n${OK}` },
    ]);
    const t0 = Date.now();
    const reply = await ch.run(dns);
    expect(infoLines(reply, '+CIPDOMAIN')[0]!.fields).toEqual(['10.0.0.1']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25); // 10 ms + 20 ms of backoff
    await fake.done();
  });

  it('a stray `busy p...` followed by the real answer does not resend (esp-at#731)', async () => {
    const { fake, ch } = channel([{ expect: DOMAIN, reply: ['\r\nbusy p...\r\n', `+CIPDOMAIN:"10.0.0.1"\r\n${OK}`] }]);
    await ch.run(dns);
    await new Promise((r) => setTimeout(r, 40));
    await fake.done(); // a resend would be "host wrote … after the script ended"
  });

  it('gives up after the bounded number of retries with ETIMEDOUT', async () => {
    const busy = { expect: DOMAIN, reply: '\r\nbusy p...\r\n' };
    const { fake, ch } = channel([busy, busy, busy], 2);
    const err = await raises(ch.run(dns), E.ETIMEDOUT);
    expect(err.message).toContain('still busy after 3 attempts');
    await fake.done();
  });

  it('times out at the deadline, then resyncs: a late OK never reaches the next command', async () => {
    const { fake, ch } = channel([
      { swallow: DOMAIN },
      { expect: 'AT+CIPMUX?\r\n', reply: [`+CIPDOMAIN:"10.0.0.1"\r\n${OK}`, `+CIPMUX:1\r\n${OK}`] },
      { expect: 'AT+CIPSTATE?\r\n', reply: `+CIPSTATE:0,"TCP","10.0.0.9",80,4000,0\r\n${OK}` },
    ]);
    await raises(ch.run({ ...dns, timeoutMs: 50 }), E.ETIMEDOUT);
    const state = await ch.run({ name: 'CIPSTATE', form: 'query' });
    expect(infoLines(state, '+CIPSTATE')[0]!.fields[2]).toBe('10.0.0.9');
    await fake.done();
  });

  it('a CIPSEND that timed out before its prompt still gets its payload when the prompt comes late', async () => {
    const { fake, ch } = channel([
      { swallow: 'AT+CIPSEND=0,4\r\n' },
      { wait: 80 },
      { inject: `${OK}\r\n>` },
      { expect: 'data', reply: '\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n' },
    ]);
    const payload = new TextEncoder().encode('data');
    await raises(ch.run({ name: 'CIPSEND', form: 'set', params: [0, 4], payload, timeoutMs: 50 }), E.ETIMEDOUT);
    await fake.done();
  });

  it('ERR CODE picks the errno when it names a parameter or an unsupported command', async () => {
    const { fake, ch } = channel([
      { expect: 'AT+CIPMUX=1\r\n', reply: 'ERR CODE:0x01070000\r\n\r\nERROR\r\n' },
      { expect: 'AT+CIPSTATE?\r\n', reply: 'ERR CODE:0x01090000\r\n\r\nERROR\r\n' },
    ]);
    await raises(ch.run({ name: 'CIPMUX', form: 'set', params: [1] }), E.EINVAL);
    await raises(ch.run({ name: 'CIPSTATE', form: 'query' }), E.EOPNOTSUPP);
    await fake.done();
  });

  it('a parameter the command table refuses is a TypeError naming it, and nothing is written', async () => {
    const { fake, ch } = channel([]);
    const err = await ch.run({ name: 'CIPSTART', form: 'set', params: [0, 'TCP', 'h', 99999] }).catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(String(err.message)).toContain('<remote_port>');
    expect(fake.written.length).toBe(0);
  });

  it('hands URCs to the reducer in order, wherever they fall, and keeps them out of replies', async () => {
    const { fake, ch, urcs } = channel([
      {
        expect: DOMAIN,
        reply: `0,CONNECT\r\n+CIPDOMAIN:"10.0.0.1"\r\n+TIME_UPDATED\r\nWIFI GOT IP\r\n${OK}1,CLOSED\r\n`,
      },
    ]);
    const reply = await ch.run(dns);
    expect(reply.lines).toEqual([{ type: 'info', prefix: '+CIPDOMAIN', fields: ['10.0.0.1'], raw: '"10.0.0.1"' }]);
    await fake.done();
    expect(urcs).toEqual([
      { type: 'connect', link: 0 },
      { type: 'info', prefix: '+TIME_UPDATED', fields: [], raw: '' },
      { type: 'wifi', event: 'got-ip' },
      { type: 'closed', link: 1 },
    ]);
  });
});

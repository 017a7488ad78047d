/**
 * The driver against real-firmware quirks, byte-exact over a scripted module: `SEND FAIL` then
 * `SEND OK` (ESP8266_NONOS_SDK#60), a `SEND FAIL` that stays, a stray `busy p...` before a
 * reply that is slow to arrive and its ERR CODE (esp-at#731), `<id>,CLOSED` while a read runs
 * (esp-at#729). The emulator plays the same quirks for test/at-quirks.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { AtChannel } from './channel.js';
import { FakeAtModule, type Step } from './fake-device.js';
import { OK, openFake, raises, recvAll, text } from './test-helpers.js';

function channel(steps: Step[]) {
  const fake = new FakeAtModule(steps);
  const ch = new AtChannel(fake, { onUrc: () => {}, busyBackoffMs: 10, sendFailGraceMs: 50 });
  fake.on('data', (c: Buffer) => ch.feed(c));
  ch.mux = 1;
  return { fake, ch };
}

const send = (payload: string) =>
  ({ name: 'CIPSEND', form: 'set', params: [4, payload.length], payload: Buffer.from(payload) }) as const;
const READ = 'AT+CIPRECVDATA=4,8192\r\n';
const read = { name: 'CIPRECVDATA', form: 'set', params: [4, 8192] } as const;

describe('AtChannel and real-firmware quirks', () => {
  it('SEND FAIL then SEND OK for the same send: sent, and the next reply is paired with its own command', async () => {
    const { fake, ch } = channel([
      { expect: 'AT+CIPSEND=4,5\r\n', reply: `${OK}\r\n>` },
      { expect: 'hello', reply: '\r\nRecv 5 bytes\r\n\r\nSEND FAIL\r\n' },
      { wait: 20 },
      { inject: '\r\nSEND OK\r\n' },
      { expect: READ, reply: `+CIPRECVDATA:2,hi${OK}` },
    ]);
    await ch.run(send('hello'));
    const reply = await ch.run(read);
    expect(reply.lines.map((m) => (m.type === 'recv-data' ? text(m.data) : m.type))).toEqual(['hi']);
    await fake.done();
  });

  it('a SEND FAIL that stays is ECONNRESET; a SEND OK later meets the resync probe, not the next command', async () => {
    const { fake, ch } = channel([
      { expect: 'AT+CIPSEND=4,5\r\n', reply: `${OK}\r\n>` },
      { expect: 'hello', reply: '\r\nRecv 5 bytes\r\n\r\nSEND FAIL\r\n' },
      { expect: 'AT+CIPMUX?\r\n', reply: ['\r\nSEND OK\r\n', `+CIPMUX:1\r\n${OK}`] },
      { expect: READ, reply: `+CIPRECVDATA:2,hi${OK}` },
    ]);
    const t0 = Date.now();
    await raises(ch.run(send('hello')), E.ECONNRESET);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect((await ch.run(read)).lines).toHaveLength(1);
    await fake.done();
  });

  it('a stray busy before a reply that takes longer than the backoff to arrive: no resend, the read runs once', async () => {
    const { fake, ch } = channel([
      { expect: READ, reply: 'ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n+CIPRECVDATA:10,01234' },
      { wait: 40 }, // four backoffs: the rest of the reply is still on the line
      { inject: `56789${OK}` },
    ]);
    const reply = await ch.run(read);
    expect(reply.lines.map((m) => (m.type === 'recv-data' ? text(m.data) : m.type))).toEqual(['0123456789']);
    await new Promise((r) => setTimeout(r, 30));
    await fake.done(); // a second AT+CIPRECVDATA would be "host wrote … after the script ended"
  });

  it("a stray busy's ERR CODE is not taken for the command's own", async () => {
    const { fake, ch } = channel([
      {
        expect: 'AT+CIPDOMAIN="a.test"\r\n',
        reply: 'ERR CODE:0x010b0000\r\n\r\nbusy p...\r\nERR CODE:0x01070000\r\n\r\nERROR\r\n',
      },
    ]);
    await raises(ch.run({ name: 'CIPDOMAIN', form: 'set', params: ['a.test'] }), E.EINVAL);
    await fake.done();
  });
});

describe('AtDriver and real-firmware quirks', () => {
  it('<id>,CLOSED while a read runs: the read still brings its bytes, EOF only after them', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}\r\n+IPD,4,5\r\n` },
      { expect: READ, reply: '4,CLOSED\r\n' },
      { wait: 30 },
      { inject: `+CIPRECVDATA:5,"10.0.0.1",80,hello${OK}` },
    ]);
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    expect(await recvAll(s, 10)).toBe('hello');
    await s.close(); // the module closed it: no AT+CIPCLOSE
    await fake.done();
    await dev.close();
  });
});

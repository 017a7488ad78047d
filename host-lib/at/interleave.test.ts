/**
 * URCs at every awkward moment ESP-AT produces them (esp-at.md §1 and issues #302/#325/#731):
 * between `>` and `Recv N bytes`, before `SEND OK`, glued to a reply in one chunk, `<id>,CLOSED`
 * while another command runs, payloads that look like replies, stray and unknown lines.
 * Every byte must arrive, in order, and every reply must reach its own command — with the
 * device's output delivered in its natural chunks and again one byte per 'data' event.
 */
import { describe, expect, it } from 'vitest';
import { OK, openFake, recvAll } from './test-helpers.js';

const CIPSEND = (n: number) => ({ expect: `AT+CIPSEND=4,${n}\r\n` });
const READ = { expect: 'AT+CIPRECVDATA=4,8192\r\n' };
const data = (payload: string) => `+CIPRECVDATA:${payload.length},"10.0.0.1",80,${payload}`;

describe.each(['chunks', 'bytes'] as const)('interleaved URCs (device output in %s)', (split) => {
  it('loses no byte and mis-pairs no reply', async () => {
    const strays: unknown[] = [];
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
        // 1. +IPD between `>` and the payload being taken (`Recv N bytes`), glued to the prompt.
        { ...CIPSEND(5), reply: `${OK}\r\n>\r\n+IPD,4,3\r\n` },
        { expect: 'hello', reply: '\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n' },
        { ...READ, reply: `${data('abc')}${OK}` },
        // 2. +IPD after `Recv` but before `SEND OK`, plus a stray debug line of old builds.
        { ...CIPSEND(5), reply: `${OK}\r\n>` },
        { expect: 'world', reply: '\r\nRecv 5 bytes\r\n\r\n+IPD,4,4\r\nlocal port:2390\r\n\r\nSEND OK\r\n' },
        // 3. A payload that looks like a final result, and a new notice glued after the OK.
        { ...READ, reply: `${data('OK\r\n')}${OK}\r\n+IPD,4,6\r\n` },
        { ...READ, reply: `change type:2\r\n${data('\r\n+IPD,')}${OK}` },
        // 4. <id>,CLOSED and a stray busy while an unrelated command (DNS) runs.
        {
          expect: 'AT+CIPDOMAIN="a.test"\r\n',
          reply: ['4,CLOSED\r\n+CIPDOMAIN:"10.9.9.9"\r\n', `${OK}\r\nbusy p...\r\n`],
        },
        { expect: 'AT+CIPDOMAIN="b.test"\r\n', reply: `+CIPDOMAIN:"10.8.8.8"\r\nto read 75 bytes\r\n${OK}` },
      ],
      { split },
    );
    dev.on('stray', (m) => strays.push(m));
    const { socket } = dev;
    const s = await socket.socket();
    s.settimeout(2);
    await s.connect(['10.0.0.1', 80]);
    await s.send('hello');
    expect(await recvAll(s, 3)).toBe('abc');
    await s.send('world');
    expect(await recvAll(s, 11)).toBe('OK\r\n\r\n+IPD,');
    expect((await socket.getaddrinfo('a.test', 1))[0]![4]).toEqual(['10.9.9.9', 1]);
    // The peer closed while DNS ran: what was read stays read, then EOF.
    expect((await s.recv(10)).length).toBe(0);
    expect((await socket.getaddrinfo('b.test', 2))[0]![4]).toEqual(['10.8.8.8', 2]);
    await s.close(); // already closed by the module: no AT+CIPCLOSE
    await fake.done();
    // The stray `busy p...` is either dropped as stray or lands in b.test's flight, where the
    // OK that follows it wins over a resend (the fake would fail on a repeated command).
    expect(strays).toEqual(
      expect.arrayContaining([
        { type: 'unknown', line: 'local port:2390' },
        { type: 'unknown', line: 'change type:2' },
        { type: 'unknown', line: 'to read 75 bytes' },
      ]),
    );
    await dev.close();
  });

  it('a notice that races a read keeps the link readable (it may even precede the reply)', async () => {
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n\r\n+IPD,4,2\r\n${OK}` },
        // New data arrived after the drain, and the module printed its notice first.
        { ...READ, reply: `\r\n+IPD,4,3\r\n${data('ab')}${OK}` },
        { ...READ, reply: `${data('cde')}${OK}` },
      ],
      { split },
    );
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    expect(await recvAll(s, 5)).toBe('abcde');
    await fake.done();
    fake.script({ expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` });
    await s.close();
    await fake.done();
    await dev.close();
  });

  it("an echo's return keeps pace with its sends: a window-limited read while behind is read again before the next CIPSEND", async () => {
    const out = 'e'.repeat(8192 + 100);
    const back = (from: number, n: number) => data(out.slice(from, from + n));
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
        { ...CIPSEND(8192), reply: `${OK}\r\n>` },
        // (The notice comes before SEND OK, so every split of the output shows it before the next pick.)
        { expect: out.slice(0, 8192), reply: '\r\nRecv 8192 bytes\r\n\r\n+IPD,4,5760\r\n\r\nSEND OK\r\n' },
        // The module hands out its 5760-byte window; what the read let in is not announced yet.
        { ...READ, reply: `${back(0, 5760)}${OK}` },
        // Behind by 2432 bytes: read again before the last 100 bytes go (turns by commands sent
        // them first). Nothing is there yet: ERROR ends the extra read, and the send goes.
        { ...READ, reply: '\r\nERROR\r\n' },
        { ...CIPSEND(100), reply: `${OK}\r\n>` },
        { expect: out.slice(8192), reply: '\r\nRecv 100 bytes\r\n\r\n+IPD,4,2532\r\n\r\nSEND OK\r\n' },
        { ...READ, reply: `${back(5760, 2532)}${OK}` },
      ],
      { split, baudRate: 921600 }, // a known line: full 8 KiB CIPSENDs from the start
    );
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    const [, got] = await Promise.all([s.sendall(out), recvAll(s, out.length)]);
    expect(got).toBe(out);
    await fake.done();
    fake.script({ expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` });
    await s.close();
    await fake.done();
    await dev.close();
  });

  it('reads only what the socket buffer has room for, and fetches the rest once it is consumed', async () => {
    const chunk = 'x'.repeat(1024);
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}\r\n+IPD,4,3000\r\n` },
        { expect: 'AT+CIPRECVDATA=4,2048\r\n', reply: `${data(chunk + chunk)}${OK}` },
      ],
      { split, rxBuffer: 2048 },
    );
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    await fake.done(); // the buffer is full: nothing more is asked until the application reads
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.written.toString('latin1').match(/CIPRECVDATA/g)).toHaveLength(1);
    // Then exactly the free room is fetched.
    fake.script({ expect: 'AT+CIPRECVDATA=4,1024\r\n', reply: `${data(chunk.slice(0, 952))}${OK}` });
    expect((await s.recv(1024)).length).toBe(1024);
    expect(await recvAll(s, 1024 + 952)).toBe(chunk + chunk.slice(0, 952));
    await fake.done();
    fake.script({ expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` });
    await dev.close();
    await fake.done();
  });
});

/**
 * The AT driver over a scripted module (fake-device.ts): exact command bytes for start-up,
 * a full echo, DNS, connect errors, the link-table limit. Interleavings live in
 * interleave.test.ts, reboots in reboot.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { openDevice } from '../device.js';
import { FakeAtModule, gmrReply } from './fake-device.js';
import { OK, openFake, raises, recvAll, text } from './test-helpers.js';

describe('start-up', () => {
  it('probes a v3.4 module: echo off, version, syslog, multi-link, passive receive, remote info', async () => {
    const { dev, fake } = await openFake([]);
    await fake.done();
    expect(dev.profile).toBe('esp-at');
    expect(dev.driver.caps).toMatchObject({
      release: [3, 4],
      recvCommand: 'CIPRECVTYPE',
      maxSend: 8192,
      syslog: true,
      remoteInfo: true,
      startTimeout: false,
    });
    await dev.close();
  });

  it('a v2.2 module gets AT+CIPRECVMODE and 2048-byte sends; failed optional steps are skipped', async () => {
    const fake = new FakeAtModule([
      // Power-on: the first AT goes to a module still booting, which never sees it.
      { swallow: 'AT\r\n' },
      { inject: '\r\nready\r\n' },
      { expect: 'AT\r\n', reply: `AT\r\n${OK}` },
      { expect: 'ATE0\r\n', reply: `ATE0\r\n${OK}` },
      { expect: 'AT+GMR\r\n', reply: gmrReply('2.2.0.0') },
      { expect: 'AT+SYSLOG=1\r\n', reply: '\r\nERROR\r\n' },
      { expect: 'AT+CIPMUX?\r\n', reply: `+CIPMUX:1\r\n${OK}` },
      // A link left over from an earlier session is closed first.
      { expect: 'AT+CIPSTATE?\r\n', reply: `+CIPSTATE:2,"TCP","10.0.0.5",80,50000,0\r\n${OK}` },
      { expect: 'AT+CIPCLOSE=5\r\n', reply: `2,CLOSED\r\n${OK}` },
      { expect: 'AT+CIPRECVMODE=1\r\n', reply: '\r\nERROR\r\n' },
      { expect: 'AT+CIPRECVTYPE=5,1\r\n', reply: OK },
      { expect: 'AT+CIPDINFO=1\r\n', reply: OK },
    ]);
    const dev = await openDevice(fake, { protocol: 'at' });
    await fake.done();
    expect(dev.driver.caps).toMatchObject({
      release: [2, 2],
      recvCommand: 'CIPRECVTYPE',
      maxSend: 2048,
      syslog: false,
    });
    await dev.close();
  });

  it('keeps sending AT until a booting module answers, then starts', async () => {
    const fake = new FakeAtModule([
      { swallow: 'AT\r\n' }, // still booting: no answer
      { wait: 50 },
      { inject: '\r\nready\r\n' },
      { expect: 'AT\r\n', reply: `AT\r\n${OK}` },
      // A doubled OK: the stray one would pass for AT+GMR's, so the probe insists on the version line.
      { expect: 'ATE0\r\n', reply: [`ATE0\r\n${OK}`, OK] },
      { expect: 'AT+GMR\r\n', reply: gmrReply('4.1.1.0') },
      { expect: 'AT+SYSLOG=1\r\n', reply: OK },
      { expect: 'AT+CIPMUX?\r\n', reply: `+CIPMUX:1\r\n${OK}` },
      { expect: 'AT+CIPSTATE?\r\n', reply: OK },
      { expect: 'AT+CIPRECVTYPE=5,1\r\n', reply: OK },
      { expect: 'AT+CIPDINFO=1\r\n', reply: OK },
    ]);
    const dev = await openDevice(fake, { protocol: 'at' });
    await fake.done();
    expect(dev.driver.caps.release).toEqual([4, 1]);
    expect(dev.driver.caps.startTimeout).toBe(true);
    await dev.close();
  });

  it('nothing answering AT gives ETIMEDOUT, not a hang', async () => {
    const silent = new FakeAtModule([{ skipUntil: 'never' }]);
    const t0 = Date.now();
    await raises(openDevice(silent, { protocol: 'at', probeTimeoutMs: 400 }), E.ETIMEDOUT);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

describe('sockets', () => {
  it('echoes through the module: DNS, CIPSTART, CIPSEND with the prompt, passive receive, CIPCLOSE', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPDOMAIN="echo.test"\r\n', reply: `+CIPDOMAIN:"10.77.0.7"\r\n${OK}` },
      { expect: 'AT+CIPSTART=4,"TCP","10.77.0.7",7\r\n', reply: `4,CONNECT\r\n${OK}` },
      { expect: 'AT+CIPSEND=4,5\r\n', reply: `${OK}\r\n>` },
      { expect: 'hello', reply: ['\r\nRecv 5 bytes\r\n', '\r\nSEND OK\r\n', '\r\n+IPD,4,5\r\n'] },
      { expect: 'AT+CIPRECVDATA=4,8192\r\n', reply: `+CIPRECVDATA:5,"10.77.0.7",7,hello${OK}` },
      { expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` },
    ]);
    const { socket } = dev;
    const ai = await socket.getaddrinfo('echo.test', 7);
    expect(ai).toEqual([[2, 1, 6, '', ['10.77.0.7', 7]]]);
    const s = await socket.socket();
    s.settimeout(2);
    await s.connect(ai[0]![4]);
    await s.sendall('hello');
    expect(await recvAll(s, 5)).toBe('hello');
    await s.close();
    await fake.done();
    await dev.close();
  });

  it('sends larger than one CIPSEND in 8192-byte commands, and close() sends what is queued first', async () => {
    const data = Buffer.alloc(10000, 'x');
    const { dev, fake } = await openFake(
      [
        { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
        { expect: 'AT+CIPSEND=4,8192\r\n', reply: `${OK}\r\n>` },
        { expect: data.subarray(0, 8192), reply: '\r\nRecv 8192 bytes\r\n\r\nSEND OK\r\n' },
        { expect: 'AT+CIPSEND=4,1808\r\n', reply: `${OK}\r\n>` },
        { expect: data.subarray(8192), reply: '\r\nRecv 1808 bytes\r\n\r\nSEND OK\r\n' },
        { expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` },
      ],
      { baudRate: 921600 }, // a known line: 8 KiB take 89 ms there, within one CIPSEND's budget
    );
    await connectSendClose(dev, fake, data);
  });

  it('on a line of unknown speed the first CIPSEND fits a 9600-baud line; its delivery measured, full size follows', async () => {
    const data = Buffer.alloc(10000, 'y');
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` },
      // 480 bytes = 0.5 s at 960 bytes/s (line-rate.ts); the fake answers at once: a fast line.
      { expect: 'AT+CIPSEND=4,480\r\n', reply: `${OK}\r\n>` },
      { expect: data.subarray(0, 480), reply: '\r\nRecv 480 bytes\r\n\r\nSEND OK\r\n' },
      { expect: 'AT+CIPSEND=4,8192\r\n', reply: `${OK}\r\n>` },
      { expect: data.subarray(480, 8672), reply: '\r\nRecv 8192 bytes\r\n\r\nSEND OK\r\n' },
      { expect: 'AT+CIPSEND=4,1328\r\n', reply: `${OK}\r\n>` },
      { expect: data.subarray(8672), reply: '\r\nRecv 1328 bytes\r\n\r\nSEND OK\r\n' },
      { expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` },
    ]);
    await connectSendClose(dev, fake, data);
  });

  it('an unknown name is OSError(-2); a refused connect is ECONNREFUSED; the next connect takes another id', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPDOMAIN="nowhere.test"\r\n', reply: 'ERR CODE:0x010a0000\r\n\r\nERROR\r\n' },
      { expect: 'AT+CIPSTART=4,"TCP","10.77.0.99",80\r\n', reply: '\r\nERROR\r\n4,CLOSED\r\n' },
      { expect: 'AT+CIPSTART=3,"TCP","10.77.0.99",81\r\n', reply: `3,CONNECT\r\n${OK}` },
      { expect: 'AT+CIPCLOSE=3\r\n', reply: `3,CLOSED\r\n${OK}` },
    ]);
    const { socket } = dev;
    await raises(socket.getaddrinfo('nowhere.test', 80), -2);
    const s = await socket.socket();
    s.settimeout(2);
    await raises(s.connect(['10.77.0.99', 80]), E.ECONNREFUSED);
    await s.connect(['10.77.0.99', 81]);
    await s.close();
    await fake.done();
    await dev.close();
  });

  it('a connect that the module never answers gives ETIMEDOUT at the socket timeout; the line resyncs after', async () => {
    const { dev, fake } = await openFake(
      [
        { swallow: 'AT+CIPSTART=4,"TCP","10.77.0.66",80\r\n' },
        // The CIPSTART deadline (connectTimeoutMs + 1 s) passes: resync, then close the id.
        { expect: 'AT+CIPMUX?\r\n', reply: [OK, `+CIPMUX:1\r\n${OK}`] },
        { expect: 'AT+CIPCLOSE=4\r\n', reply: '\r\nERROR\r\n' },
      ],
      { connectTimeoutMs: 200 },
    );
    const s = await dev.socket.socket();
    s.settimeout(0.3);
    const t0 = Date.now();
    await raises(s.connect(['10.77.0.66', 80]), E.ETIMEDOUT);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t0).toBeLessThan(1000);
    await s.close(); // returns at once: the module is still busy with CIPSTART
    await fake.done(3000);
    await dev.close();
  });

  it('a sixth link is ENFILE at once (ESP-AT has 5)', async () => {
    const steps = [4, 3, 2, 1, 0].map((id) => ({
      expect: `AT+CIPSTART=${id},"TCP","10.0.0.1",${80 + id}\r\n`,
      reply: `${id},CONNECT\r\n${OK}`,
    }));
    const { dev, fake } = await openFake(steps);
    for (const id of [4, 3, 2, 1, 0]) await (await dev.socket.socket()).connect(['10.0.0.1', 80 + id]);
    const sixth = await dev.socket.socket();
    await raises(sixth.connect(['10.0.0.1', 99]), E.ENFILE);
    await fake.done();
    fake.script(...[4, 3, 2, 1, 0].map((id) => ({ expect: `AT+CIPCLOSE=${id}\r\n`, reply: `${id},CLOSED\r\n${OK}` })));
    await dev.close();
    await fake.done();
  });

  it('UDP: bind opens a mode-2 link for anyone in active receive; recvfrom gives each datagram with its sender', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPRECVTYPE=4,0\r\n', reply: OK },
      { expect: 'AT+CIPSTART=4,"UDP","0.0.0.0",5000,5000,2\r\n', reply: `4,CONNECT\r\n${OK}` },
      { expect: 'AT+CIPSEND=4,4,"10.77.0.7",7\r\n', reply: `${OK}\r\n>` },
      {
        expect: 'ping',
        reply: '\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,4,4,"10.77.0.7",7:ping\r\n+IPD,4,3,"10.1.2.3",99:a\r\n',
      },
      { expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` },
      { expect: 'AT+CIPRECVTYPE=4,1\r\n', reply: OK },
    ]);
    const { socket } = dev;
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    await u.bind(['', 5000]);
    expect(await u.sendto('ping', ['10.77.0.7', 7])).toBe(4);
    u.settimeout(2);
    const [d1, a1] = await u.recvfrom(100);
    expect([text(d1), a1]).toEqual(['ping', ['10.77.0.7', 7]]);
    const [d2, a2] = await u.recvfrom(100);
    expect([text(d2), a2]).toEqual(['a\r\n', ['10.1.2.3', 99]]);
    await u.close();
    await fake.done();
    await dev.close();
  });

  it('UDP: an unbound socket opens its link at the first sendto, towards that address', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPRECVTYPE=4,0\r\n', reply: OK },
      { expect: 'AT+CIPSTART=4,"UDP","10.77.0.7",7,49152,2\r\n', reply: `4,CONNECT\r\n${OK}` },
      { expect: 'AT+CIPSEND=4,2,"10.77.0.7",7\r\n', reply: `${OK}\r\n>` },
      { expect: 'hi', reply: '\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n' },
      { expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` },
      { expect: 'AT+CIPRECVTYPE=4,1\r\n', reply: OK },
    ]);
    const { socket } = dev;
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    const random = vi.spyOn(Math, 'random').mockReturnValue(0); // the ephemeral port: 49152
    expect(await u.sendto('hi', ['10.77.0.7', 7])).toBe(2);
    random.mockRestore();
    await u.close();
    await fake.done();
    await dev.close();
  });

  it('server: one AT+CIPSERVER, accepted links arrive as <id>,CONNECT; a second listen is EOPNOTSUPP', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPSERVER=1,8080\r\n', reply: OK },
      { inject: '0,CONNECT\r\n' },
      { expect: 'AT+CIPSTATE?\r\n', reply: `+CIPSTATE:0,"TCP","192.168.4.2",49469,8080,1\r\n${OK}` },
      { inject: '\r\n+IPD,0,4\r\n' },
      { expect: 'AT+CIPRECVDATA=0,8192\r\n', reply: `+CIPRECVDATA:4,"192.168.4.2",49469,test${OK}` },
      { expect: 'AT+CIPCLOSE=0\r\n', reply: `0,CLOSED\r\n${OK}` },
      { expect: 'AT+CIPSERVER=0\r\n', reply: OK },
    ]);
    const { socket } = dev;
    const srv = await socket.socket();
    await srv.bind(['0.0.0.0', 8080]);
    expect(await srv.listen(2)).toBe(0);
    const other = await socket.socket();
    await other.bind(['0.0.0.0', 8081]);
    await raises(other.listen(1), E.EOPNOTSUPP);
    srv.settimeout(2);
    const [c, addr] = await srv.accept();
    expect(addr).toEqual(['192.168.4.2', 49469]);
    expect(await recvAll(c, 4)).toBe('test');
    await c.close();
    await srv.close();
    await fake.done();
    await dev.close();
  });
});

describe('MicroPython semantics over one command at a time', () => {
  it('a name is resolved once with AT+CIPDOMAIN, then from the cache', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPDOMAIN="echo.test"\r\n', reply: `+CIPDOMAIN:"10.77.0.7"\r\n${OK}` },
    ]);
    const { socket } = dev;
    expect((await socket.getaddrinfo('echo.test', 7))[0]?.[4]).toEqual(['10.77.0.7', 7]);
    expect((await socket.getaddrinfo('ECHO.test', 9, 0, socket.SOCK_DGRAM))[0]).toEqual([
      2,
      2,
      17,
      '',
      ['10.77.0.7', 9],
    ]);
    await fake.done();
    await dev.close();
  });

  it('listen() on port 0 takes a port from the ephemeral range', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPSERVER=1,49152\r\n', reply: OK },
      { expect: 'AT+CIPSERVER=0\r\n', reply: OK },
    ]);
    const s = await dev.socket.socket();
    await s.bind(['127.0.0.1', 0]);
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    await s.listen(0);
    random.mockRestore();
    await s.close();
    await fake.done();
    await dev.close();
  });

  it('a CIPSTART still queued when its socket closes is dropped unsent', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CIPSTART=4,"TCP","10.77.0.66",8000\r\n' }, // the module is busy with it
      { wait: 200 },
      { inject: `ERR CODE:0x010a0000\r\n\r\nERROR\r\n4,CLOSED\r\n` },
    ]);
    const { socket, errno } = dev;
    const a = await socket.socket();
    a.setblocking(false);
    await raises(a.connect(['10.77.0.66', 8000]), errno.EINPROGRESS);
    const b = await socket.socket();
    b.settimeout(0.05);
    await raises(b.connect(['10.77.0.66', 8000]), errno.ETIMEDOUT); // waits behind a's CIPSTART
    await b.close();
    await fake.done(); // nothing after a's ERROR: b's CIPSTART=3 was never written
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.error).toBeNull();
    await a.close();
    await dev.close();
  });
});

/** Connects to 10.0.0.1:80, sendall()s `data`, closes, and checks the fake saw exactly its script. */
async function connectSendClose(
  dev: Awaited<ReturnType<typeof openFake>>['dev'],
  fake: Awaited<ReturnType<typeof openFake>>['fake'],
  data: Uint8Array,
): Promise<void> {
  const s = await dev.socket.socket();
  await s.connect(['10.0.0.1', 80]);
  await s.sendall(data);
  await s.close();
  await fake.done();
  await dev.close();
}

/**
 * The ESP-AT personality's data paths against the virtual network and real loopback peers:
 * active +IPD (2920-byte pieces), passive receive (one notification, CIPRECVLEN/CIPRECVDATA,
 * CLOSED after the data), UART backpressure without loss, UDP modes and destinations, link
 * management, CIPSENDEX. Device output is decoded with the host-side AtResponseParser.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AtMessage, type AtMessageOf, AtResponseParser } from '../../firmware-protocol/at/index.js';
import { bytePattern } from '../transports/index.js';
import { type AtRig, atRig, sleep, TcpPeer, UdpPeer, until } from './test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function board(...args: Parameters<typeof atRig>): Promise<AtRig & { messages: AtMessage[] }> {
  const rig = await atRig(...args);
  cleanups.push(() => rig.close());
  const parser = new AtResponseParser({ maxDataLength: 1 << 20 });
  const messages: AtMessage[] = [];
  rig.emu.uart.on('data', (chunk: Buffer) => messages.push(...parser.feed(chunk)));
  return Object.assign(rig, { messages });
}

const OK = '\r\nOK\r\n';
const get = (n: number) => `GET /bytes/${n} HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n`;

/** Sends `data` on link `id` with AT+CIPSEND and waits for SEND OK (skipping any +IPD meanwhile). */
async function cipsend(at: AtRig, id: number | null, data: string): Promise<void> {
  at.send(`AT+CIPSEND=${id === null ? '' : `${id},`}${data.length}\r\n`);
  await at.tap.skipTo(`${OK}\r\n>`);
  at.send(data);
  await at.tap.skipTo('\r\nSEND OK\r\n');
}

const ipds = (messages: AtMessage[], link: number | null) =>
  messages.filter((m): m is AtMessageOf<'ipd'> => m.type === 'ipd' && m.link === link);

/** The HTTP body after the blank line. */
function body(stream: Buffer): Buffer {
  const at = stream.indexOf('\r\n\r\n');
  return stream.subarray(at + 4);
}

describe('active receive', () => {
  it('delivers a 20000-byte download as +IPD pieces of at most 2920 bytes, intact, then CLOSED', async () => {
    const at = await board();
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPSTART=0,"TCP","http.test",80\r\n', `0,CONNECT\r\n${OK}`);
    await cipsend(at, 0, get(20000));
    await until(
      () => (at.messages.some((m) => m.type === 'closed' && m.link === 0) ? true : undefined),
      () => `no 0,CLOSED after ${ipds(at.messages, 0).length} +IPD`,
    );
    const pieces = ipds(at.messages, 0);
    expect(Math.max(...pieces.map((p) => p.length))).toBe(2920);
    expect(body(Buffer.concat(pieces.map((p) => p.data))).equals(bytePattern(20000))).toBe(true);
  });

  it('holds data while the UART reader is full and loses nothing when it reads again', async () => {
    const at = await board();
    await at.exchange('AT+CIPSTART="TCP","http.test",80\r\n', `CONNECT\r\n${OK}`);
    await cipsend(at, null, get(400_000));
    at.emu.uart.pause();
    await sleep(300);
    // Bounded: the readable buffer (64 KiB high-water mark) plus at most one +IPD; the rest waits in the socket.
    expect(at.emu.uart.readableLength).toBeLessThan(64 * 1024 + 3000);
    at.emu.uart.resume();
    await until(
      () => (at.messages.some((m) => m.type === 'closed') ? true : undefined),
      () => 'download did not finish',
      10_000,
    );
    expect(body(Buffer.concat(ipds(at.messages, null).map((p) => p.data))).equals(bytePattern(400_000))).toBe(true);
  });
});

describe('passive receive', () => {
  it('notifies once, reports CIPRECVLEN, hands data out by CIPRECVDATA, and shows CLOSED only after the last byte', async () => {
    const at = await board();
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPRECVTYPE=5,1\r\n', OK);
    await at.exchange('AT+CIPSTART=2,"TCP","http.test",80\r\n', `2,CONNECT\r\n${OK}`);
    await cipsend(at, 2, get(12000)); // the notification may come before SEND OK
    await until(
      () => (at.messages.some((m) => m.type === 'ipd-notify' && m.link === 2) ? true : undefined),
      () => 'no passive notification',
    );
    await sleep(50);
    expect(at.messages.filter((m) => m.type === 'ipd-notify')).toHaveLength(1);
    expect(ipds(at.messages, 2)).toHaveLength(0);
    expect(at.messages.some((m) => m.type === 'closed')).toBe(false); // the server is done, the data is not
    at.send('AT+CIPRECVLEN?\r\n');
    const len = await at.tap.expect(/^\+CIPRECVLEN:-1,-1,(\d+),-1,-1\r\n\r\nOK\r\n/);
    expect(Number(len[1])).toBeGreaterThan(0);
    const got: Buffer[] = [];
    for (let i = 0; i < 40 && !at.messages.some((m) => m.type === 'closed'); i++) {
      at.send('AT+CIPRECVDATA=2,2048\r\n');
      const m = await at.tap.expect(/^(\r\n\+IPD,2,\d+\r\n)?\+CIPRECVDATA:(\d+),/s, '+CIPRECVDATA');
      const n = Number(m[2]);
      await until(
        () => (at.tap.rest.length >= n + OK.length ? true : undefined),
        () => 'short CIPRECVDATA',
      );
      got.push(Buffer.from(at.tap.rest.slice(0, n), 'latin1'));
      await at.tap.expectText(`${at.tap.rest.slice(0, n)}${OK}`);
      await at.tap.expect(/^(\r\n\+IPD,2,\d+\r\n|2,CLOSED\r\n)*/);
      await sleep(5);
    }
    expect(body(Buffer.concat(got)).equals(bytePattern(12000))).toBe(true);
    const closedAt = at.messages.findIndex((m) => m.type === 'closed');
    expect(at.messages.slice(closedAt).some((m) => m.type === 'recv-data')).toBe(false);
    await at.exchange('AT+CIPRECVDATA=2,10\r\n', '\r\nERROR\r\n'); // link gone
  });

  it('holds at most the 5760-byte TCP window: CIPRECVLEN and one CIPRECVDATA see no more, and a draining read is followed by +IPD for what the window let in', async () => {
    const at = await board();
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPRECVTYPE=5,1\r\n', OK);
    await at.exchange('AT+CIPSTART=1,"TCP","http.test",80\r\n', `1,CONNECT\r\n${OK}`);
    await cipsend(at, 1, get(20000)); // http.test writes the whole response at once
    await until(
      () => (at.messages.some((m) => m.type === 'ipd-notify' && m.link === 1) ? true : undefined),
      () => 'no passive notification',
    );
    await sleep(50); // the whole response has reached the device by now
    const notices = () => at.messages.filter((m): m is AtMessageOf<'ipd-notify'> => m.type === 'ipd-notify');
    expect(notices()).toHaveLength(1); // the response's head may be announced before its body arrives
    await at.exchange('AT+CIPRECVLEN?\r\n', `+CIPRECVLEN:-1,5760,-1,-1,-1\r\n${OK}`);
    const got: Buffer[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < 10 && !at.messages.some((m) => m.type === 'closed'); i++) {
      const before = notices().length;
      at.send('AT+CIPRECVDATA=1,8192\r\n');
      const m = await at.tap.expect(/^\+CIPRECVDATA:(\d+),/, '+CIPRECVDATA');
      const n = Number(m[1]);
      await until(
        () => (at.tap.rest.length >= n + OK.length ? true : undefined),
        () => 'short CIPRECVDATA',
      );
      got.push(Buffer.from(at.tap.rest.slice(0, n), 'latin1'));
      sizes.push(n);
      await at.tap.expectText(`${at.tap.rest.slice(0, n)}${OK}`);
      // Each read drained the window; what it let in is announced, or the link closes.
      await until(
        () => (notices().length > before || at.messages.some((x) => x.type === 'closed') ? true : undefined),
        () => `no +IPD after reading ${n}`,
      );
      await at.tap.expect(/^(\r\n\+IPD,1,\d+\r\n|1,CLOSED\r\n)*/);
    }
    expect(sizes.slice(0, 3)).toEqual([5760, 5760, 5760]);
    expect(Math.max(...notices().map((m) => m.length))).toBe(5760);
    expect(body(Buffer.concat(got)).equals(bytePattern(20000))).toBe(true);
  });

  it('on v3.2 AT+CIPRECVMODE=1 switches every link; +IPD,<len> without id under MUX=0', async () => {
    const at = await board({ atVersion: '3.2' });
    const peer = await TcpPeer.listen();
    cleanups.push(() => peer.close());
    await at.exchange('AT+CIPRECVMODE=1\r\n', OK);
    await at.exchange(`AT+CIPSTART="TCP","127.0.0.1",${peer.port}\r\n`, `CONNECT\r\n${OK}`);
    await peer.send('hello');
    await at.tap.expectText('\r\n+IPD,5\r\n');
    await peer.send(' world');
    await at.tap.expectQuiet(50); // no second notification before a read
    await at.exchange('AT+CIPRECVLEN?\r\n', `+CIPRECVLEN:11\r\n${OK}`);
    await at.exchange('AT+CIPRECVDATA=7\r\n', `+CIPRECVDATA:7,hello w${OK}`);
    await at.exchange('AT+CIPRECVDATA=100\r\n', `+CIPRECVDATA:4,orld${OK}`);
    await at.exchange('AT+CIPRECVMODE=0\r\n', OK);
    await peer.send('!');
    await at.tap.expectText('\r\n+IPD,1:!');
  });
});

describe('UDP', () => {
  it('echo.test answers; CIPDINFO=1 shows the sender; a per-send destination reaches another peer', async () => {
    const at = await board();
    const [a, b] = [await UdpPeer.bind(), await UdpPeer.bind()];
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPDINFO=1\r\n', OK);
    await at.exchange('AT+CIPSTART=1,"UDP","echo.test",7\r\n', `1,CONNECT\r\n${OK}`);
    await cipsend(at, 1, 'ping');
    await until(
      () => ipds(at.messages, 1)[0],
      () => 'no echo',
    ).then((m) => expect([m.remote, Buffer.from(m.data).toString()]).toEqual([{ ip: '10.77.0.7', port: 7 }, 'ping']));
    await at.exchange('AT+CIPDINFO=0\r\n', OK);
    await at.exchange(`AT+CIPSTART=2,"UDP","127.0.0.1",${a.port},0,2\r\n`, `2,CONNECT\r\n${OK}`);
    await cipsend(at, 2, 'to a');
    await a.receive('to a');
    at.send(`AT+CIPSEND=2,4,"127.0.0.1",${b.port}\r\n`);
    await at.tap.skipTo('>');
    at.send('to b');
    await at.tap.skipTo('SEND OK\r\n');
    await b.receive('to b');
    await b.send('from b'); // mode 2: the sender becomes the remote
    await at.tap.skipTo('\r\n+IPD,2,6:from b');
    await cipsend(at, 2, 'back');
    await b.receive('back');
  });

  it('mode 0 keeps its remote when someone else sends', async () => {
    const at = await board();
    const [a, b] = [await UdpPeer.bind(), await UdpPeer.bind()];
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    await at.exchange(`AT+CIPSTART="UDP","127.0.0.1",${a.port},0,0\r\n`, `CONNECT\r\n${OK}`);
    at.send(`AT+CIPSEND=1,"127.0.0.1",${b.port}\r\n`);
    await at.tap.skipTo('>');
    at.send('x');
    await b.receive('x');
    await b.send('from b');
    await at.tap.skipTo('\r\n+IPD,6:from b');
    await cipsend(at, null, 'still a');
    await a.receive('still a');
  });
});

describe('links', () => {
  it('CIPSTARTEX takes the lowest free id; CIPSTATE lists links; CIPCLOSE=5 closes all', async () => {
    const at = await board();
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPSTART=0,"TCP","echo.test",7\r\n', `0,CONNECT\r\n${OK}`);
    await at.exchange('AT+CIPSTART=0,"TCP","echo.test",7\r\n', `ALREADY CONNECTED\r\n\r\nERROR\r\n`);
    await at.exchange('AT+CIPSTARTEX="UDP","echo.test",7\r\n', `1,CONNECT\r\n${OK}`);
    await at.exchange('AT+CIPSTARTEX="TCP","http.test",80\r\n', `2,CONNECT\r\n${OK}`);
    at.send('AT+CIPSTATE?\r\n');
    await at.tap.expect(
      /^\+CIPSTATE:0,"TCP","10\.77\.0\.7",7,\d+,0\r\n\+CIPSTATE:1,"UDP","10\.77\.0\.7",7,\d+,0\r\n\+CIPSTATE:2,"TCP","10\.77\.0\.80",80,\d+,0\r\n\r\nOK\r\n/,
    );
    await at.exchange('AT+CIPCLOSE=5\r\n', `0,CLOSED\r\n1,CLOSED\r\n2,CLOSED\r\n${OK}`);
    await at.exchange('AT+CIPCLOSE=1\r\n', '\r\nERROR\r\n');
  });

  it('a refused or unanswered connect is ERROR then CLOSED; AT+SYSMSG=2 reports +LINK_CONN', async () => {
    const at = await board({ atTiming: { connectTimeoutMs: 150 } });
    await at.exchange('AT+CIPSTART="TCP","refused.test",80\r\n', '\r\nERROR\r\nCLOSED\r\n');
    await at.exchange('AT+CIPSTART="TCP","blackhole.test",80\r\n', '\r\nERROR\r\nCLOSED\r\n');
    await at.exchange('AT+CIPSTART="TCP","nowhere.invalid",80\r\n', '\r\nERROR\r\n');
    await at.exchange('AT+CIPSTART="SSL","refused.test",443\r\n', '\r\nERROR\r\nCLOSED\r\n');
    await at.exchange('AT+SYSMSG=2\r\n', OK);
    at.send('AT+CIPSTART="TCP","echo.test",7\r\n');
    await at.tap.expect(/^\+LINK_CONN:0,0,"TCP",0,"10\.77\.0\.7",7,\d+\r\n\r\nOK\r\n/);
  });

  it('CIPSENDEX ends the payload at backslash-zero and unescapes the rest', async () => {
    const at = await board();
    const peer = await TcpPeer.listen();
    cleanups.push(() => peer.close());
    await at.exchange(`AT+CIPSTART="TCP","127.0.0.1",${peer.port}\r\n`, `CONNECT\r\n${OK}`);
    await at.exchange('AT+CIPSENDEX=20\r\n', `${OK}\r\n>`);
    await at.exchange('a\\\\b\\,c\\0', '\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n');
    await peer.receive('a\\b,c');
    await at.exchange('AT\r\n', OK);
  });
});

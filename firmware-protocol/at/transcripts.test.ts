/**
 * The fixture transcripts of esp-at.md §5, both directions: the host's bytes through the
 * command parser (as the emulator sees them) and the device's bytes through the response
 * parser (as the host sees them). Each is checked whole, split at every position and byte by byte.
 */

import { describe, expect, it } from 'vitest';
import { AtCommandParser } from './command-parser.js';
import { AtMessageSchema } from './messages.js';
import { infoMessage } from './response-format.js';
import { bytes, driveEverySplit, parseEverySplit, text } from './test-support.js';

const ok = { type: 'ok' } as const;
const error = { type: 'error' } as const;
const prompt = { type: 'prompt' } as const;
const sendOk = { type: 'send-ok' } as const;
const recv = (length: number) => ({ type: 'recv', length }) as const;
const ipd = (link: number | null, data: string, remote: { ip: string; port: number } | null = null) => ({
  type: 'ipd',
  link,
  length: data.length,
  remote,
  data: bytes(data),
});

/** Parses device bytes in every chunking and checks them against the zod schema too. */
function device(stream: string) {
  const messages = parseEverySplit(bytes(stream));
  for (const m of messages) AtMessageSchema.parse(m);
  return messages;
}

/** Host bytes → a compact view of the command parser's events. */
function host(stream: string) {
  return driveEverySplit(bytes(stream)).map((e) =>
    e.kind === 'command'
      ? { cmd: e.name, form: e.form, params: e.params }
      : e.kind === 'data'
        ? { data: text(e.bytes) }
        : { bad: e.reason.code, errCode: e.errCode },
  );
}

describe('§5 transcripts, device → host', () => {
  it('boot + init', () => {
    const stream =
      '\r\nready\r\n' +
      'ATE0\r\n\r\nOK\r\n' +
      '\r\nOK\r\n' +
      'WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n' +
      '+CWJAP:1\r\n\r\nERROR\r\n' +
      '+CIPSTA:ip:"192.168.3.112"\r\n+CIPSTA:gateway:"192.168.3.1"\r\n+CIPSTA:netmask:"255.255.255.0"\r\n\r\nOK\r\n';
    expect(device(stream)).toEqual([
      { type: 'ready' },
      { type: 'echo', line: 'ATE0' },
      ok,
      ok,
      { type: 'wifi', event: 'connected' },
      { type: 'wifi', event: 'got-ip' },
      ok,
      infoMessage('+CWJAP', [1]),
      error,
      { type: 'info', prefix: '+CIPSTA', fields: ['ip:"192.168.3.112"'], raw: 'ip:"192.168.3.112"' },
      { type: 'info', prefix: '+CIPSTA', fields: ['gateway:"192.168.3.1"'], raw: 'gateway:"192.168.3.1"' },
      { type: 'info', prefix: '+CIPSTA', fields: ['netmask:"255.255.255.0"'], raw: 'netmask:"255.255.255.0"' },
      ok,
    ]);
  });

  it('TCP client, single link', () => {
    const stream =
      'CONNECT\r\n\r\nOK\r\n' +
      '\r\nOK\r\n\r\n>' +
      '\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n' +
      '\r\n+IPD,4:test' +
      'CLOSED\r\n\r\nOK\r\n';
    expect(device(stream)).toEqual([
      { type: 'connect', link: null },
      ok,
      ok,
      prompt,
      recv(4),
      sendOk,
      ipd(null, 'test'),
      { type: 'closed', link: null },
      ok,
    ]);
  });

  it('+IPD between the prompt and Recv N bytes', () => {
    const stream = '\r\nOK\r\n\r\n>\r\n+IPD,0,5:hello\r\nRecv 8 bytes\r\n\r\nSEND OK\r\n';
    expect(device(stream)).toEqual([ok, prompt, ipd(0, 'hello'), recv(8), sendOk]);
  });

  it('multi-link with CIPDINFO', () => {
    const stream = '\r\nOK\r\n\r\nOK\r\n0,CONNECT\r\n\r\nOK\r\n\r\n+IPD,0,5,"93.184.216.34",80:hello0,CLOSED\r\n';
    expect(device(stream)).toEqual([
      ok,
      ok,
      { type: 'connect', link: 0 },
      ok,
      ipd(0, 'hello', { ip: '93.184.216.34', port: 80 }),
      { type: 'closed', link: 0 },
    ]);
  });

  it('UDP, fixed and per-send destination', () => {
    const stream =
      '4,CONNECT\r\n\r\nOK\r\n' +
      '\r\nOK\r\n\r\n>\r\nRecv 7 bytes\r\n\r\nSEND OK\r\n' +
      '\r\n+IPD,4,4:test' +
      'CONNECT\r\n\r\nOK\r\n' +
      '\r\nOK\r\n\r\n>\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n' +
      '4,CLOSED\r\n\r\nOK\r\n';
    expect(device(stream)).toEqual([
      { type: 'connect', link: 4 },
      ok,
      ok,
      prompt,
      recv(7),
      sendOk,
      ipd(4, 'test'),
      { type: 'connect', link: null },
      ok,
      ok,
      prompt,
      recv(4),
      sendOk,
      { type: 'closed', link: 4 },
      ok,
    ]);
  });

  it('server accept, with x,CONNECT or +LINK_CONN', () => {
    const tail = '\r\n+IPD,0,4:test\r\nOK\r\n\r\n>\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n0,CLOSED\r\n\r\nOK\r\n\r\nOK\r\n';
    const rest = [ipd(0, 'test'), ok, prompt, recv(4), sendOk, { type: 'closed', link: 0 }, ok, ok];
    expect(device(`\r\nOK\r\n\r\nOK\r\n\r\nOK\r\n0,CONNECT\r\n${tail}`)).toEqual([
      ok,
      ok,
      ok,
      { type: 'connect', link: 0 },
      ...rest,
    ]);
    expect(device(`+LINK_CONN:0,0,"TCP",1,"192.168.4.2",49469,80\r\n${tail}`)).toEqual([
      {
        type: 'link-conn',
        status: 0,
        link: 0,
        protocol: 'TCP',
        server: true,
        remote: { ip: '192.168.4.2', port: 49469 },
        localPort: 80,
      },
      ...rest,
    ]);
  });

  it('SSL client, with a 1024-byte +IPD holding CRLFs', () => {
    const body = 'HTTP/1.0 200 OK\r\nContent-Length: 982\r\n\r\n'.padEnd(1024, 'x');
    expect(body.length).toBe(1024);
    const stream =
      '\r\nOK\r\n+TIME_UPDATED\r\n' +
      '\r\nOK\r\n\r\nOK\r\n' +
      'CONNECT\r\n\r\nOK\r\n' +
      '\r\nOK\r\n\r\n>\r\nRecv 18 bytes\r\n\r\nSEND OK\r\n' +
      `\r\n+IPD,1024:${body}` +
      'CLOSED\r\n';
    expect(device(stream)).toEqual([
      ok,
      infoMessage('+TIME_UPDATED', []),
      ok,
      ok,
      { type: 'connect', link: null },
      ok,
      ok,
      prompt,
      recv(18),
      sendOk,
      ipd(null, body),
      { type: 'closed', link: null },
    ]);
  });

  it('DNS, ping and time', () => {
    const stream =
      '+CIPDOMAIN:"47.96.240.61"\r\n\r\nOK\r\n' +
      '+PING:12\r\n\r\nOK\r\n+PING:TIMEOUT\r\n\r\nERROR\r\n' +
      '+CIPSNTPTIME:Tue Oct 19 17:47:56 2021\r\n\r\nOK\r\n';
    expect(device(stream)).toEqual([
      infoMessage('+CIPDOMAIN', ['47.96.240.61']),
      ok,
      infoMessage('+PING', [12]),
      ok,
      { type: 'info', prefix: '+PING', fields: ['TIMEOUT'], raw: 'TIMEOUT' },
      error,
      { type: 'info', prefix: '+CIPSNTPTIME', fields: ['Tue Oct 19 17:47:56 2021'], raw: 'Tue Oct 19 17:47:56 2021' },
      ok,
    ]);
  });

  it('passive receive, MUX=0 and MUX=1 shapes', () => {
    const stream =
      'CONNECT\r\n\r\nOK\r\n\r\nOK\r\n' +
      '\r\n+IPD,4\r\n' +
      '+CIPRECVLEN:4\r\n\r\nOK\r\n' +
      '+CIPRECVDATA:4,test\r\nOK\r\n' +
      '\r\n+IPD,0,4\r\n' +
      '+CIPRECVLEN:4,-1,-1,-1,-1\r\n\r\nOK\r\n';
    expect(device(stream)).toEqual([
      { type: 'connect', link: null },
      ok,
      ok,
      { type: 'ipd-notify', link: null, length: 4, remote: null },
      infoMessage('+CIPRECVLEN', [4]),
      ok,
      { type: 'recv-data', length: 4, remote: null, data: bytes('test') },
      ok,
      { type: 'ipd-notify', link: 0, length: 4, remote: null },
      infoMessage('+CIPRECVLEN', [4, -1, -1, -1, -1]),
      ok,
    ]);
  });

  it('passthrough: prompt, then +QUITT and OK', () => {
    expect(device('\r\nOK\r\n\r\nOK\r\n\r\n>')).toEqual([ok, ok, prompt]);
    expect(device('\r\n+QUITT\r\n\r\nOK\r\n')).toEqual([infoMessage('+QUITT', []), ok]);
  });

  it('errors with AT+SYSLOG=1', () => {
    const stream = '\r\nOK\r\nERR CODE:0x01090000\r\n\r\nERROR\r\nERR CODE:0x010b0000\r\n\r\nbusy p...\r\n';
    expect(device(stream)).toEqual([
      ok,
      { type: 'err-code', code: 0x01090000 },
      error,
      { type: 'err-code', code: 0x010b0000 },
      { type: 'busy', what: 'p' },
    ]);
  });
});

describe('§5 transcripts, host → device', () => {
  it('boot + init', () => {
    const stream = 'ATE0\r\nAT+CWMODE=1\r\nAT+CWJAP="espressif","1234567890"\r\nAT+CWJAP="x","bad"\r\nAT+CIPSTA?\r\n';
    expect(host(stream)).toEqual([
      { cmd: 'ATE0', form: 'execute', params: [] },
      { cmd: 'CWMODE', form: 'set', params: [1] },
      { cmd: 'CWJAP', form: 'set', params: ['espressif', '1234567890'] },
      { cmd: 'CWJAP', form: 'set', params: ['x', 'bad'] },
      { cmd: 'CIPSTA', form: 'query', params: [] },
    ]);
  });

  it('TCP client, single link', () => {
    const stream = 'AT+CIPSTART="TCP","192.168.3.102",8080\r\nAT+CIPSEND=4\r\ntestAT+CIPCLOSE\r\n';
    expect(host(stream)).toEqual([
      { cmd: 'CIPSTART', form: 'set', params: ['TCP', '192.168.3.102', 8080] },
      { cmd: 'CIPSEND', form: 'set', params: [4] },
      { data: 'test' },
      { cmd: 'CIPCLOSE', form: 'execute', params: [] },
    ]);
  });

  it('multi-link, UDP and server', () => {
    const stream =
      'AT+CIPMUX=1\r\nAT+CIPDINFO=1\r\nAT+CIPSTART=0,"TCP","93.184.216.34",80,60\r\n' +
      'AT+CIPSTART=4,"UDP","192.168.3.102",8080,1112,0\r\nAT+CIPSEND=4,7\r\nabcdefg' +
      'AT+CIPSTART="UDP","192.168.3.102",8080,1112,2\r\nAT+CIPSEND=4,"192.168.3.103",1000\r\ntest' +
      'AT+CIPCLOSE=4\r\nAT+CIPSERVERMAXCONN=2\r\nAT+CIPSERVER=1,80\r\nAT+CIPSERVER=0,1\r\n';
    expect(host(stream)).toEqual([
      { cmd: 'CIPMUX', form: 'set', params: [1] },
      { cmd: 'CIPDINFO', form: 'set', params: [1] },
      { cmd: 'CIPSTART', form: 'set', params: [0, 'TCP', '93.184.216.34', 80, 60] },
      { cmd: 'CIPSTART', form: 'set', params: [4, 'UDP', '192.168.3.102', 8080, 1112, 0] },
      { cmd: 'CIPSEND', form: 'set', params: [4, 7] },
      { data: 'abcdefg' },
      { cmd: 'CIPSTART', form: 'set', params: ['UDP', '192.168.3.102', 8080, 1112, 2] },
      { cmd: 'CIPSEND', form: 'set', params: [4, '192.168.3.103', 1000] },
      { data: 'test' },
      { cmd: 'CIPCLOSE', form: 'set', params: [4] },
      { cmd: 'CIPSERVERMAXCONN', form: 'set', params: [2] },
      { cmd: 'CIPSERVER', form: 'set', params: [1, 80] },
      { cmd: 'CIPSERVER', form: 'set', params: [0, 1] },
    ]);
  });

  it('SSL client: the payload holds CRLFs and is still data', () => {
    const stream =
      'AT+CIPSNTPCFG=1,8,"cn.ntp.org.cn","ntp.sjtu.edu.cn"\r\nAT+CIPSSLCCONF=0\r\nAT+CIPSSLCSNI="example.com"\r\n' +
      'AT+CIPSTART="SSL","example.com",443\r\nAT+CIPSEND=18\r\nGET / HTTP/1.0\r\n\r\n';
    expect(host(stream)).toEqual([
      { cmd: 'CIPSNTPCFG', form: 'set', params: [1, 8, 'cn.ntp.org.cn', 'ntp.sjtu.edu.cn'] },
      { cmd: 'CIPSSLCCONF', form: 'set', params: [0] },
      { cmd: 'CIPSSLCSNI', form: 'set', params: ['example.com'] },
      { cmd: 'CIPSTART', form: 'set', params: ['SSL', 'example.com', 443] },
      { cmd: 'CIPSEND', form: 'set', params: [18] },
      { data: 'GET / HTTP/1.0\r\n\r\n' },
    ]);
  });

  it('DNS, ping, time and passive receive', () => {
    const stream =
      'AT+CIPDOMAIN="iot.espressif.cn"\r\nAT+PING="192.168.1.1"\r\nAT+CIPSNTPTIME?\r\n' +
      'AT+CIPRECVTYPE=1\r\nAT+CIPRECVMODE=1\r\nAT+CIPRECVLEN?\r\nAT+CIPRECVDATA=4\r\nAT+CIPRECVDATA=0,4\r\n';
    expect(host(stream)).toEqual([
      { cmd: 'CIPDOMAIN', form: 'set', params: ['iot.espressif.cn'] },
      { cmd: 'PING', form: 'set', params: ['192.168.1.1'] },
      { cmd: 'CIPSNTPTIME', form: 'query', params: [] },
      { cmd: 'CIPRECVTYPE', form: 'set', params: [1] },
      { cmd: 'CIPRECVMODE', form: 'set', params: [1] },
      { cmd: 'CIPRECVLEN', form: 'query', params: [] },
      { cmd: 'CIPRECVDATA', form: 'set', params: [4] },
      { cmd: 'CIPRECVDATA', form: 'set', params: [0, 4] },
    ]);
  });

  it('errors: unknown command and a stray second terminator', () => {
    expect(host('AT+SYSLOG=1\r\nAT+FAKE\r\nAT\r\n\r\n')).toEqual([
      { cmd: 'SYSLOG', form: 'set', params: [1] },
      { bad: 'unknown-command', errCode: 0x01090000 },
      { cmd: 'AT', form: 'execute', params: [] },
      { bad: 'empty-line', errCode: 0x01030000 },
    ]);
  });

  it('passthrough: the bytes after AT+CIPSEND are handed over raw', () => {
    const p = new AtCommandParser();
    expect(p.feed(bytes('AT+CIPMODE=1\r\n'))).toMatchObject([{ kind: 'command', name: 'CIPMODE', params: [1] }]);
    expect(p.feed(bytes('AT+CIPSEND\r\nraw\r\nbytes'))).toMatchObject([
      { kind: 'command', name: 'CIPSEND', form: 'execute', prompt: true },
    ]);
    expect(p.state).toBe('held');
    expect(text(p.takeBuffered())).toBe('raw\r\nbytes');
    expect(p.feed(bytes('AT+CIPMODE=0\r\n'))).toMatchObject([{ kind: 'command', name: 'CIPMODE', params: [0] }]);
  });
});

import { describe, expect, it } from 'vitest';
import { AtMessageSchema } from './messages.js';
import { formatMessage, infoMessage } from './response-format.js';
import { AtResponseParser } from './response-parser.js';
import { bytes, join, parseEverySplit, text } from './test-support.js';

const all = (s: string | Uint8Array, options?: ConstructorParameters<typeof AtResponseParser>[0]) => {
  const messages = parseEverySplit(typeof s === 'string' ? bytes(s) : s, options);
  for (const m of messages) AtMessageSchema.parse(m);
  return messages;
};

describe('AtResponseParser: lines', () => {
  it('final results, with and without the leading CRLF', () => {
    expect(all('\r\nOK\r\nOK\r\n\r\nERROR\r\n\r\nSEND FAIL\r\n\r\nSEND CANCELLED\r\n\r\nSEND Canceled\r\n')).toEqual([
      { type: 'ok' },
      { type: 'ok' },
      { type: 'error' },
      { type: 'send-fail' },
      { type: 'send-cancelled' },
      { type: 'send-cancelled' },
    ]);
  });

  it('busy p... and the NonOS busy s...', () => {
    expect(all('\r\nbusy p...\r\n\r\nbusy s...\r\n')).toEqual([
      { type: 'busy', what: 'p' },
      { type: 'busy', what: 's' },
    ]);
  });

  it('Wi-Fi and SoftAP events, both spellings of the disconnect', () => {
    expect(
      all('WIFI DISCONNECT\r\nWIFI DISCONNECTED\r\nWIFI GOT IPv6 LL\r\nWIFI GOT IPv6 GL\r\n+STA_CONNECTED:"aa:bb"\r\n'),
    ).toEqual([
      { type: 'wifi', event: 'disconnected' },
      { type: 'wifi', event: 'disconnected' },
      { type: 'wifi', event: 'got-ipv6-ll' },
      { type: 'wifi', event: 'got-ipv6-gl' },
      infoMessage('+STA_CONNECTED', ['aa:bb']),
    ]);
  });

  it('link events in MUX 0 and 1 forms', () => {
    expect(
      all('CONNECT\r\n3,CONNECT\r\nCLOSED\r\n2,CLOSED\r\nCONNECT FAIL\r\n1,CONNECT FAIL\r\nALREADY CONNECTED\r\n'),
    ).toEqual([
      { type: 'connect', link: null },
      { type: 'connect', link: 3 },
      { type: 'closed', link: null },
      { type: 'closed', link: 2 },
      { type: 'connect-fail', link: null },
      { type: 'connect-fail', link: 1 },
      { type: 'already-connected' },
    ]);
  });

  it('echo, version lines, ready, No AP, Have N Connections, restart', () => {
    const stream =
      'AT+GMR\r\nAT version:2.2.0.0(c6fa6bf - ESP32 - Jul  2 2021 06:44:05)\r\nSDK version:v4.2.2\r\n' +
      'compile time(6118fc22):Jul  2 2021 06:44:05\r\nBin version:2.2.0(WROOM-32)\r\n\r\nOK\r\n' +
      '\r\nready\r\nNo AP\r\nHave 2 Connections\r\n\r\nWill force to restart!!!\r\nAT\r\nATE0\r\n';
    expect(all(stream)).toEqual([
      { type: 'echo', line: 'AT+GMR' },
      { type: 'version', key: 'AT version', value: '2.2.0.0(c6fa6bf - ESP32 - Jul  2 2021 06:44:05)' },
      { type: 'version', key: 'SDK version', value: 'v4.2.2' },
      { type: 'version', key: 'compile time(6118fc22)', value: 'Jul  2 2021 06:44:05' },
      { type: 'version', key: 'Bin version', value: '2.2.0(WROOM-32)' },
      { type: 'ok' },
      { type: 'ready' },
      { type: 'no-ap' },
      { type: 'max-conn', count: 2 },
      { type: 'force-restart' },
      { type: 'echo', line: 'AT' },
      { type: 'echo', line: 'ATE0' },
    ]);
  });

  it('info lines: fields typed, lists unwrapped, STATUS:, true/false', () => {
    const stream =
      '+CIPSTATE:0,"TCP","1.2.3.4",80,4000,0\r\n+CWLAP:(3,"UROVOAP",-62,"30:7b:ac:69:41:90",1,-24,0,4,4,7,0)\r\n' +
      'STATUS:2\r\n+CIPDINFO:true\r\n+CWJAP:"a,b","30:7b:ac:69:41:90",1,-50,0,1,3,0,1\r\n+ERRNO:0x3001\r\n';
    expect(all(stream)).toEqual([
      infoMessage('+CIPSTATE', [0, 'TCP', '1.2.3.4', 80, 4000, 0]),
      {
        type: 'info',
        prefix: '+CWLAP',
        fields: [3, 'UROVOAP', -62, '30:7b:ac:69:41:90', 1, -24, 0, 4, 4, 7, 0],
        raw: '(3,"UROVOAP",-62,"30:7b:ac:69:41:90",1,-24,0,4,4,7,0)',
      },
      infoMessage('STATUS', [2]),
      { type: 'info', prefix: '+CIPDINFO', fields: ['true'], raw: 'true' },
      infoMessage('+CWJAP', ['a,b', '30:7b:ac:69:41:90', 1, -50, 0, 1, 3, 0, 1]),
      { type: 'info', prefix: '+ERRNO', fields: ['0x3001'], raw: '0x3001' },
    ]);
  });

  it('an SSID holding a quote only closes at a quote before a comma', () => {
    expect(all('+CWSTATE:2,"my "home" ap"\r\n')).toEqual([
      { type: 'info', prefix: '+CWSTATE', fields: [2, 'my "home" ap'], raw: '2,"my "home" ap"' },
    ]);
  });

  it('stray debug text and garbage are unknown, never fatal', () => {
    expect(all('local port:2390\r\nchange type:2\r\n\xff\x00junk\r\n+IPD,x,y\r\n+LINK_CONN:bad\r\n')).toEqual([
      { type: 'unknown', line: 'local port:2390' },
      { type: 'unknown', line: 'change type:2' },
      { type: 'unknown', line: '\ufffd\u0000junk' },
      { type: 'unknown', line: '+IPD,x,y' },
      { type: 'info', prefix: '+LINK_CONN', fields: ['bad'], raw: 'bad' },
    ]);
  });

  it('tolerates lone LF endings', () => {
    expect(all('OK\n0,CLOSED\n')).toEqual([{ type: 'ok' }, { type: 'closed', link: 0 }]);
  });
});

describe('AtResponseParser: the prompt', () => {
  it('is a bare ">" with nothing after it', () => {
    const p = new AtResponseParser();
    expect(p.feed(bytes('\r\nOK\r\n\r\n>'))).toEqual([{ type: 'ok' }, { type: 'prompt' }]);
    expect(p.bufferedBytes).toBe(0);
  });

  it('is followed at once by URCs or Recv', () => {
    expect(all('\r\n>0,CONNECT\r\n\r\nRecv 3 bytes\r\n')).toEqual([
      { type: 'prompt' },
      { type: 'connect', link: 0 },
      { type: 'recv', length: 3 },
    ]);
  });
});

describe('AtResponseParser: +IPD', () => {
  it('MUX 0 and 1, quoted and unquoted remote, IPv6 remote', () => {
    const stream =
      '\r\n+IPD,3:abc\r\n+IPD,1,2:xy\r\n+IPD,2,"10.0.0.1",7:hi' +
      '+IPD,0,405,192.168.4.2,49519:' +
      'z'.repeat(405) +
      '\r\n+IPD,4,5,"fe80::1:2",65267:hello';
    expect(all(stream)).toEqual([
      { type: 'ipd', link: null, length: 3, remote: null, data: bytes('abc') },
      { type: 'ipd', link: 1, length: 2, remote: null, data: bytes('xy') },
      { type: 'ipd', link: null, length: 2, remote: { ip: '10.0.0.1', port: 7 }, data: bytes('hi') },
      { type: 'ipd', link: 0, length: 405, remote: { ip: '192.168.4.2', port: 49519 }, data: bytes('z'.repeat(405)) },
      { type: 'ipd', link: 4, length: 5, remote: { ip: 'fe80::1:2', port: 65267 }, data: bytes('hello') },
    ]);
  });

  it('payloads holding CRLF, OK, +IPD, > and every byte value are data', () => {
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    const payload = join(bytes('\r\nOK\r\n+IPD,0,3:>\r\nERROR\r\n'), every, bytes('\r\n'));
    const stream = join(bytes(`\r\n+IPD,0,${payload.length}:`), payload, bytes('\r\nOK\r\n'));
    expect(all(stream)).toEqual([
      { type: 'ipd', link: 0, length: payload.length, remote: null, data: payload },
      { type: 'ok' },
    ]);
  });

  it('an empty payload and back-to-back frames', () => {
    expect(all('\r\n+IPD,0,0:\r\n+IPD,0,1:a\r\n+IPD,1,1:b')).toEqual([
      { type: 'ipd', link: 0, length: 0, remote: null, data: bytes('') },
      { type: 'ipd', link: 0, length: 1, remote: null, data: bytes('a') },
      { type: 'ipd', link: 1, length: 1, remote: null, data: bytes('b') },
    ]);
  });

  it('passive notifications have no colon and no data', () => {
    expect(all('\r\n+IPD,4\r\n\r\n+IPD,1,2920\r\n\r\n+IPD,0,12,"1.2.3.4",80\r\n')).toEqual([
      { type: 'ipd-notify', link: null, length: 4, remote: null },
      { type: 'ipd-notify', link: 1, length: 2920, remote: null },
      { type: 'ipd-notify', link: 0, length: 12, remote: { ip: '1.2.3.4', port: 80 } },
    ]);
  });

  it('does not copy or wait more than the payload', () => {
    const p = new AtResponseParser();
    expect(p.feed(bytes('\r\n+IPD,0,5:he'))).toEqual([]);
    expect(p.state).toBe('data');
    expect(p.bufferedBytes).toBe(2);
    const out = p.feed(bytes('llo0,CLOSED\r\n'));
    expect(out.map((m) => m.type)).toEqual(['ipd', 'closed']);
    expect(text((out[0] as { data: Uint8Array }).data)).toBe('hello');
  });
});

describe('AtResponseParser: +CIPRECVDATA', () => {
  it('with and without the remote address', () => {
    expect(all('+CIPRECVDATA:4,te\r\n\r\nOK\r\n+CIPRECVDATA:2,"10.1.2.3",8080,ab\r\nOK\r\n')).toEqual([
      { type: 'recv-data', length: 4, remote: null, data: bytes('te\r\n') },
      { type: 'ok' },
      { type: 'recv-data', length: 2, remote: { ip: '10.1.2.3', port: 8080 }, data: bytes('ab') },
      { type: 'ok' },
    ]);
  });

  it('auto mode takes a payload that merely starts with a quote as data', () => {
    expect(all('+CIPRECVDATA:5,"ab",\r\nOK\r\n')).toEqual([
      { type: 'recv-data', length: 5, remote: null, data: bytes('"ab",') },
      { type: 'ok' },
    ]);
  });

  it('recvDataRemote=false never looks for an address', () => {
    expect(all('+CIPRECVDATA:13,"1.2.3.4",80,\r\nOK\r\n', { recvDataRemote: false })).toEqual([
      { type: 'recv-data', length: 13, remote: null, data: bytes('"1.2.3.4",80,') },
      { type: 'ok' },
    ]);
  });

  it('recvDataRemote=true demands one', () => {
    expect(all('+CIPRECVDATA:1,"1.2.3.4",80,x\r\nOK\r\n', { recvDataRemote: true })).toEqual([
      { type: 'recv-data', length: 1, remote: { ip: '1.2.3.4', port: 80 }, data: bytes('x') },
      { type: 'ok' },
    ]);
  });

  it('a malformed header is an ordinary line', () => {
    expect(all('+CIPRECVDATA:x\r\n+CIPRECVDATA:\r\n')).toEqual([
      { type: 'info', prefix: '+CIPRECVDATA', fields: ['x'], raw: 'x' },
      { type: 'info', prefix: '+CIPRECVDATA', fields: [], raw: '' },
    ]);
  });
});

describe('AtResponseParser: limits', () => {
  it('an over-long line gives one overflow and parsing resumes at the next line', () => {
    const long = 'x'.repeat(50);
    expect(all(`${long}\r\nOK\r\n`, { maxLineLength: 16 })).toEqual([
      { type: 'overflow', what: 'line', limit: 16, length: null },
      { type: 'ok' },
    ]);
    const p = new AtResponseParser({ maxLineLength: 16 });
    for (let i = 0; i < 10_000; i++) p.feed(bytes('yyyyyyyyyy'));
    expect(p.bufferedBytes).toBe(0);
    expect(p.feed(bytes('\r\nOK\r\n'))).toEqual([{ type: 'ok' }]);
  });

  it('a payload over maxDataLength is skipped, keeping the framing', () => {
    expect(all(`\r\n+IPD,0,40:${'\r\nOK\r\n'.repeat(6)}xxxx0,CLOSED\r\n`, { maxDataLength: 32 })).toEqual([
      { type: 'overflow', what: 'data', limit: 32, length: 40 },
      { type: 'closed', link: 0 },
    ]);
  });

  it('reset() forgets a half-read frame', () => {
    const p = new AtResponseParser();
    p.feed(bytes('\r\n+IPD,0,100:abc'));
    p.reset();
    expect(p.feed(bytes('\r\nready\r\n'))).toEqual([{ type: 'ready' }]);
  });
});

describe('formatMessage', () => {
  it('writes the byte shapes of esp-at.md §1', () => {
    const f = (m: Parameters<typeof formatMessage>[0]) => text(formatMessage(m));
    expect(f({ type: 'ok' })).toBe('\r\nOK\r\n');
    expect(f({ type: 'busy', what: 'p' })).toBe('\r\nbusy p...\r\n');
    expect(f({ type: 'prompt' })).toBe('\r\n>');
    expect(f({ type: 'recv', length: 4 })).toBe('\r\nRecv 4 bytes\r\n');
    expect(f({ type: 'connect', link: 0 })).toBe('0,CONNECT\r\n');
    expect(f({ type: 'wifi', event: 'disconnected' })).toBe('WIFI DISCONNECT\r\n');
    expect(f({ type: 'err-code', code: 0x01070001 })).toBe('ERR CODE:0x01070001\r\n');
    expect(f({ type: 'ipd', link: 0, length: 2, remote: { ip: '1.2.3.4', port: 80 }, data: bytes('hi') })).toBe(
      '\r\n+IPD,0,2,"1.2.3.4",80:hi',
    );
    expect(f({ type: 'ipd-notify', link: null, length: 4, remote: null })).toBe('\r\n+IPD,4\r\n');
    expect(f({ type: 'recv-data', length: 4, remote: null, data: bytes('test') })).toBe('+CIPRECVDATA:4,test');
    expect(f(infoMessage('+QUITT', []))).toBe('\r\n+QUITT\r\n');
    expect(f(infoMessage('+CIPMUX', [1]))).toBe('+CIPMUX:1\r\n');
  });
});

describe('AtResponseParser: undecidable input waits', () => {
  it("an empty +CIPRECVDATA payload waits for the next byte in 'auto' mode", () => {
    const p = new AtResponseParser();
    expect(p.feed(bytes('+CIPRECVDATA:0,'))).toEqual([]);
    expect(p.feed(bytes('\r\nOK\r\n'))).toEqual([
      { type: 'recv-data', length: 0, remote: null, data: bytes('') },
      { type: 'ok' },
    ]);
    expect(new AtResponseParser({ recvDataRemote: false }).feed(bytes('+CIPRECVDATA:0,'))).toHaveLength(1);
  });
});

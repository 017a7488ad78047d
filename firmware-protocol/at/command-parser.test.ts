import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './command-line.js';
import { AtCommandParser } from './command-parser.js';
import { errCode, formatErrCode } from './errors.js';
import { bytes, driveEverySplit, text } from './test-support.js';

const line = (s: string, mux?: 0 | 1) => parseCommandLine(bytes(s), mux);
const events = (s: string) =>
  driveEverySplit(bytes(s)).map((e) =>
    e.kind === 'bad' ? { bad: e.reason.code, raw: text(e.raw), code: formatErrCode(e.errCode) } : e,
  );

describe('parseCommandLine', () => {
  it('recognises the four forms', () => {
    expect(line('AT+CWMODE=?')).toMatchObject({ name: 'CWMODE', form: 'test' });
    expect(line('AT+CWMODE?')).toMatchObject({ name: 'CWMODE', form: 'query' });
    expect(line('AT+CWMODE=1,0')).toMatchObject({ name: 'CWMODE', form: 'set', params: [1, 0] });
    expect(line('AT+CIFSR')).toMatchObject({ name: 'CIFSR', form: 'execute', params: [] });
    expect(line('AT')).toMatchObject({ name: 'AT', form: 'execute' });
    expect(line('ATE1')).toMatchObject({ name: 'ATE1', form: 'execute' });
  });

  it('decodes escapes, empty middle parameters and names them', () => {
    expect(line('AT+CWJAP="ab\\\\\\,c","0123456789\\"\\\\",,,,,,,3')).toMatchObject({
      params: ['ab\\,c', '0123456789"\\', null, null, null, null, null, null, 3],
      args: { ssid: 'ab\\,c', pwd: '0123456789"\\', pmf: 3 },
    });
    expect(line('AT+CIPSTART="TCP","192.168.101.110",1000,,"192.168.101.100"')).toMatchObject({
      params: ['TCP', '192.168.101.110', 1000, null, '192.168.101.100'],
    });
    expect(line('AT+CWJAP="\\x\\y",""')).toMatchObject({ params: ['xy', ''] });
    expect(line('AT+CIPSNTPCFG=1,-5,"a,b"')).toMatchObject({ params: [1, -5, 'a,b'] });
  });

  it('decodes UTF-8 strings after unescaping', () => {
    const raw = new Uint8Array([...bytes('AT+PING="'), ...new TextEncoder().encode('hôte,'), ...bytes('"')]);
    expect(parseCommandLine(raw)).toMatchObject({ params: ['hôte,'] });
  });

  it('uses the MUX mode to settle [<link_id>,] ambiguity', () => {
    expect(line('AT+CIPSSLCCONF=1,2')).toMatchObject({ args: { auth_mode: 1, pki_number: 2 } });
    expect(line('AT+CIPSSLCCONF=1,2', 1)).toMatchObject({ args: { link_id: 1, auth_mode: 2 } });
    expect(line('AT+CIPSEND=0,4', 0)).toEqual({ code: 'param-count', name: 'CIPSEND', expected: 1, given: 2 });
  });

  it('gives the reason and ERR CODE for every rejection', () => {
    const cases: [string, object, number][] = [
      ['', { code: 'empty-line' }, errCode('noAtPrefix')],
      ['at', { code: 'no-at-prefix' }, 0x01030000],
      ['AT+FAKE', { code: 'unknown-command', name: 'FAKE' }, 0x01090000],
      ['AT+cwmode?', { code: 'unknown-command' }, 0x01090000],
      ['AT+AT', { code: 'unknown-command' }, 0x01090000],
      ['ATE0?', { code: 'wrong-form', form: 'query' }, 0x010c0000],
      ['ATX', { code: 'unknown-command', name: 'ATX' }, 0x01090000],
      ['AT+CIPSTATE=1', { code: 'wrong-form', form: 'set' }, 0x010c0000],
      ['AT+CIPMUX?x', { code: 'param-parse', index: 0 }, 0x01080000],
      ['AT+CIPMUX=1,2', { code: 'param-count', expected: 1, given: 2 }, 0x01060102],
      ['AT+CIPMUX=', { code: 'param-count', expected: 1, given: 0 }, 0x01060100],
      ['AT+CIPMUX="1"', { code: 'param-type', index: 0, expected: 'int' }, 0x01050000],
      ['AT+CIPMUX=2', { code: 'param-invalid', index: 0, param: 'mode' }, 0x01070000],
      ['AT+CIPSTART="TCP","h",99999', { code: 'param-invalid', index: 2, param: 'remote_port' }, 0x01070002],
      ['AT+CIPSTART="FTP","h",21', { code: 'param-invalid', index: 0, param: 'type' }, 0x01070000],
      ['AT+CWJAP="ssid","pw"x', { code: 'param-parse', index: 1 }, 0x01080001],
      ['AT+CWJAP="ssid","pw', { code: 'param-parse', index: 1 }, 0x01080001],
      ['AT+CWJAP=a"b,"c"', { code: 'param-parse', index: 0 }, 0x01080000],
      [`AT+CWJAP="${'s'.repeat(33)}","p"`, { code: 'param-length', index: 0, max: 32 }, 0x01040000],
      ['AT+CWMODE=', { code: 'param-count' }, 0x01060100],
      ['AT+CWMODE=,1', { code: 'param-invalid', index: 0, detail: 'is required' }, 0x01070000],
    ];
    const p = new AtCommandParser();
    for (const [input, reason, code] of cases) {
      const [event] = p.feed(bytes(`${input}\r\n`));
      expect(event, input).toMatchObject({ kind: 'bad', reason, errCode: code, raw: bytes(`${input}\r\n`) });
      expect(event?.kind === 'bad' && event.message.length > 0).toBe(true);
    }
  });
});

describe('AtCommandParser: line splitting', () => {
  it('CR LF ends a line; raw keeps it for the echo', () => {
    const [e] = new AtCommandParser().feed(bytes('AT+CIPMUX=1\r\n'));
    expect(e).toMatchObject({ kind: 'command', name: 'CIPMUX', raw: bytes('AT+CIPMUX=1\r\n') });
  });

  it('a lone CR or LF ends the line as a missing terminator (0x02)', () => {
    expect(events('AT\rAT\nAT\r\n')).toEqual([
      { bad: 'no-terminator', raw: 'AT\r', code: 'ERR CODE:0x01020000' },
      { bad: 'no-terminator', raw: 'AT\n', code: 'ERR CODE:0x01020000' },
      expect.objectContaining({ kind: 'command', name: 'AT' }),
    ]);
  });

  it('waits after a CR at the end of a chunk', () => {
    const p = new AtCommandParser();
    expect(p.feed(bytes('AT\r'))).toEqual([]);
    expect(p.feed(bytes('\n'))).toMatchObject([{ kind: 'command', name: 'AT' }]);
  });

  it('a stray empty line is its own event', () => {
    expect(events('AT\r\n\r\n')).toEqual([
      expect.objectContaining({ kind: 'command', name: 'AT' }),
      { bad: 'empty-line', raw: '\r\n', code: 'ERR CODE:0x01030000' },
    ]);
  });

  it('a line over 256 bytes gives one too-long and is skipped through its LF', () => {
    const long = `AT+PING="${'h'.repeat(300)}"`;
    expect(events(`${long}\r\nAT\r\n`)).toEqual([
      { bad: 'too-long', raw: long.slice(0, 255), code: 'ERR CODE:0x01020000' },
      expect.objectContaining({ kind: 'command', name: 'AT' }),
    ]);
    const exact = `AT+PING="${'h'.repeat(254 - 10)}"`;
    expect(exact.length).toBe(254);
    expect(events(`${exact}\r\n`)).toMatchObject([{ kind: 'command', name: 'PING' }]);
  });
});

describe('AtCommandParser: payload after the prompt', () => {
  it('holds bytes after a prompting command until told', () => {
    const p = new AtCommandParser();
    expect(p.feed(bytes('AT+CIPSEND=0,4\r\nteAT'))).toMatchObject([{ kind: 'command', name: 'CIPSEND', prompt: true }]);
    expect(p.state).toBe('held');
    expect(p.feed(bytes('\r\n'))).toEqual([]);
    expect(p.expectData(4)).toMatchObject([
      { kind: 'data', bytes: bytes('teAT'), endedBy: 'length' },
      { kind: 'bad', reason: { code: 'empty-line' } },
    ]);
    expect(p.feed(bytes('AT\r\n'))).toMatchObject([{ kind: 'command', name: 'AT' }]);
  });

  it('the payload may hold CR LF, AT commands and any byte', () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    payload.set(bytes('AT\r\n\r\n'), 10);
    const p = new AtCommandParser();
    p.feed(bytes(`AT+CIPSEND=${payload.length}\r\n`));
    const got = [...p.expectData(payload.length), ...p.feed(payload), ...p.feed(bytes('AT\r\n'))];
    expect(got).toMatchObject([
      { kind: 'data', bytes: payload },
      { kind: 'command', name: 'AT' },
    ]);
  });

  it('surplus bytes are parsed as the next line (the emulator answers busy p...)', () => {
    expect(events('AT+CIPSEND=2\r\nabcd\r\n')).toEqual([
      expect.objectContaining({ kind: 'command', name: 'CIPSEND' }),
      { kind: 'data', bytes: bytes('ab'), endedBy: 'length' },
      { bad: 'no-at-prefix', raw: 'cd\r\n', code: 'ERR CODE:0x01030000' },
    ]);
  });

  it('resume() after a refused send parses the held bytes as lines', () => {
    const p = new AtCommandParser();
    p.feed(bytes('AT+CIPSEND=4\r\nAT\r\n'));
    expect(p.resume()).toMatchObject([{ kind: 'command', name: 'AT' }]);
  });

  it('expectData(0) yields an empty payload at once', () => {
    const p = new AtCommandParser();
    expect(p.expectData(0)).toEqual([{ kind: 'data', bytes: new Uint8Array(0), endedBy: 'length' }]);
    expect(() => p.expectData(-1)).toThrow(RangeError);
  });

  it('CIPSENDEX: backslash-zero ends early, \\<c> collapses, \\\\0 is a literal \\0', () => {
    expect(events('AT+CIPSENDEX=20\r\na\\bc\\\\0d\\0AT\r\n')).toEqual([
      expect.objectContaining({ kind: 'command', name: 'CIPSENDEX' }),
      { kind: 'data', bytes: bytes('abc\\0d'), endedBy: 'terminator' },
      expect.objectContaining({ kind: 'command', name: 'AT' }),
    ]);
    expect(events('AT+CIPSENDEX=4\r\n\\\\xyAT\r\n')).toEqual([
      expect.objectContaining({ kind: 'command', name: 'CIPSENDEX' }),
      { kind: 'data', bytes: bytes('\\xy'), endedBy: 'length' },
      expect.objectContaining({ kind: 'command', name: 'AT' }),
    ]);
  });

  it('takeBuffered() hands everything over and returns to line mode', () => {
    const p = new AtCommandParser();
    p.feed(bytes('AT+CIPSEND\r\n+++'));
    expect(text(p.takeBuffered())).toBe('+++');
    expect(p.state).toBe('line');
  });
});

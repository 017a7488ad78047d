import { describe, expect, it } from 'vitest';
import { AT_COMMANDS, type CommandName, commandForms, commandText } from './commands.js';
import { AtEncodeError, encodeCommand } from './encode.js';
import { text } from './test-support.js';

const enc = (...args: Parameters<typeof encodeCommand>) => text(encodeCommand(...args));

describe('encodeCommand', () => {
  it('writes the exact bytes of each form', () => {
    expect(enc('CIPSTART', 'set', [0, 'TCP', 'echo.test', 7])).toBe('AT+CIPSTART=0,"TCP","echo.test",7\r\n');
    expect(enc('CIPSTATE', 'query')).toBe('AT+CIPSTATE?\r\n');
    expect(enc('CWMODE', 'test')).toBe('AT+CWMODE=?\r\n');
    expect(enc('CIFSR', 'execute')).toBe('AT+CIFSR\r\n');
    expect(enc('AT', 'execute')).toBe('AT\r\n');
    expect(enc('ATE0', 'execute')).toBe('ATE0\r\n');
    expect(enc('CIPSEND', 'set', [0, 2048])).toBe('AT+CIPSEND=0,2048\r\n');
    expect(enc('CIPRECVLEN', 'query')).toBe('AT+CIPRECVLEN?\r\n');
  });

  it('escapes backslash, quote and comma inside strings (Wi-Fi docs example)', () => {
    expect(enc('CWJAP', 'set', ['ab\\,c', '0123456789"\\'])).toBe('AT+CWJAP="ab\\\\\\,c","0123456789\\"\\\\"\r\n');
  });

  it('keeps commas of omitted middle parameters and drops trailing ones', () => {
    expect(enc('CWJAP', 'set', ['abc', '0123456789', null, null, null, null, null, null, 3])).toBe(
      'AT+CWJAP="abc","0123456789",,,,,,,3\r\n',
    );
    expect(enc('CIPSTART', 'set', ['TCP', '192.168.101.110', 1000, undefined, '192.168.101.100'])).toBe(
      'AT+CIPSTART="TCP","192.168.101.110",1000,,"192.168.101.100"\r\n',
    );
    expect(enc('CIPSTART', 'set', ['UDP', 'h', 7, null, null, null, null])).toBe('AT+CIPSTART="UDP","h",7\r\n');
    expect(enc('CWJAP', 'set', [null, null])).toBe('AT+CWJAP=,\r\n');
  });

  it('picks the MUX form when told', () => {
    expect(enc('CIPSSLCCONF', 'set', [0, 2], { mux: 1 })).toBe('AT+CIPSSLCCONF=0,2\r\n');
    expect(() => enc('CIPSSLCCONF', 'set', [0, 2, 0, 0], { mux: 0 })).toThrow(/takes 3 parameters, got 4/);
  });

  it('throws a clear error naming the parameter', () => {
    const bad: [Parameters<typeof encodeCommand>, RegExp][] = [
      [['CIPSTART', 'set', [0, 'TCP', 'h', 70000]], /AT\+CIPSTART: parameter 4 <remote_port> must be in 1\.\.65535/],
      [['CIPSTART', 'set', [0, 'TCP', 'h', '80']], /parameter 4 <remote_port> must be an integer/],
      [['CIPMUX', 'set', [1.5]], /parameter 1 must be an integer, got 1.5/],
      [['CIPMUX', 'set', []], /AT\+CIPMUX takes 1 parameters, got 0/],
      [['CWJAP', 'set', ['x'.repeat(33), 'p']], /parameter 1 <ssid> must be at most 32 bytes/],
      [['CWJAP', 'set', ['ssid\r\n', 'p']], /parameter 1 <ssid> must not contain CR, LF or NUL/],
      [['CIPSTART', 'set', [0, 'FTP', 'h', 21]], /<type> must be one of TCP, TCPv6, SSL, SSLv6/],
      [['CIPSTATE', 'set', [1]], /AT\+CIPSTATE has no set form/],
      [['CIPMUX', 'query', [1]], /takes no parameters in its query form/],
      [['PING', 'set', ['h'.repeat(300)]], /command line is 312 bytes, over 256/],
      [['NOPE' as CommandName, 'execute'], /unknown AT command NOPE/],
    ];
    for (const [args, message] of bad) {
      expect(() => encodeCommand(...args), String(args[0])).toThrow(message);
      expect(() => encodeCommand(...args)).toThrow(AtEncodeError);
    }
  });
});

describe('the command table', () => {
  const required = [
    'AT ATE0 ATE1 RST GMR RESTORE UART_CUR UART_DEF SYSLOG SYSMSG SYSSTORE CMD CWMODE CWJAP CWQAP CWSTATE CWLAP',
    'CIFSR CIPSTA CIPMUX CIPSTART CIPSTARTEX CIPSEND CIPSENDEX CIPCLOSE CIPSTATE CIPSTATUS CIPSERVER',
    'CIPSERVERMAXCONN CIPSTO CIPDINFO CIPRECVTYPE CIPRECVMODE CIPRECVLEN CIPRECVDATA CIPDOMAIN CIPDNS PING',
    'CIPSNTPCFG CIPSNTPTIME CIPSSLCCONF CIPSSLCSNI CIPSSLCALPN CIPMODE',
  ]
    .join(' ')
    .split(' ');

  it('covers every command of the brief and the §8 checklist', () => {
    for (const name of required) expect(Object.keys(AT_COMMANDS), name).toContain(name);
  });

  it('has a timeout, at least one form, and signatures on every set form', () => {
    for (const name of Object.keys(AT_COMMANDS) as CommandName[]) {
      const spec = AT_COMMANDS[name];
      expect(spec.timeoutMs, name).toBeGreaterThan(0);
      expect(commandForms(name).length, name).toBeGreaterThan(0);
      const set = (spec.forms as { set?: { signatures?: unknown[] } }).set;
      if (set) expect(set.signatures?.length, name).toBeGreaterThan(0);
    }
  });

  it('writes basic commands without the plus', () => {
    expect(commandText('ATE1')).toBe('ATE1');
    expect(commandText('CIPSEND')).toBe('AT+CIPSEND');
  });
});

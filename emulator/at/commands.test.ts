/**
 * The ESP-AT personality's command layer: echo, one command at a time (`busy p...`), bad input
 * with the documented ERR CODEs, version differences, reboot, UART settings, Wi-Fi, and the
 * handler table's coverage of the shared grammar table.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AT_COMMANDS, type AtForm, type CommandName, commandForms } from '../../firmware-protocol/at/index.js';
import { defaultHostsTable } from '../network/index.js';
import { HANDLERS } from './handlers.js';
import type { UartConfig } from './settings.js';
import { type AtRig, atRig, TcpPeer } from './test-support.js';
import { AT_VERSION_NAMES, type AtVersion } from './versions.js';

const rigs: AtRig[] = [];
async function board(...args: Parameters<typeof atRig>): Promise<AtRig> {
  const rig = await atRig(...args);
  rigs.push(rig);
  return rig;
}
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

const OK = '\r\nOK\r\n';
const ERROR = '\r\nERROR\r\n';
const code = (hex: string) => `ERR CODE:0x${hex}\r\n${ERROR}`;

describe('echo', () => {
  it('is on after boot, ATE0 turns it off (its own line still echoed), ATE1 on again', async () => {
    const at = await board({}, true);
    await at.exchange('AT\r\n', `AT\r\n${OK}`);
    await at.exchange('ATE0\r\n', `ATE0\r\n${OK}`);
    await at.exchange('AT\r\n', OK);
    await at.exchange('ATE1\r\n', OK);
    await at.exchange('AT+CIPMUX?\r\n', `AT+CIPMUX?\r\n+CIPMUX:0\r\n${OK}`);
    await at.tap.expectQuiet();
  });

  it('does not echo CIPSEND payload bytes', async () => {
    const at = await board({}, true);
    await at.exchange('AT+CIPSTART="UDP","echo.test",7\r\n', `AT+CIPSTART="UDP","echo.test",7\r\nCONNECT\r\n${OK}`);
    await at.exchange('AT+CIPSEND=3\r\n', `AT+CIPSEND=3\r\n${OK}\r\n>`);
    await at.exchange('abc', '\r\nRecv 3 bytes\r\n');
    // The echo may overtake SEND OK (URCs come at any line boundary); nothing else may appear.
    const before = await at.tap.skipTo('\r\nSEND OK\r\n');
    if (before === '') await at.tap.expectText('\r\n+IPD,3:abc');
    else expect(before).toBe('\r\n+IPD,3:abc');
    await at.tap.expectQuiet();
  });
});

describe('one command at a time', () => {
  it('answers busy p... to a line that arrives while AT+CWJAP runs, then serves again', async () => {
    const at = await board({ atTiming: { joinMs: 150 } });
    at.send('AT+CWJAP="netcoproc","netcoproc-pass"\r\n');
    await at.tap.expectText('WIFI DISCONNECT\r\n');
    await at.exchange('AT\r\n', '\r\nbusy p...\r\n');
    await at.exchange('AT+SYSLOG=1\r\n', '\r\nbusy p...\r\n'); // dropped, so SYSLOG stays 0
    await at.tap.expectText(`WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
    await at.exchange('AT+SYSLOG?\r\n', `+SYSLOG:0\r\n${OK}`);
  });

  it('a second line in the same write arrives while the first is answered: busy, with ERR CODE under SYSLOG=1', async () => {
    const at = await board();
    await at.exchange('AT+SYSLOG=1\r\n', OK);
    await at.exchange('AT\r\nAT+GMR\r\n', `${OK}ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n`);
    await at.exchange('AT\r\n', OK);
  });

  it('an AT+CIPSEND told busy (another command runs) is dropped: the board does not wait for its data', async () => {
    const at = await board();
    at.send('AT+CWJAP="netcoproc","netcoproc-pass"\r\nAT+CIPSEND=4\r\n');
    await at.tap.skipTo('\r\nbusy p...\r\n');
    await at.tap.skipTo(`WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
    await at.exchange('AT\r\n', OK); // was: never answered, the parser held input for the dropped prompt
  });

  it('surplus CIPSEND payload bytes are parsed as a line while the send completes: busy p...', async () => {
    const at = await board();
    await at.exchange('AT+CIPSTART="TCP","echo.test",7\r\n', `CONNECT\r\n${OK}`);
    at.send('AT+CIPSEND=4\r\ntestAT\r\n');
    await at.tap.expectText(`${OK}\r\n>\r\nRecv 4 bytes\r\n`);
    const beforeSendOk = await at.tap.skipTo('\r\nSEND OK\r\n');
    // The echo's +IPD may come anywhere in between; the AT line must have got busy p...
    const ipd = '\r\n+IPD,4:test';
    expect(beforeSendOk.replace(ipd, '')).toBe('\r\nbusy p...\r\n');
    if (!beforeSendOk.includes(ipd)) await at.tap.expectText(ipd);
    await at.tap.expectQuiet();
  });
});

describe('bad input', () => {
  const cases: [string, string, string][] = [
    ['unknown command', 'AT+FAKE\r\n', '01090000'],
    ['missing terminator (lone LF)', 'AT\n', '01020000'],
    ['no AT prefix', 'at\r\n', '01030000'],
    ['parameter count', 'AT+CIPMUX=1,2\r\n', '01060102'],
    ['parameter type', 'AT+CIPMUX="1"\r\n', '01050000'],
    ['parameter out of range', 'AT+CIPMUX=2\r\n', '01070000'],
    ['second parameter invalid', 'AT+CWMODE=1,7\r\n', '01070001'],
    ['unparsable parameter', 'AT+CWJAP="a\r\n', '01080000'],
    ['form the command lacks', 'AT+GMR?\r\n', '010c0000'],
  ];
  for (const [what, line, hex] of cases) {
    it(`${what}: ERROR, with ERR CODE:0x${hex} under SYSLOG=1, and the board keeps serving`, async () => {
      const at = await board();
      await at.exchange(line, ERROR);
      await at.exchange('AT+SYSLOG=1\r\n', OK);
      await at.exchange(line, code(hex));
      await at.exchange('AT\r\n', OK);
    });
  }

  it('a line longer than 256 bytes and binary junk get ERROR, then AT works', async () => {
    const at = await board();
    await at.exchange('AT+SYSLOG=1\r\n', OK);
    at.send(`AT+${'X'.repeat(300)}\r\n`);
    await at.tap.skipTo(ERROR);
    at.send(Buffer.from([0x00, 0xff, 0xc0, 0x0d, 0x0a]));
    await at.tap.skipTo(ERROR);
    await at.tap.expectQuiet();
    await at.exchange('AT\r\n', OK);
  });

  it('execution failures carry 0x010a0000', async () => {
    const at = await board();
    await at.exchange('AT+SYSLOG=1\r\n', OK);
    await at.exchange('AT+CIPCLOSE\r\n', code('010a0000')); // nothing open
    await at.exchange('AT+CIPSEND=4\r\n', code('010a0000')); // no link; the parser holds nothing
    await at.exchange('AT\r\n', OK);
  });
});

describe('versions', () => {
  const gmr: Record<AtVersion, string> = {
    '2.2': 'AT version:2.2.0.0(c6fa6bf - ESP32 - Jul  2 2021 06:44:05)\r\n',
    '3.2': 'AT version:3.2.0.0(s-ec2dec2 - ESP32 - Jul 28 2023 07:05:28)\r\n',
    '4.1': 'AT version:4.1.1.0(ba4dd0e - ESP32 - Jul 31 2025 08:37:48)\r\n',
  };
  for (const v of AT_VERSION_NAMES) {
    it(`v${v}: AT+GMR, the passive-receive command, CIPSTATE, CIPSEND limit, <timeout>`, async () => {
      const at = await board({ atVersion: v });
      at.send('AT+GMR\r\n');
      await at.tap.expectText(gmr[v]);
      await at.tap.skipTo(OK);
      const [now, old] = v === '4.1' ? ['CIPRECVTYPE', 'CIPRECVMODE'] : ['CIPRECVMODE', 'CIPRECVTYPE'];
      await at.exchange(`AT+${now}?\r\n`, `+${now}:${v === '4.1' ? '0,0' : '0'}\r\n${OK}`);
      await at.exchange(`AT+${old}=1\r\n`, ERROR);
      await at.exchange('AT+CIPSTATE?\r\n', v === '2.2' ? ERROR : OK);
      await at.exchange('AT+CIPSTART="UDP","echo.test",7\r\n', `CONNECT\r\n${OK}`);
      await at.exchange(`AT+CIPSEND=${v === '2.2' ? 2049 : 8193}\r\n`, ERROR);
      await at.exchange(`AT+CIPSEND=${v === '2.2' ? 2048 : 8192}\r\n`, `${OK}\r\n>`);
      at.send(Buffer.alloc(v === '2.2' ? 2048 : 8192, 0x41));
      await at.tap.skipTo('\r\nSEND OK\r\n');
      await at.exchange('AT+CIPCLOSE\r\n', `CLOSED\r\n${OK}`);
      const timeout = 'AT+CIPSTART="TCP","echo.test",7,0,"",500\r\n';
      await at.exchange(timeout, v === '4.1' ? `CONNECT\r\n${OK}` : ERROR);
    });
  }
});

describe('basic commands', () => {
  it('AT+RST: OK, then ready and the autoconnect lines; links are gone', async () => {
    const at = await board();
    await at.exchange('AT+CIPSTART="TCP","echo.test",7\r\n', `CONNECT\r\n${OK}`);
    await at.exchange('AT+RST\r\n', `${OK}\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n`);
    await at.exchange('AT\r\n', `AT\r\n${OK}`); // echo is back on after the reboot
    await at.exchange('AT+CIPSTATUS\r\n', `AT+CIPSTATUS\r\nSTATUS:2\r\n${OK}`);
  });

  it('AT+UART_CUR answers OK at the old setting, then reports the new one; UART_DEF survives a reboot', async () => {
    const seen: UartConfig[] = [];
    const at = await board({ onUartConfig: (u) => seen.push(u) });
    await at.exchange('AT+UART_CUR?\r\n', `+UART_CUR:115200,8,1,0,1\r\n${OK}`);
    await at.exchange('AT+UART_CUR=921600,8,1,0,3\r\n', OK);
    expect(seen).toEqual([{ baudrate: 921600, databits: 8, stopbits: 1, parity: 0, flowControl: 3 }]);
    expect((at.emu.personality as { uartConfig: UartConfig }).uartConfig.baudrate).toBe(921600);
    await at.exchange('AT+UART_DEF=460800,8,1,0,0\r\n', OK);
    at.emu.reboot();
    await at.tap.skipTo('WIFI GOT IP\r\n');
    await at.exchange('ATE0\r\n', `ATE0\r\n${OK}`);
    await at.exchange('AT+UART_CUR?\r\n', `+UART_CUR:460800,8,1,0,0\r\n${OK}`);
  });

  it('AT+CMD? lists this release’s commands; every form of the grammar table has a handler', async () => {
    const at = await board({ atVersion: '2.2' });
    at.send('AT+CMD?\r\n');
    const listing = await at.tap.skipTo(OK);
    expect(listing).toContain('+CMD:0,"AT",0,0,0,1\r\n');
    expect(listing).toContain('"AT+CIPRECVMODE",0,1,1,0');
    expect(listing).not.toContain('CIPRECVTYPE');
    for (const name of Object.keys(AT_COMMANDS) as CommandName[]) {
      for (const form of commandForms(name)) {
        expect(HANDLERS[name]?.[form as AtForm], `AT+${name} ${form}`).toBeTypeOf('function');
      }
    }
  });
});

describe('Wi-Fi', () => {
  it('CWJAP codes, CWQAP, CWSTATE, CWLAP and CIFSR follow the hosts table', async () => {
    const at = await board();
    await at.exchange('AT+CWSTATE?\r\n', `+CWSTATE:2,"netcoproc"\r\n${OK}`);
    await at.exchange('AT+CWJAP="netcoproc","wrong"\r\n', `WIFI DISCONNECT\r\n+CWJAP:2\r\n${ERROR}`);
    await at.exchange('AT+CWJAP?\r\n', `No AP\r\n${OK}`);
    await at.exchange('AT+CIPSTART="TCP","echo.test",7\r\n', ERROR);
    await at.exchange('AT+CWJAP="netcoproc-guest",""\r\n', `WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
    await at.exchange('AT+CWJAP?\r\n', `+CWJAP:"netcoproc-guest","02:00:4e:43:50:02",11,-71,0,1,3,0,1\r\n${OK}`);
    await at.exchange('AT+CWQAP\r\n', `${OK}WIFI DISCONNECT\r\n`);
    await at.exchange('AT+CWSTATE?\r\n', `+CWSTATE:4,""\r\n${OK}`);
    await at.exchange('AT+CIFSR\r\n', `+CIFSR:STAIP,"0.0.0.0"\r\n+CIFSR:STAMAC,"24:0a:c4:00:02:10"\r\n${OK}`);
    at.send('AT+CWLAP\r\n');
    expect(await at.tap.skipTo(OK)).toBe(
      '+CWLAP:(3,"netcoproc",-42,"02:00:4e:43:50:01",6,0,0,4,4,7,0)\r\n' +
        '+CWLAP:(0,"netcoproc-guest",-71,"02:00:4e:43:50:02",11,0,0,0,0,7,0)\r\n',
    );
  });

  it('a board with no stored AP boots unjoined; AT+CWJAP joins and AT+RESTORE forgets', async () => {
    const hosts = defaultHostsTable();
    hosts.wifi.autoJoin = null;
    const at = await board({ network: { hosts } });
    await at.exchange(
      'AT+CIPSTA?\r\n',
      `+CIPSTA:ip:"0.0.0.0"\r\n+CIPSTA:gateway:"0.0.0.0"\r\n+CIPSTA:netmask:"0.0.0.0"\r\n${OK}`,
    );
    await at.exchange('AT+CWJAP="netcoproc","netcoproc-pass"\r\n', `WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
    await at.exchange('AT+RST\r\n', `${OK}\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n`); // stored now
    await at.exchange('AT+RESTORE\r\n', `AT+RESTORE\r\n${OK}\r\nready\r\n`);
    await at.tap.expectQuiet();
  });
});

describe('network services and stored settings', () => {
  it('SNTP: +TIME_UPDATED after AT+CIPSNTPCFG=1, then the local time in asctime form', async () => {
    const at = await board();
    at.send('AT+CIPSNTPTIME?\r\n');
    await at.tap.expect(/^\+CIPSNTPTIME:Thu Jan {2}1 00:00:0\d 1970\r\n\r\nOK\r\n/);
    await at.exchange('AT+CIPSNTPCFG=1,530,"pool.ntp.org"\r\n', `${OK}+TIME_UPDATED\r\n`);
    await at.exchange('AT+CIPSNTPCFG?\r\n', `+CIPSNTPCFG:1,530,"pool.ntp.org"\r\n${OK}`);
    at.send('AT+CIPSNTPTIME?\r\n');
    const [, time] = await at.tap.expect(/^\+CIPSNTPTIME:(.{24})\r\n\r\nOK\r\n/);
    const local = new Date(Date.now() + 330 * 60_000); // +05:30
    expect(time).toContain(`${local.getUTCFullYear()}`);
    expect(time!.slice(11, 16)).toBe(local.toISOString().slice(11, 16));
    await at.exchange('AT+CIPSNTPCFG=1,1500\r\n', ERROR); // ±hhmm with hh > 14
  });

  it('DNS settings, SSL client settings per link, CIPSTA, SYSSTORE=0 keeps them out of NVS', async () => {
    const at = await board();
    await at.exchange('AT+CIPDNS?\r\n', `+CIPDNS:0,"10.77.0.1"\r\n${OK}`);
    await at.exchange('AT+CIPDNS=1,"1.1.1.1","1.1.1.1"\r\n', ERROR);
    await at.exchange('AT+CIPDNS=1\r\n', OK);
    await at.exchange('AT+CIPDNS?\r\n', `+CIPDNS:1,"208.67.222.222","114.114.114.114","8.8.8.8"\r\n${OK}`);
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPSSLCSNI=5,"tls.test"\r\n', OK);
    await at.exchange('AT+CIPSSLCALPN=2,2,"h2","http/1.1"\r\n', OK);
    await at.exchange('AT+CIPSSLCALPN=2,2,"h2"\r\n', ERROR);
    at.send('AT+CIPSSLCALPN?\r\n');
    expect(await at.tap.skipTo(OK)).toContain('+CIPSSLCALPN:2,2,"h2","http/1.1"\r\n');
    at.send('AT+CIPSSLCSNI?\r\n');
    expect(await at.tap.skipTo(OK)).toBe([0, 1, 2, 3, 4].map((i) => `+CIPSSLCSNI:${i},"tls.test"\r\n`).join(''));
    await at.exchange('AT+SYSSTORE=0\r\n', OK);
    await at.exchange('AT+CIPSTA="10.77.0.9"\r\n', OK);
    await at.exchange('AT+CIPSTA="10.77.0.999"\r\n', ERROR);
    at.send('AT+CIPSTA?\r\n');
    expect(await at.tap.skipTo(OK)).toContain('+CIPSTA:ip:"10.77.0.9"\r\n');
    at.emu.reboot();
    await at.tap.skipTo('WIFI GOT IP\r\n');
    await at.exchange('ATE0\r\n', `ATE0\r\n${OK}`);
    at.send('AT+CIPSTA?\r\n');
    expect(await at.tap.skipTo(OK)).toContain('+CIPSTA:ip:"10.77.0.2"\r\n'); // not stored
    at.send('AT+CIPDNS?\r\n');
    expect(await at.tap.skipTo(OK)).toContain('+CIPDNS:1,'); // stored before SYSSTORE=0
  });

  it('a server link idle longer than AT+CIPSTO is closed; SYSMSG=2 reports accepts as +LINK_CONN', async () => {
    const at = await board();
    const client = new TcpPeer();
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+SYSMSG=2\r\n', OK);
    await at.exchange('AT+CIPSTO=1\r\n', OK);
    await at.exchange('AT+CIPSERVER=1,8080\r\n', OK);
    await at.exchange('AT+CIPSERVER?\r\n', `+CIPSERVER:1,8080,"TCP",0\r\n${OK}`);
    await client.connect(at.emu.forwards.at(-1)!.forwardPort);
    await at.tap.expect(/^\+LINK_CONN:0,0,"TCP",1,"127\.0\.0\.1",\d+,8080\r\n/);
    await at.tap.expectText('0,CLOSED\r\n', 3500);
    await client.close();
  });
});

/**
 * The ESP-AT quirks on the wire, byte-exact where the quirk fixes the bytes, and replayable:
 * the same seed gives the same device output, and with no quirk switched on nothing changes.
 * (What the host driver makes of them: test/at-quirks.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator.js';
import { AT_QUIRKS, type AtQuirks } from '../faults/scenario.js';
import { type AtRig, DeviceTap, sleep } from './test-support.js';

const OK = '\r\nOK\r\n';
const rigs: AtRig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

/** A joined board with echo off (atRig's boot, tolerant of quirky lines around it). */
async function board(atQuirks: AtQuirks, seed = 7): Promise<AtRig> {
  const emu = createEmulator({ protocol: 'at', seed, atQuirks });
  const tap = new DeviceTap(emu.uart);
  const send = (data: string | Uint8Array) =>
    emu.uart.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  const rig: AtRig = {
    ...{ emu, tap, send, close: () => emu.close() },
    async exchange(line, reply, ms) {
      send(line);
      await tap.expectText(reply, ms);
    },
  };
  rigs.push(rig);
  await tap.skipTo('WIFI GOT IP\r\n');
  send('ATE0\r\n');
  await tap.skipTo(OK);
  await sleep(15);
  await tap.skipTo(tap.rest); // whatever came after the OK (a stray busy) is not the next reply
  return rig;
}

/** Runs commands one at a time, each after the previous one's OK; returns all the device said meanwhile. */
async function script(rig: AtRig, lines: readonly string[]): Promise<string> {
  let wire = '';
  const take = (b: Buffer) => {
    wire += b.toString('latin1');
  };
  rig.emu.uart.on('data', take);
  for (const line of lines) {
    rig.send(line);
    await rig.tap.skipTo(OK);
    await sleep(15); // held or glued output settles; a trailing busy comes out
  }
  rig.emu.uart.off('data', take);
  return wire;
}

const LINES = [
  'AT\r\n',
  'AT+SYSLOG=1\r\n',
  'AT+CIPMUX=1\r\n',
  'AT+CIPMUX?\r\n',
  'AT+GMR\r\n',
  'AT+CIPSTATE?\r\n',
  'AT\r\n',
];

describe('ESP-AT quirks on the wire', () => {
  it('replays exactly from the seed, and changes nothing when every quirk is off', async () => {
    const all = Object.fromEntries(AT_QUIRKS.map((q) => [q, 0.5])) as AtQuirks;
    const [a, b, other] = await Promise.all([board(all, 11), board(all, 11), board(all, 12)]);
    const [wa, wb, wo] = await Promise.all([script(a, LINES), script(b, LINES), script(other, LINES)]);
    expect(wa).toBe(wb);
    expect(wo).not.toBe(wa);
    const [off, none] = await Promise.all([board({}), board(Object.fromEntries(AT_QUIRKS.map((q) => [q, false])))]);
    const plain = await script(off, LINES);
    expect(await script(none, LINES)).toBe(plain);
    expect(plain).not.toMatch(/busy|local port|change type|to read|AT\+/);
  });

  it('echoLeftOn: command lines still come back after ATE0', async () => {
    const at = await board({ echoLeftOn: true });
    await at.exchange('AT+CIPMUX?\r\n', `AT+CIPMUX?\r\n+CIPMUX:0\r\n${OK}`);
  });

  it('strayBusyAfterOk: `busy p...` after an OK, with its ERR CODE under SYSLOG; the next command still runs', async () => {
    const at = await board({ strayBusyAfterOk: true });
    const wire = await script(at, ['AT+SYSLOG=1\r\n', 'AT\r\n', 'AT+CIPMUX?\r\n']);
    expect(wire).toMatch(/ERR CODE:0x010b0000\r\n\r\nbusy p\.\.\.\r\n/);
    expect(wire).toContain(`+CIPMUX:0\r\n${OK}`);
  });

  it('strayDebugLines: unknown lines at message boundaries only', async () => {
    const at = await board({ strayDebugLines: true });
    const wire = await script(at, ['AT+CIPMUX?\r\n']);
    expect(wire).toMatch(/^(?:local port:\d+|change type:\d|to read \d+ bytes)\r\n\+CIPMUX:0\r\n/);
  });

  it('sendFailThenSendOk: SEND FAIL then SEND OK for one send; the bytes went out, and the command ran until SEND OK', async () => {
    const at = await board({ sendFailThenSendOk: true });
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPSTART=0,"TCP","echo.test",7\r\n', `0,CONNECT\r\n${OK}`);
    at.send('AT+CIPSEND=0,4\r\n');
    await at.tap.expectText(`${OK}\r\n>`);
    at.send('ping');
    const wire = `${await at.tap.skipTo('\r\nSEND OK\r\n')}\r\nSEND OK\r\n`;
    expect(wire).toMatch(/^\r\nRecv 4 bytes\r\n[\s\S]*\r\nSEND FAIL\r\n\r\nSEND OK\r\n$/);
    if (!wire.includes('\r\n+IPD,0,4:ping')) await at.tap.skipTo('\r\n+IPD,0,4:ping'); // the peer got them
  });

  it('closedRacingRead: `<id>,CLOSED` before the reply of the read that drains the link, nothing lost', async () => {
    const at = await board({ closedRacingRead: true });
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPRECVTYPE=5,1\r\n', OK);
    await at.exchange('AT+CIPSTART=0,"TCP","http.test",80\r\n', `0,CONNECT\r\n${OK}`);
    const get = 'GET /bytes/100 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n';
    at.send(`AT+CIPSEND=0,${get.length}\r\n`);
    await at.tap.skipTo('>');
    at.send(get);
    await at.tap.skipTo('\r\nSEND OK\r\n');
    await sleep(30); // the server answers and closes
    at.send('AT+CIPRECVDATA=0,4096\r\n');
    const m = await at.tap.expect(
      /^[^+]*(?:\+IPD,0,\d+\r\n)?0,CLOSED\r\n\+CIPRECVDATA:(\d+),/,
      'CLOSED, then the reply',
    );
    const data = await at.tap.skipTo(OK);
    expect(data.length).toBe(Number(m[1]));
    expect(data).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(data.endsWith(Buffer.from(Array.from({ length: 100 }, (_, i) => i)).toString('latin1'))).toBe(true);
  });
});

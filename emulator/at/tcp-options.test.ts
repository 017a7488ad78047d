/**
 * AT+CIPTCPOPT on the emulated board: a set keeps the values it omits, the query reports what
 * was set per link id, and AT+CIPSTART's `<keep_alive>` is the same setting (last writer wins).
 */
import { afterEach, describe, it } from 'vitest';
import { type AtRig, atRig } from './test-support.js';

const OK = '\r\nOK\r\n';
const rigs: AtRig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

const rows = (...r: string[]) => `${r.map((x) => `+CIPTCPOPT:${x}\r\n`).join('')}${OK}`;

describe('AT+CIPTCPOPT (emulator)', () => {
  it('applies a set per link, keeps omitted values, and shares <keep_alive> with AT+CIPSTART', async () => {
    const at = await atRig({});
    rigs.push(at);
    await at.exchange('AT+CIPMUX=1\r\n', OK);
    await at.exchange('AT+CIPTCPOPT=2,-1,1,0\r\n', OK);
    await at.exchange('AT+CIPTCPOPT=2,,,,30\r\n', OK);
    await at.exchange('AT+CIPTCPOPT?\r\n', rows('0,-1,0,0,0', '1,-1,0,0,0', '2,-1,1,0,30', '3,-1,0,0,0', '4,-1,0,0,0'));
    await at.exchange('AT+CIPSTART=2,"TCP","echo.test",7,60\r\n', `2,CONNECT\r\n${OK}`);
    await at.exchange('AT+CIPTCPOPT?\r\n', rows('0,-1,0,0,0', '1,-1,0,0,0', '2,-1,1,0,60', '3,-1,0,0,0', '4,-1,0,0,0'));
  });
});

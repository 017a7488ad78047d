/** network.WLAN over a scripted module: the exact commands, and how replies become MicroPython values. */
import { describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { OK, openFake, raises } from './test-helpers.js';

describe('network.WLAN over ESP-AT', () => {
  it('connect, status, isconnected, ifconfig, scan, config, active', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CWJAP="my\\,net","p\\"w"\r\n', reply: `WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}` },
      { expect: 'AT+CWSTATE?\r\n', reply: `+CWSTATE:2,"my,net"\r\n${OK}` },
      {
        expect: 'AT+CIPSTA?\r\n',
        reply: `+CIPSTA:ip:"192.168.3.112"\r\n+CIPSTA:gateway:"192.168.3.1"\r\n+CIPSTA:netmask:"255.255.255.0"\r\n${OK}`,
      },
      { expect: 'AT+CIPDNS?\r\n', reply: `+CIPDNS:0,"208.67.222.222","114.114.114.114","8.8.8.8"\r\n${OK}` },
      {
        expect: 'AT+CWLAP\r\n',
        reply: `+CWLAP:(3,"UROVOAP",-62,"30:7b:ac:69:41:90",1,-24,0,4,4,7,0)\r\n+CWLAP:(0,"",-80,"00:11:22:33:44:55",6,0,0,0,0,7,0)\r\n${OK}`,
      },
      { expect: 'AT+CIFSR\r\n', reply: `+CIFSR:STAIP,"192.168.3.112"\r\n+CIFSR:STAMAC,"24:0a:c4:00:01:02"\r\n${OK}` },
      { expect: 'AT+CWMODE?\r\n', reply: `+CWMODE:1\r\n${OK}` },
      { expect: 'AT+CWMODE?\r\n', reply: `+CWMODE:1\r\n${OK}` },
      { expect: 'AT+CWMODE=0\r\n', reply: OK },
    ]);
    const { network } = dev;
    const wlan = network.WLAN(network.STA_IF);
    expect(network.WLAN()).toBe(wlan);
    await wlan.connect('my,net', 'p"w');
    expect(await wlan.isconnected()).toBe(true);
    expect(await wlan.ifconfig()).toEqual(['192.168.3.112', '255.255.255.0', '192.168.3.1', '208.67.222.222']);
    const aps = await wlan.scan();
    expect(
      aps.map(([ssid, bssid, ch, rssi, sec, hidden]) => [
        Buffer.from(ssid).toString(),
        bssid.length,
        ch,
        rssi,
        sec,
        hidden,
      ]),
    ).toEqual([
      ['UROVOAP', 6, 1, -62, 3, false],
      ['', 6, 6, -80, 0, true],
    ]);
    expect([...((await wlan.config('mac')) as Uint8Array)]).toEqual([0x24, 0x0a, 0xc4, 0, 1, 2]);
    expect(await wlan.active()).toBe(true);
    expect(await wlan.active(false)).toBe(false);
    await fake.done();
    await dev.close();
  });

  it('a wrong password is OSError(EACCES) and status() says STAT_WRONG_PASSWORD; old firmware falls back to CIFSR', async () => {
    const { dev, fake } = await openFake([
      { expect: 'AT+CWJAP="netcoproc","bad"\r\n', reply: `+CWJAP:2\r\n\r\nERROR\r\n` },
      { expect: 'AT+CWSTATE?\r\n', reply: `+CWSTATE:0,""\r\n${OK}` },
      { expect: 'AT+CWSTATE?\r\n', reply: 'ERR CODE:0x01090000\r\n\r\nERROR\r\n' },
      { expect: 'AT+CIFSR\r\n', reply: `+CIFSR:STAIP,"0.0.0.0"\r\n${OK}` },
    ]);
    const wlan = dev.network.WLAN();
    const err = await raises(wlan.connect('netcoproc', 'bad'), E.EACCES);
    expect(err.message).toContain('wrong Wi-Fi password');
    expect(await wlan.status()).toBe(dev.network.STAT_WRONG_PASSWORD);
    expect(await wlan.isconnected()).toBe(false);
    expect(() => dev.network.WLAN(dev.network.AP_IF)).toThrow(/STA_IF/);
    await fake.done();
    await dev.close();
  });
});

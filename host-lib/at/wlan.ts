/**
 * MicroPython's `network.WLAN` over ESP-AT (station interface):
 *
 * | WLAN method            | AT command                                             |
 * |------------------------|--------------------------------------------------------|
 * | active([flag])         | AT+CWMODE? / AT+CWMODE=<mode with the STA bit set/cleared> |
 * | connect(ssid, key)     | AT+CWJAP="ssid","key" (failure: +CWJAP:<code> → OSError) |
 * | disconnect()           | AT+CWQAP                                               |
 * | isconnected()/status() | AT+CWSTATE? (older firmware: AT+CIPSTA?)               |
 * | ifconfig([cfg])        | AT+CIPSTA? + AT+CIPDNS? (fallback AT+CIFSR) / AT+CIPSTA="ip","gw","mask" |
 * | scan()                 | AT+CWLAP                                               |
 * | config('mac'/'ssid')   | AT+CIFSR (STAMAC) / AT+CWJAP?                          |
 *
 * ```ts
 * const wlan = dev.network.WLAN(dev.network.STA_IF);
 * await wlan.connect('netcoproc', 'netcoproc-pass');
 * console.log(await wlan.isconnected(), await wlan.ifconfig());
 * ```
 */
import { errno as E } from '../../firmware-protocol/index.js';
import type { NetworkModule, ScanResult, WlanInterface } from '../driver.js';
import { badArg, OSError, osError } from '../errors.js';
import { type AtChannel, type AtReply, infoLines } from './channel.js';
import type { LinkTable } from './links.js';

/** MicroPython (ESP32 port) WLAN status values. */
export const WLAN_STATUS = {
  STAT_IDLE: 1000,
  STAT_CONNECTING: 1001,
  STAT_GOT_IP: 1010,
  STAT_NO_AP_FOUND: 201,
  STAT_WRONG_PASSWORD: 202,
  STAT_ASSOC_FAIL: 203,
  STAT_HANDSHAKE_TIMEOUT: 204,
} as const;

/** `+CWSTATE:<state>` → status: 0 idle, 1 connected without IP, 2 got IP, 3 connecting, 4 disconnected. */
const CWSTATE_STATUS = [
  WLAN_STATUS.STAT_IDLE,
  WLAN_STATUS.STAT_CONNECTING,
  WLAN_STATUS.STAT_GOT_IP,
  WLAN_STATUS.STAT_CONNECTING,
  WLAN_STATUS.STAT_IDLE,
];

/** Join failure errno (errno-map.ts, CWJAP row) → status. */
const JOIN_FAILURE_STATUS: Readonly<Record<number, number>> = {
  [E.ETIMEDOUT]: WLAN_STATUS.STAT_HANDSHAKE_TIMEOUT,
  [E.EACCES]: WLAN_STATUS.STAT_WRONG_PASSWORD,
  [E.ENOENT]: WLAN_STATUS.STAT_NO_AP_FOUND,
  [E.ECONNREFUSED]: WLAN_STATUS.STAT_ASSOC_FAIL,
};

const STA_IF = 0;
const AP_IF = 1;
const STA_BIT = 1;
const NO_IP = '0.0.0.0';

/** The `network` module of an ESP-AT device. */
export function createNetworkModule(ch: AtChannel, table: LinkTable): NetworkModule {
  let station: AtWlan | undefined;
  return {
    STA_IF,
    AP_IF,
    ...WLAN_STATUS,
    WLAN(iface = STA_IF): WlanInterface {
      if (iface !== STA_IF) throw osError('EOPNOTSUPP', 'only network.STA_IF is supported over ESP-AT');
      station ??= new AtWlan(ch, table);
      return station;
    },
  };
}

class AtWlan implements WlanInterface {
  private joinFailure: number | null = null;

  constructor(
    private readonly ch: AtChannel,
    private readonly table: LinkTable,
  ) {}

  async active(flag?: boolean): Promise<boolean> {
    const reply = await this.ch.run({ name: 'CWMODE', form: 'query' });
    const mode = Number(infoLines(reply, '+CWMODE')[0]?.fields[0] ?? 0);
    if (flag === undefined) return (mode & STA_BIT) !== 0;
    const want = flag ? mode | STA_BIT : mode & ~STA_BIT;
    if (want !== mode) await this.ch.run({ name: 'CWMODE', form: 'set', params: [want] });
    return flag;
  }

  async connect(ssid: string, key: string | null = null): Promise<void> {
    if (typeof ssid !== 'string') throw badArg('TypeError', 'ssid', 'must be a str');
    this.joinFailure = null;
    try {
      await this.ch.run({ name: 'CWJAP', form: 'set', params: [ssid, key ?? ''] });
    } catch (err) {
      if (err instanceof OSError) this.joinFailure = JOIN_FAILURE_STATUS[err.errno] ?? WLAN_STATUS.STAT_ASSOC_FAIL;
      throw err;
    }
  }

  async disconnect(): Promise<void> {
    await this.ch.run({ name: 'CWQAP', form: 'execute' });
    this.table.wifi.connected = this.table.wifi.gotIp = false;
  }

  async status(): Promise<number> {
    const state = await this.cwstate();
    if (state === null) return (await this.stationIp()) !== NO_IP ? WLAN_STATUS.STAT_GOT_IP : WLAN_STATUS.STAT_IDLE;
    const status = CWSTATE_STATUS[state] ?? WLAN_STATUS.STAT_IDLE;
    return status === WLAN_STATUS.STAT_IDLE && this.joinFailure !== null ? this.joinFailure : status;
  }

  async isconnected(): Promise<boolean> {
    return (await this.status()) === WLAN_STATUS.STAT_GOT_IP;
  }

  /** [ip, netmask, gateway, dns]; with an argument, sets a static address (AT+CIPSTA=…). */
  async ifconfig(config?: readonly [string, string, string, string]): Promise<[string, string, string, string]> {
    if (config !== undefined) {
      const [ip, mask, gw] = config;
      await this.ch.run({ name: 'CIPSTA', form: 'set', params: [ip, gw, mask] });
      return [...config];
    }
    const sta = await this.tryRun(() => this.ch.run({ name: 'CIPSTA', form: 'query' }));
    const field = (name: string) => (sta ? cipstaField(sta, name) : undefined);
    const ip = field('ip') ?? (await this.stationIp());
    const dns = await this.tryRun(() => this.ch.run({ name: 'CIPDNS', form: 'query' }));
    const server = dns ? infoLines(dns, '+CIPDNS')[0]?.fields[1] : undefined;
    return [ip, field('netmask') ?? NO_IP, field('gateway') ?? NO_IP, typeof server === 'string' ? server : NO_IP];
  }

  /** [(ssid, bssid, channel, RSSI, security, hidden), …] from AT+CWLAP. */
  async scan(): Promise<ScanResult[]> {
    const reply = await this.ch.run({ name: 'CWLAP', form: 'execute' });
    return infoLines(reply, '+CWLAP').map((l) => {
      const [ecn, ssid, rssi, mac, channel] = l.fields;
      const name = Buffer.from(String(ssid ?? ''), 'utf8');
      return [
        name,
        macBytes(String(mac ?? '')),
        Number(channel ?? 0),
        Number(rssi ?? 0),
        Number(ecn ?? 0),
        name.length === 0,
      ];
    });
  }

  /** config('mac') → 6 bytes (AT+CIFSR STAMAC); config('ssid'|'essid') → the joined SSID. */
  async config(param: string): Promise<unknown> {
    if (param === 'mac') {
      const reply = await this.ch.run({ name: 'CIFSR', form: 'execute' });
      return macBytes(cifsrField(reply, 'STAMAC') ?? '');
    }
    if (param === 'ssid' || param === 'essid') {
      const reply = await this.ch.run({ name: 'CWJAP', form: 'query' });
      const ssid = infoLines(reply, '+CWJAP')[0]?.fields[0];
      return typeof ssid === 'string' ? ssid : '';
    }
    throw badArg('ValueError', 'param', `unknown config parameter '${param}'`);
  }

  /** `+CWSTATE:<n>,"ssid"`, or null on firmware without AT+CWSTATE. */
  private async cwstate(): Promise<number | null> {
    const reply = await this.tryRun(() => this.ch.run({ name: 'CWSTATE', form: 'query' }));
    const state = reply ? infoLines(reply, '+CWSTATE')[0]?.fields[0] : undefined;
    return typeof state === 'number' ? state : null;
  }

  private async stationIp(): Promise<string> {
    const reply = await this.ch.run({ name: 'CIFSR', form: 'execute' });
    return cifsrField(reply, 'STAIP') ?? NO_IP;
  }

  /** An ERROR from the firmware → null; timeouts and restarts still throw. */
  private async tryRun(f: () => Promise<AtReply>): Promise<AtReply | null> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof OSError && (err.errno === E.ETIMEDOUT || err.errno === E.ECONNRESET || err.errno === E.EIO)) {
        throw err;
      }
      return null;
    }
  }
}

/** `+CIPSTA:ip:"192.168.3.112"` → '192.168.3.112' for name 'ip'. */
function cipstaField(reply: AtReply, name: string): string | undefined {
  for (const l of infoLines(reply, '+CIPSTA')) {
    const m = /^([a-z0-9]+):"?([^"]*)"?$/.exec(l.raw);
    if (m && m[1] === name) return m[2];
  }
  return undefined;
}

/** `+CIFSR:STAIP,"192.168.3.112"` → '192.168.3.112' for key 'STAIP'. */
function cifsrField(reply: AtReply, key: string): string | undefined {
  const line = infoLines(reply, '+CIFSR').find((l) => l.fields[0] === key);
  const value = line?.fields[1];
  return typeof value === 'string' ? value : undefined;
}

/** `30:7b:ac:69:41:90` → 6 bytes (empty if malformed). */
function macBytes(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return new Uint8Array(0);
  return Uint8Array.from(parts, (p) => Number.parseInt(p, 16));
}

/**
 * Wi-Fi commands against the virtual network's access points (hosts table `wifi`):
 * AT+CWMODE, CWJAP, CWQAP, CWSTATE, CWLAP, CIFSR, CIPSTA. A fresh board has the table's
 * `autoJoin` AP stored with autoconnect on, so it is joined right after `ready`.
 *
 * Wire shapes (esp-at.md §2 Wi-Fi):
 *   AT+CWJAP="netcoproc","netcoproc-pass"  →  WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n
 *   AT+CWJAP="nope","x"                    →  +CWJAP:3\r\n\r\nERROR\r\n
 */
import { type CommandName, errCode } from '../../firmware-protocol/at/index.js';
import type { AccessPoint } from '../network/index.js';
import { isIPv4, parseCidr } from '../network/index.js';
import { type AtDevice, AtFail, badParam, type FormHandlers, fail, fields } from './context.js';

/** `+CWJAP:<code>` failure reasons. */
const JOIN_FAILURE = { timeout: 1, password: 2, notFound: 3, failed: 4 } as const;

/** Per auth mode: CWLAP `<ecn>` and the pairwise/group cipher numbers (wifi_cipher_type_t). */
const AUTH: { readonly [A in AccessPoint['auth']]: readonly [ecn: number, pairwise: number, group: number] } = {
  open: [0, 0, 0],
  wep: [1, 1, 1],
  'wpa-psk': [2, 3, 3],
  'wpa2-psk': [3, 4, 4],
  'wpa-wpa2-psk': [4, 5, 3],
  'wpa3-psk': [6, 4, 4],
  'wpa2-wpa3-psk': [7, 4, 4],
};

/** The SoftAP side exists only as addresses for AT+CIFSR (nobody can join it). */
const SOFTAP_IP = '192.168.4.1';

const hasStation = (dev: AtDevice) => dev.settings.live.wifiMode === 1 || dev.settings.live.wifiMode === 3;
const hasSoftAp = (dev: AtDevice) => dev.settings.live.wifiMode >= 2;

/** Espressif OUI plus the device address' last two bytes; the SoftAP MAC is the station's + 1. */
export function deviceMac(dev: AtDevice, iface: 'sta' | 'ap'): string {
  const [, , c, d] = dev.network.ip.split('.').map(Number) as [number, number, number, number];
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `24:0a:c4:${hex(c)}:${hex(d)}:${hex(iface === 'sta' ? 0x10 : 0x11)}`;
}

function findAp(dev: AtDevice, ssid: string, bssid?: string): AccessPoint | undefined {
  return dev.hosts.wifi.accessPoints.find(
    (ap) => ap.ssid === ssid && (bssid === undefined || ap.bssid === bssid.toLowerCase()),
  );
}

function join(dev: AtDevice, ap: AccessPoint): void {
  dev.wifi.joined = ap;
  dev.wifi.wasJoined = true;
  dev.say({ type: 'wifi', event: 'connected' }, { type: 'wifi', event: 'got-ip' });
}

/**
 * Leaves the AP: `WIFI DISCONNECT`, and every TCP link dies with `CLOSED` (lwIP aborts TCP
 * PCBs when the interface loses its address); UDP links stay.
 */
export function leave(dev: AtDevice): void {
  if (!dev.wifi.joined) return;
  dev.wifi.joined = null;
  dev.say({ type: 'wifi', event: 'disconnected' });
  for (const link of dev.links.all()) if (link.type !== 'UDP') dev.closeLink(link, true);
}

/** Autoconnect (boot, or AT+CWMODE into station mode): joins the stored AP if it is in range. */
export function autoJoin(dev: AtDevice): void {
  const stored = dev.settings.live.station;
  if (!stored || !dev.settings.live.autoConnect || !hasStation(dev) || dev.wifi.joined) return;
  const ap = findAp(dev, stored.ssid, stored.bssid ?? undefined);
  if (ap && (ap.auth === 'open' || ap.password === stored.password)) join(dev, ap);
}

/** Socket commands need an address: ERROR while the station is not joined. */
export function requireIp(dev: AtDevice): void {
  if (!dev.wifi.joined) throw fail('execFailed', 'the station has no IP address (not joined to an AP)');
}

function joinFailure(code: number, message: string): AtFail {
  return new AtFail(errCode('execFailed', code), message, [
    { type: 'info', prefix: '+CWJAP', fields: [code], raw: String(code) },
  ]);
}

async function connectTo(dev: AtDevice, ssid: string, password: string, bssid?: string): Promise<void> {
  if (!hasStation(dev)) throw fail('execFailed', 'AT+CWJAP needs station mode (AT+CWMODE=1 or 3)');
  leave(dev);
  await dev.sleep(dev.timing.joinMs);
  const ap = findAp(dev, ssid, bssid);
  if (!ap) throw joinFailure(JOIN_FAILURE.notFound, `no access point "${ssid}" in range`);
  if (ap.auth !== 'open' && ap.password !== password) throw joinFailure(JOIN_FAILURE.password, 'wrong password');
  join(dev, ap);
  dev.settings.store({ station: { ssid, password, bssid: bssid ?? null } });
}

function joinedQuery(dev: AtDevice): void {
  const ap = dev.wifi.joined;
  if (!ap) {
    dev.say({ type: 'no-ap' });
    return;
  }
  // ssid, bssid, channel, rssi, pci_en, reconn_interval, listen_interval, scan_mode, pmf
  dev.info('+CWJAP', fields(ap.ssid, ap.bssid, ap.channel, ap.rssi, 0, 1, 3, 0, 1));
}

function scan(dev: AtDevice, filter: Record<string, string | number>): void {
  if (!hasStation(dev)) throw fail('execFailed', 'AT+CWLAP needs station mode');
  for (const ap of dev.hosts.wifi.accessPoints) {
    if (filter.ssid !== undefined && ap.ssid !== filter.ssid) continue;
    if (filter.mac !== undefined && ap.bssid !== String(filter.mac).toLowerCase()) continue;
    if (filter.channel !== undefined && ap.channel !== filter.channel) continue;
    const [ecn, pairwise, group] = AUTH[ap.auth];
    dev.info('+CWLAP', `(${fields(ecn, ap.ssid, ap.rssi, ap.bssid, ap.channel, 0, 0, pairwise, group, 7, 0)})`);
  }
}

function stationAddress(dev: AtDevice): { ip: string; gateway: string; netmask: string } {
  if (!dev.wifi.joined) return { ip: '0.0.0.0', gateway: '0.0.0.0', netmask: '0.0.0.0' };
  const hosts = dev.hosts;
  return (
    dev.settings.live.staticIp ?? {
      ip: dev.network.ip,
      gateway: hosts.gateway,
      netmask: parseCidr(hosts.subnet).netmask,
    }
  );
}

function setMode(dev: AtDevice, mode: number, autoConnect: boolean): 'done' {
  dev.settings.store({ wifiMode: mode });
  dev.say({ type: 'ok' });
  if (!hasStation(dev)) leave(dev);
  else if (autoConnect) autoJoin(dev);
  return 'done';
}

/** Wi-Fi command handlers. */
export const WIFI: { readonly [N in CommandName]?: FormHandlers } = {
  CWMODE: {
    test: (dev) => dev.info('+CWMODE', '(0-3)'),
    query: (dev) => dev.info('+CWMODE', String(dev.settings.live.wifiMode)),
    set: (dev, cmd) => setMode(dev, Number(cmd.args.mode), cmd.args.auto_connect !== 0),
  },
  CWJAP: {
    query: (dev) => joinedQuery(dev),
    set: async (dev, cmd) => {
      const { ssid, pwd = '', bssid } = cmd.args as Record<string, string | undefined>;
      if (ssid === undefined) throw badParam(0, 'AT+CWJAP: <ssid> is required');
      await connectTo(dev, ssid, pwd, bssid);
    },
    execute: async (dev) => {
      const stored = dev.settings.live.station;
      if (!stored) throw joinFailure(JOIN_FAILURE.failed, 'no stored AP to join');
      await connectTo(dev, stored.ssid, stored.password, stored.bssid ?? undefined);
    },
  },
  CWQAP: {
    execute: (dev) => {
      dev.say({ type: 'ok' });
      leave(dev);
      return 'done';
    },
  },
  CWSTATE: {
    query: (dev) => {
      const ap = dev.wifi.joined;
      dev.info('+CWSTATE', ap ? fields(2, ap.ssid) : fields(dev.wifi.wasJoined ? 4 : 0, ''));
    },
  },
  CWLAP: {
    execute: (dev) => scan(dev, {}),
    set: (dev, cmd) => scan(dev, cmd.args),
  },
  CIFSR: {
    execute: (dev) => {
      if (hasSoftAp(dev)) {
        dev.info('+CIFSR', `APIP,"${SOFTAP_IP}"`);
        dev.info('+CIFSR', `APMAC,"${deviceMac(dev, 'ap')}"`);
      }
      if (hasStation(dev)) {
        dev.info('+CIFSR', `STAIP,"${stationAddress(dev).ip}"`);
        dev.info('+CIFSR', `STAMAC,"${deviceMac(dev, 'sta')}"`);
      }
    },
  },
  CIPSTA: {
    query: (dev) => {
      const a = stationAddress(dev);
      dev.info('+CIPSTA', `ip:"${a.ip}"`);
      dev.info('+CIPSTA', `gateway:"${a.gateway}"`);
      dev.info('+CIPSTA', `netmask:"${a.netmask}"`);
    },
    set: (dev, cmd) => {
      const { ip, gateway, netmask } = cmd.args as Record<string, string>;
      [ip, gateway, netmask].forEach((a, i) => {
        if (a !== undefined && !isIPv4(a)) throw badParam(i, `"${a}" is not an IPv4 address`);
      });
      const hosts = dev.hosts;
      dev.settings.store({
        staticIp: { ip: ip!, gateway: gateway ?? hosts.gateway, netmask: netmask ?? parseCidr(hosts.subnet).netmask },
      });
    },
  },
};

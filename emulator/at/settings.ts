/**
 * The emulated board's configuration: what lives in RAM and what AT+SYSSTORE=1 writes to NVS
 * (esp-at.md §2 Basic). A reboot reloads RAM from NVS; AT+RESTORE resets NVS to the factory
 * state. Handlers change settings only through {@link Settings.store} / {@link Settings.live}
 * so the persistence rule is applied in one place.
 */
import type { HostsTable } from '../network/index.js';

/** One UART setting: `AT+UART_CUR=115200,8,1,0,1`. */
export interface UartConfig {
  readonly baudrate: number;
  readonly databits: number;
  /** 1 = 1 bit, 2 = 1.5 bits, 3 = 2 bits. */
  readonly stopbits: number;
  /** 0 none, 1 odd, 2 even. */
  readonly parity: number;
  /** 0 none, 1 RTS, 2 CTS, 3 both (ESP-AT's default is 1). */
  readonly flowControl: number;
}

/** ESP-AT's factory UART: 115200 8N1, RTS flow control. */
export const DEFAULT_UART: UartConfig = { baudrate: 115200, databits: 8, stopbits: 1, parity: 0, flowControl: 1 };

/** Per-link SSL client configuration (AT+CIPSSLCCONF / CSNI / CALPN), used by AT+CIPSTART="SSL". */
export interface SslClientConfig {
  authMode: number;
  pkiNumber: number;
  caNumber: number;
  sni: string;
  alpn: string[];
}

/** Settings AT+SYSSTORE=1 persists (and UART_DEF always does). */
export interface Persisted {
  uartDef: UartConfig;
  sysstore: 0 | 1;
  sysmsg: number;
  wifiMode: number;
  /** The AP the board joins at boot when `autoConnect` (AT+CWJAP stores it). */
  station: { ssid: string; password: string; bssid: string | null } | null;
  autoConnect: boolean;
  /** AT+CIPSTA: shown by queries; the virtual network keeps routing the table's device address. */
  staticIp: { ip: string; gateway: string; netmask: string } | null;
  dns: { manual: boolean; servers: string[] };
  ipv6: boolean;
  sslc: SslClientConfig[];
  tcpOpt: { linger: number; nodelay: number; sndtimeo: number; keepAlive: number }[];
}

/** RAM-only settings, reset by every boot. */
export interface Volatile {
  echo: boolean;
  syslog: boolean;
  uartCur: UartConfig;
  mux: 0 | 1;
  /** AT+CIPMODE: 1 = passthrough. */
  cipmode: 0 | 1;
  /** AT+CIPDINFO: remote address in +IPD / +CIPRECVDATA. */
  dinfo: boolean;
  /** Passive receive per link id (AT+CIPRECVTYPE); AT+CIPRECVMODE sets all five. */
  passive: boolean[];
  /** AT+CIPSTO, seconds. */
  serverTimeout: number;
  serverMaxConn: number;
  sntp: { enabled: boolean; timezone: number; servers: string[]; synced: boolean };
}

/** Number of link ids (0–4); id 5 means "all" where documented. */
export const LINK_COUNT = 5;

const repeat = <T>(make: () => T): T[] => Array.from({ length: LINK_COUNT }, make);

/** The factory NVS of a board on this network: the table's autoJoin AP is stored, autoconnect on. */
export function factoryPersisted(hosts: HostsTable): Persisted {
  const ap = hosts.wifi.accessPoints.find((a) => a.ssid === hosts.wifi.autoJoin);
  return {
    uartDef: DEFAULT_UART,
    sysstore: 1,
    sysmsg: 0,
    wifiMode: 1,
    station: ap ? { ssid: ap.ssid, password: ap.password, bssid: null } : null,
    autoConnect: true,
    staticIp: null,
    dns: { manual: false, servers: [] },
    ipv6: false,
    sslc: repeat(() => ({ authMode: 0, pkiNumber: 0, caNumber: 0, sni: '', alpn: [] })),
    tcpOpt: repeat(() => ({ linger: -1, nodelay: 0, sndtimeo: 0, keepAlive: 0 })),
  };
}

function bootVolatile(uart: UartConfig): Volatile {
  return {
    echo: true,
    syslog: false,
    uartCur: uart,
    mux: 0,
    cipmode: 0,
    dinfo: false,
    passive: repeat(() => false),
    serverTimeout: 180,
    serverMaxConn: LINK_COUNT,
    sntp: { enabled: false, timezone: 0, servers: [], synced: false },
  };
}

/**
 * Both copies of the configuration.
 *
 * @example
 * const s = new Settings(hosts);
 * s.store({ sysmsg: 3 });   // RAM, and NVS too while AT+SYSSTORE is 1
 * s.boot();                 // what a reboot keeps: sysmsg is still 3
 */
export class Settings {
  private nvs: Persisted;
  /** The configuration in effect now. */
  live: Persisted & Volatile;

  constructor(private readonly hosts: HostsTable) {
    this.nvs = factoryPersisted(hosts);
    this.live = this.loaded();
  }

  /** Changes persisted settings in RAM, and in NVS while SYSSTORE is 1 (the new value counts). */
  store(patch: Partial<Persisted>): void {
    Object.assign(this.live, structuredClone(patch));
    if (this.live.sysstore === 1 || 'sysstore' in patch) Object.assign(this.nvs, structuredClone(patch));
  }

  /** Writes NVS whatever SYSSTORE says (UART_DEF, CWAUTOCONN). */
  storeAlways(patch: Partial<Persisted>): void {
    Object.assign(this.live, structuredClone(patch));
    Object.assign(this.nvs, structuredClone(patch));
  }

  /** A reboot: RAM comes back from NVS. */
  boot(): void {
    this.live = this.loaded();
  }

  /** AT+RESTORE: NVS back to factory, and Wi-Fi credentials erased as on a real board. */
  restore(): void {
    this.nvs = { ...factoryPersisted(this.hosts), station: null };
  }

  private loaded(): Persisted & Volatile {
    const nvs = structuredClone(this.nvs);
    return { ...nvs, ...bootVolatile(nvs.uartDef) };
  }
}

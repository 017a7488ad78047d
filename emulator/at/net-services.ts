/**
 * Network services and socket options (esp-at.md §2): AT+CIPDOMAIN, CIPDNS, PING, CIPSNTPCFG,
 * CIPSNTPTIME, CIPV6, CIPTCPOPT.
 *
 *   AT+CIPDOMAIN="echo.test"  →  +CIPDOMAIN:"10.77.0.7"\r\n\r\nOK\r\n
 *   AT+PING="echo.test"       →  +PING:3\r\n\r\nOK\r\n   |   +PING:TIMEOUT\r\n\r\nERROR\r\n
 *   AT+CIPSNTPTIME?           →  +CIPSNTPTIME:Thu Jan  1 00:00:12 1970\r\n\r\nOK\r\n  (before a sync)
 */
import { type CommandName, errCode } from '../../firmware-protocol/at/index.js';
import { isIPv4 } from '../network/index.js';
import {
  type AtCommand,
  type AtDevice,
  AtFail,
  badParam,
  type FormHandlers,
  fail,
  fields,
  Superseded,
} from './context.js';
import { LINK_COUNT } from './settings.js';
import { requireIp } from './wifi.js';

/** ESP-AT's DNS fallbacks when AT+CIPDNS=1 names none. */
const FALLBACK_DNS = ['208.67.222.222', '114.114.114.114', '8.8.8.8'];
/** ESP-AT's default SNTP servers. */
const DEFAULT_SNTP = ['cn.ntp.org.cn', 'ntp.sjtu.edu.cn', 'us.pool.ntp.org'];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** C asctime() without the newline: `Tue Oct 19 17:47:56 2021`, `Thu Jan  1 00:00:00 1970`. */
export function asctime(ms: number): string {
  const d = new Date(ms);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day} ${time} ${d.getUTCFullYear()}`;
}

/** Timezone `-12..14` (hours) or `±hhmm` → minutes east of UTC, or null if invalid. */
export function timezoneMinutes(tz: number): number | null {
  if (tz >= -12 && tz <= 14) return tz * 60;
  const sign = tz < 0 ? -1 : 1;
  const hh = Math.trunc(Math.abs(tz) / 100);
  const mm = Math.abs(tz) % 100;
  if (mm >= 60 || sign * hh < -12 || sign * hh > 14) return null;
  return sign * (hh * 60 + mm);
}

/** Version gate for the trailing `<timeout>` (v4.1+) and `<show_all_ip>` (master only). */
function checkDomainParams(dev: AtDevice, cmd: AtCommand): void {
  const extra =
    cmd.args.show_all_ip !== undefined || (!dev.traits.connectTimeoutParam && cmd.args.timeout !== undefined);
  if (!extra) return;
  const given = cmd.params.length;
  throw new AtFail(
    errCode('paramCount', ((given - 1) << 8) | given),
    'AT+CIPDOMAIN: too many parameters for this version',
  );
}

async function domain(dev: AtDevice, cmd: AtCommand): Promise<void> {
  checkDomainParams(dev, cmd);
  requireIp(dev);
  if (cmd.args.ip_network === 3) throw fail('execFailed', 'IPv6 is not emulated');
  const name = String(cmd.args.domain);
  const ips = await dev.guard(dev.network.resolve(name)).catch((err: unknown) => {
    if (err instanceof Superseded) throw err;
    throw fail('execFailed', `cannot resolve ${name}`);
  });
  dev.info('+CIPDOMAIN', fields(ips[0]!));
}

/** Who answers a ping: loopback, the board itself, the gateway, and table hosts that are not black holes. */
function answersPing(dev: AtDevice, ip: string): boolean {
  const hosts = dev.hosts;
  if (ip.startsWith('127.') || ip === dev.network.ip || ip === hosts.gateway) return true;
  return Object.values(hosts.hosts).some((h) => h.ip === ip && h.closedPorts !== 'drop');
}

async function ping(dev: AtDevice, host: string): Promise<void> {
  requireIp(dev);
  let ip: string;
  try {
    [ip = ''] = await dev.guard(dev.network.resolve(host));
  } catch (err) {
    if (err instanceof Superseded) throw err;
    throw fail('execFailed', `cannot resolve ${host}`);
  }
  if (!answersPing(dev, ip)) {
    await dev.sleep(dev.timing.pingTimeoutMs);
    throw new AtFail(errCode('execFailed'), `${host} does not answer`, [
      { type: 'info', prefix: '+PING', fields: ['TIMEOUT'], raw: 'TIMEOUT' },
    ]);
  }
  const ms = 1 + Math.floor(dev.random.next() * 9);
  await dev.sleep(ms);
  dev.info('+PING', String(ms));
}

function setDns(dev: AtDevice, cmd: AtCommand): void {
  const servers = [cmd.args.dns_server, cmd.args.dns_server2, cmd.args.dns_server3]
    .filter((s) => s !== undefined)
    .map(String);
  servers.forEach((s, i) => {
    if (!isIPv4(s)) throw badParam(i + 1, `DNS server "${s}" is not an IPv4 address`);
  });
  if (new Set(servers).size !== servers.length) throw fail('execFailed', 'the DNS servers must differ');
  const manual = cmd.args.enable === 1;
  dev.settings.store({ dns: { manual, servers: manual ? (servers.length ? servers : FALLBACK_DNS) : [] } });
}

function dnsQuery(dev: AtDevice): void {
  const { manual, servers } = dev.settings.live.dns;
  const shown = manual ? servers : [dev.hosts.gateway]; // DHCP hands out the gateway
  dev.info('+CIPDNS', fields(manual ? 1 : 0, ...shown));
}

function setSntp(dev: AtDevice, cmd: AtCommand): 'done' {
  const tz = Number(cmd.args.timezone ?? 0);
  if (timezoneMinutes(tz) === null) throw badParam(1, `timezone ${tz} is not -12..14 or ±hhmm`);
  const named = [cmd.args.server1, cmd.args.server2, cmd.args.server3].filter((s) => s !== undefined).map(String);
  const enabled = cmd.args.enable === 1;
  dev.settings.live.sntp = { enabled, timezone: tz, servers: named.length ? named : DEFAULT_SNTP, synced: false };
  dev.say({ type: 'ok' });
  if (enabled && dev.wifi.joined) {
    // The virtual network's "NTP server" is the host clock; the sync lands a little later, as a URC.
    dev.sleep(dev.timing.sntpSyncMs).then(
      () => {
        dev.settings.live.sntp.synced = dev.settings.live.sntp.enabled;
        if (dev.settings.live.sntp.synced) dev.info('+TIME_UPDATED', '');
      },
      () => undefined,
    );
  }
  return 'done';
}

function sntpTime(dev: AtDevice): void {
  const { synced, timezone } = dev.settings.live.sntp;
  const ms = synced ? Date.now() + (timezoneMinutes(timezone) ?? 0) * 60_000 : dev.uptimeMs;
  dev.info('+CIPSNTPTIME', asctime(ms));
}

const tcpOptIds = (dev: AtDevice, id: number) =>
  id === LINK_COUNT ? Array.from({ length: LINK_COUNT }, (_, i) => i) : [dev.settings.live.mux === 1 ? id : 0];

/** Network service handlers. */
export const NET_SERVICES: { readonly [N in CommandName]?: FormHandlers } = {
  CIPDOMAIN: { set: (dev, cmd) => domain(dev, cmd) },
  CIPDNS: { query: dnsQuery, set: setDns },
  PING: { set: (dev, cmd) => ping(dev, String(cmd.args.host)) },
  CIPSNTPCFG: {
    query: (dev) => {
      const s = dev.settings.live.sntp;
      dev.info('+CIPSNTPCFG', s.enabled ? fields(1, s.timezone, ...s.servers) : fields(0, s.timezone));
    },
    set: setSntp,
  },
  CIPSNTPTIME: { query: sntpTime },
  CIPV6: {
    query: (dev) => dev.info('+CIPV6', dev.settings.live.ipv6 ? '1' : '0'),
    set: (dev, cmd) => dev.settings.store({ ipv6: cmd.args.enable === 1 }),
  },
  CIPTCPOPT: {
    query: (dev) => {
      dev.settings.live.tcpOpt.forEach((o, id) => {
        dev.info('+CIPTCPOPT', fields(id, o.linger, o.nodelay, o.sndtimeo, o.keepAlive));
      });
    },
    set: (dev, cmd) => {
      const a = cmd.args as Record<string, number | undefined>;
      const tcpOpt = structuredClone(dev.settings.live.tcpOpt);
      for (const id of tcpOptIds(dev, a.link_id ?? 0)) {
        const o = tcpOpt[id]!;
        tcpOpt[id] = {
          linger: a.so_linger ?? o.linger,
          nodelay: a.tcp_nodelay ?? o.nodelay,
          sndtimeo: a.so_sndtimeo ?? o.sndtimeo,
          keepAlive: a.keep_alive ?? o.keepAlive,
        };
      }
      dev.settings.store({ tcpOpt });
    },
  },
};

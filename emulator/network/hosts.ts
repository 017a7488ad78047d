/**
 * The hosts table of the offline virtual network: subnet, the device's own address, the Wi-Fi
 * access points, and the virtual hosts with the service behind each port. Loaded from JSON and
 * validated by a zod schema; the default table is `fixtures/hosts.json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, describeIssue } from '../config-error.js';
import { isHostInSubnet, parseCidr } from './ipv4.js';

/** Services a virtual host can run on a TCP port. 'https' is served by the TLS part when registered. */
export const TCP_SERVICE_KINDS = ['echo', 'http', 'https'] as const;
/** Services a virtual host can run on a UDP port. */
export const UDP_SERVICE_KINDS = ['echo'] as const;
export type TcpServiceKind = (typeof TCP_SERVICE_KINDS)[number];
export type UdpServiceKind = (typeof UDP_SERVICE_KINDS)[number];

/** Wi-Fi authentication modes an emulated access point may advertise (ESP-AT `ecn` names). */
export const WIFI_AUTH_MODES = [
  'open',
  'wep',
  'wpa-psk',
  'wpa2-psk',
  'wpa-wpa2-psk',
  'wpa3-psk',
  'wpa2-wpa3-psk',
] as const;

const portKey = z
  .string()
  .regex(/^[1-9]\d{0,4}$/, 'port must be a decimal number 1..65535')
  .refine((p) => Number(p) <= 65535, 'port must be 1..65535');
const hostName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'host names are lower-case DNS names like "echo.test"',
  );

const hostSchema = z.strictObject({
  ip: z.ipv4(),
  /** What a TCP connect to a port without a service gets: 'refuse' = RST (ECONNREFUSED), 'drop' = no answer ever. */
  closedPorts: z.enum(['refuse', 'drop']).default('refuse'),
  tcp: z.record(portKey, z.enum(TCP_SERVICE_KINDS)).default({}),
  udp: z.record(portKey, z.enum(UDP_SERVICE_KINDS)).default({}),
});

const accessPointSchema = z.strictObject({
  ssid: z.string().min(1).max(32),
  password: z.string().max(63),
  auth: z.enum(WIFI_AUTH_MODES),
  bssid: z
    .string()
    .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'bssid must look like "02:00:4e:43:50:01" (lower-case hex)'),
  channel: z.int().min(1).max(14),
  rssi: z.int().min(-100).max(0),
});

const tableSchema = z
  .strictObject({
    $comment: z.string().optional(),
    subnet: z.cidrv4(),
    gateway: z.ipv4(),
    device: z.ipv4(),
    wifi: z.strictObject({ autoJoin: z.string().nullable(), accessPoints: z.array(accessPointSchema).min(1) }),
    hosts: z.record(hostName, hostSchema),
  })
  .superRefine((t, ctx) => {
    const subnet = parseCidr(t.subnet);
    const seen = new Map<string, string>();
    const claim = (ip: string, owner: string, path: PropertyKey[]) => {
      if (!isHostInSubnet(ip, subnet))
        ctx.addIssue({ code: 'custom', path, message: `${ip} is not a host address in subnet ${t.subnet}` });
      const other = seen.get(ip);
      if (other) ctx.addIssue({ code: 'custom', path, message: `${ip} is already used by ${other}` });
      seen.set(ip, owner);
    };
    claim(t.gateway, 'gateway', ['gateway']);
    claim(t.device, 'device', ['device']);
    for (const [name, host] of Object.entries(t.hosts)) claim(host.ip, name, ['hosts', name, 'ip']);
    checkWifi(t.wifi, ctx);
  });

type WifiInput = z.infer<typeof tableSchema>['wifi'];

// Passwords follow 802.11: an open AP has none, WEP/WPA need one of valid length.
function checkWifi(wifi: WifiInput, ctx: z.RefinementCtx): void {
  wifi.accessPoints.forEach((ap, i) => {
    const path = ['wifi', 'accessPoints', i, 'password'];
    if (ap.auth === 'open' && ap.password !== '')
      ctx.addIssue({ code: 'custom', path, message: 'an open access point has an empty password' });
    if (ap.auth !== 'open' && ap.password.length < 8)
      ctx.addIssue({ code: 'custom', path, message: `${ap.auth} needs a password of 8..63 characters` });
  });
  if (wifi.autoJoin !== null && !wifi.accessPoints.some((ap) => ap.ssid === wifi.autoJoin)) {
    ctx.addIssue({
      code: 'custom',
      path: ['wifi', 'autoJoin'],
      message: `no access point has ssid "${wifi.autoJoin}"`,
    });
  }
}

/** A validated hosts table (defaults filled in). */
export type HostsTable = z.output<typeof tableSchema>;
/** What a hosts file may contain before defaults are applied. */
export type HostsTableInput = z.input<typeof tableSchema>;
/** One virtual host's entry. */
export type VirtualHost = HostsTable['hosts'][string];
/** One emulated Wi-Fi access point. */
export type AccessPoint = HostsTable['wifi']['accessPoints'][number];

/** A hosts table that failed validation; `issues` lists one `path: problem` line per fault. */
export class HostsTableError extends ConfigError {
  constructor(source: string, issues: readonly string[]) {
    super('hosts table', source, issues);
    this.name = 'HostsTableError';
  }
}

/**
 * Validates a hosts table given as a value (e.g. parsed JSON or built in a test).
 *
 * @example parseHostsTable(JSON.parse(text), 'my-hosts.json').hosts['echo.test'].ip
 * @throws HostsTableError naming each bad field, e.g. `hosts["echo.test"].ip: Invalid IPv4 address`
 */
export function parseHostsTable(value: unknown, source = '(value)'): HostsTable {
  const result = tableSchema.safeParse(value);
  if (result.success) return result.data;
  throw new HostsTableError(source, result.error.issues.map(describeIssue));
}

// A bad record key (port, host name) reports "Invalid key in record"; the reason is one level down.

/** The JSON value of a hosts file; unreadable files and bad JSON fail as HostsTableError. */
function readHostsJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HostsTableError(path, [`cannot read file: ${(err as Error).message}`]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HostsTableError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
}

/**
 * Reads and validates a JSON hosts file.
 *
 * @example const table = loadHostsFile('fixtures/hosts.json');
 * @throws HostsTableError for unreadable files, bad JSON, or schema violations.
 */
export function loadHostsFile(path: string): HostsTable {
  return parseHostsTable(readHostsJson(path), path);
}

// Works from the sources (emulator/network/) and from the build (dist/emulator/network/).
const DEFAULT_CANDIDATES = ['../../fixtures/hosts.json', '../../../fixtures/hosts.json'];

/** Path of the default hosts table, `fixtures/hosts.json` in the package. */
export function defaultHostsPath(): string {
  const paths = DEFAULT_CANDIDATES.map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return paths.find((p) => existsSync(p)) ?? paths[0]!;
}

/**
 * The package's own table with hostSchema's defaults filled in, read without running the schema:
 * validating it cost every emulator start (`netcoproc emulate` must print `listening` within
 * 300 ms, docs/package.md) about a tenth of its CPU, zod's first parse being the dearest. The file is
 * ours and is checked by hosts.test.ts, which asserts this equals loadHostsFile's result;
 * a user's table (--config, `hosts`) always goes through the schema.
 */
function readDefaultTable(path: string): HostsTable {
  const table = readHostsJson(path) as HostsTableInput;
  const hosts: Record<string, VirtualHost> = {};
  for (const [name, host] of Object.entries(table.hosts))
    hosts[name] = { closedPorts: 'refuse', tcp: {}, udp: {}, ...host };
  return { ...table, hosts };
}

let cachedDefault: HostsTable | undefined;

/** The default hosts table, read once; each caller gets its own copy to change freely. */
export function defaultHostsTable(): HostsTable {
  cachedDefault ??= readDefaultTable(defaultHostsPath());
  return structuredClone(cachedDefault);
}

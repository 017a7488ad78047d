/**
 * Where an address leads on the virtual network, and what names resolve to. One place decides
 * this for TCP and UDP alike, so both agree on what is reachable.
 */
import type { HostsTable, VirtualHost } from './hosts.js';
import { intToIp, isHostInSubnet, isIPv4, isLoopback, parseCidr, type Subnet } from './ipv4.js';

/**
 * The kinds of destination:
 * - loopback: 127.0.0.0/8, the machine's real loopback (tests run their own peers there)
 * - device:   an emulated board's address (several boards can share one network)
 * - host:     a virtual host of the table (the gateway counts as one without services)
 * - subnet:   an unused address of the virtual subnet, nobody answers
 * - outside:  anything else; the virtual network has no route beyond its subnet
 */
export type Destination =
  | { readonly kind: 'loopback' }
  | { readonly kind: 'device'; readonly ip: string }
  | { readonly kind: 'host'; readonly name: string; readonly host: VirtualHost }
  | { readonly kind: 'subnet' }
  | { readonly kind: 'outside' };

/**
 * Address and name lookups over a validated hosts table.
 *
 * @example new Router(table).classify('10.77.0.7')  // { kind: 'host', name: 'echo.test', host: {...} }
 */
export class Router {
  private readonly byName = new Map<string, VirtualHost>();
  private readonly byIp = new Map<string, { name: string; host: VirtualHost }>();
  private readonly subnet: Subnet;
  /** Addresses of the boards attached to the network (the table's `device` is the first). */
  private readonly devices = new Set<string>();

  constructor(private readonly table: HostsTable) {
    this.subnet = parseCidr(table.subnet);
    for (const [name, host] of Object.entries(table.hosts)) {
      this.byName.set(name, host);
      this.byIp.set(host.ip, { name, host });
    }
    const gateway: VirtualHost = { ip: table.gateway, closedPorts: 'refuse', tcp: {}, udp: {} };
    this.byIp.set(table.gateway, { name: 'gateway', host: gateway });
  }

  /** The emulated board's own address. */
  get deviceIp(): string {
    return this.table.device;
  }

  /** Where `ip` (a dotted quad) leads. */
  classify(ip: string): Destination {
    if (isLoopback(ip)) return { kind: 'loopback' };
    if (ip === this.table.device || this.devices.has(ip)) return { kind: 'device', ip };
    const entry = this.byIp.get(ip);
    if (entry) return { kind: 'host', ...entry };
    return isIPv4(ip) && isHostInSubnet(ip, this.subnet) ? { kind: 'subnet' } : { kind: 'outside' };
  }

  /**
   * Gives a newly attached board its address: the table's `device` first, then the next subnet
   * address that no host, gateway or other board uses.
   */
  allocateDevice(): string {
    const candidates = [this.table.device];
    const base = this.subnet.network;
    for (let i = 2; i < 2 ** (32 - this.subnet.prefix) - 1; i++) candidates.push(intToIp(base + i));
    for (const ip of candidates) {
      if (this.devices.has(ip) || (ip !== this.table.device && this.byIp.has(ip))) continue;
      this.devices.add(ip);
      return ip;
    }
    throw new Error(`no free address left in ${this.table.subnet}`);
  }

  releaseDevice(ip: string): void {
    this.devices.delete(ip);
  }

  /** The virtual address of a table name (case-insensitive, trailing dot allowed), or undefined. */
  lookupName(name: string): string | undefined {
    return this.byName.get(normalizeName(name))?.ip;
  }
}

/** `normalizeName('Echo.Test.')` → 'echo.test'. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

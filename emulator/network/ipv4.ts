/** IPv4 address arithmetic for the virtual network: dotted quads <-> 32-bit unsigned numbers. */

const DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a canonical dotted-quad literal: `isIPv4('10.77.0.7')` → true, `'10.077.0.7'` → false. */
export function isIPv4(s: string): boolean {
  return DOTTED.test(s);
}

/** `ipToInt('10.77.0.7')` → 0x0a4d0007. The input must satisfy `isIPv4`. */
export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** `intToIp(0x0a4d0007)` → '10.77.0.7'. */
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** A parsed `a.b.c.d/len` block. */
export interface Subnet {
  readonly network: number;
  readonly prefix: number;
  readonly netmask: string;
  readonly broadcast: number;
}

/** `parseCidr('10.77.0.0/24')` → network 0x0a4d0000, netmask '255.255.255.0'. Host bits are cleared. */
export function parseCidr(cidr: string): Subnet {
  const [ip = '', len = ''] = cidr.split('/');
  const prefix = Number(len);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ipToInt(ip) & mask) >>> 0;
  return { network, prefix, netmask: intToIp(mask), broadcast: (network | ~mask) >>> 0 };
}

/** True if `ip` lies inside `subnet` and is neither its network nor its broadcast address. */
export function isHostInSubnet(ip: string, subnet: Subnet): boolean {
  const n = ipToInt(ip);
  const mask = ipToInt(subnet.netmask);
  return (n & mask) >>> 0 === subnet.network && n !== subnet.network && n !== subnet.broadcast;
}

/** True for 127.0.0.0/8: traffic there stays on this machine, so the virtual network may use it. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') && isIPv4(ip);
}

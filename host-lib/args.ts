/** Argument checks shared by the MicroPython-style modules: clear TypeError/ValueError naming the argument. */
import { parseIp } from '../firmware-protocol/index.js';
import type { SockAddr } from './driver.js';
import { badArg } from './errors.js';

const utf8 = new TextEncoder();

/** bytes-like: Uint8Array (Buffer included) or str (UTF-8, as MicroPython's buffer protocol allows). */
export function toBytes(value: unknown, arg = 'data'): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return utf8.encode(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw badArg('TypeError', arg, 'object with buffer protocol required');
}

export function toInt(value: unknown, arg: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw badArg('TypeError', arg, `expected an int, got ${describe(value)}`);
  return value;
}

export function toSockAddr(value: unknown, arg = 'address'): SockAddr {
  if (!Array.isArray(value) || value.length !== 2) throw badArg('TypeError', arg, 'expected a [host, port] tuple');
  const [host, port] = value as unknown[];
  if (typeof host !== 'string') throw badArg('TypeError', `${arg}[0]`, 'host must be a str');
  const p = toInt(port, `${arg}[1]`);
  if (p < 0 || p > 65535) throw badArg('ValueError', `${arg}[1]`, 'port must be 0-65535');
  return [host, p];
}

export function isIpLiteral(host: string): boolean {
  return parseIp(host) !== undefined;
}

function describe(v: unknown): string {
  return v === null ? 'None' : Array.isArray(v) ? 'list' : typeof v;
}

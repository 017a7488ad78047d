/**
 * Opens the byte link to a coprocessor from a pyserial-style locator: a device path
 * (serialport), `socket://host:port` (raw TCP), or an already open Duplex (in-process).
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import { fixSerialPoller } from './serial/poller-fix.js';

export interface SerialOptions {
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  stopBits?: 1 | 1.5 | 2;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  rtscts?: boolean;
  /** Deadline for opening the link, ms (default 5000). */
  openTimeoutMs?: number;
}

/** Opens the link; rejects with a clear message on a bad locator or when the port cannot be opened in time. */
export async function openTransport(locator: string | Duplex, opts: SerialOptions = {}): Promise<Duplex> {
  if (typeof locator !== 'string') return locator;
  const timeout = opts.openTimeoutMs ?? 5000;
  if (locator.startsWith('socket://')) return openTcp(locator, timeout);
  if (locator.startsWith('rfc2217://')) throw new Error(`rfc2217:// is not supported yet: ${locator}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(locator) || locator === '') throw new Error(`unknown locator '${locator}' (expected a device path, socket://host:port or emulator:)`);
  return openSerial(locator, opts, timeout);
}

function openTcp(locator: string, timeoutMs: number): Promise<Duplex> {
  const url = new URL(locator);
  const port = Number(url.port);
  if (!url.hostname || !port) throw new Error(`socket:// needs host and port: ${locator}`);
  return withDeadline(
    new Promise((resolve, reject) => {
      const s = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    }),
    timeoutMs,
    `connecting to ${locator}`,
  );
}

function openSerial(path: string, opts: SerialOptions, timeoutMs: number): Promise<Duplex> {
  fixSerialPoller();
  return withDeadline(
    new Promise((resolve, reject) => {
      const port = new SerialPort(
        {
          path,
          baudRate: opts.baudRate ?? 115200,
          dataBits: opts.dataBits ?? 8,
          stopBits: opts.stopBits ?? 1,
          parity: opts.parity ?? 'none',
          rtscts: opts.rtscts ?? false,
          autoOpen: false,
        },
      );
      port.open((err) => (err ? reject(new Error(`cannot open serial port ${path}: ${err.message}`)) : resolve(port)));
    }),
    timeoutMs,
    `opening ${path}`,
  );
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
    }),
  ]);
}

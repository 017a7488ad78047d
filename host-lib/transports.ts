/**
 * Opens the byte link to a coprocessor from a pyserial-style locator: a device path
 * (serialport), `socket://host:port` (raw TCP), `rfc2217://host:port` (telnet COM-PORT-OPTION,
 * see transports/rfc2217.ts), or an already open Duplex (in-process).
 */
import { connect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import { badArg } from './errors.js';
import { fixSerialPoller } from './serial/poller-fix.js';
import { syncSerialIo } from './serial/sync-io.js';
import { openFailure } from './transports/open-error.js';
import { openRfc2217, Rfc2217Link } from './transports/rfc2217.js';
import { setSerialLines } from './transports/serial-ports.js';

export { type ModemLines, Rfc2217Link } from './transports/rfc2217.js';
export { listSerialPorts, type SerialPortInfo } from './transports/serial-ports.js';

/**
 * Whether `stream` is done with an array once its write calls back, the kernel holding a copy: a
 * serial port, a TCP socket (TLS included). The SLIP client then reuses its wire bytes (rpc-client.ts).
 */
export function copiesWrites(stream: Duplex): boolean {
  return stream instanceof SerialPort || stream instanceof Socket;
}

export interface SerialOptions {
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  stopBits?: 1 | 1.5 | 2;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  rtscts?: boolean;
  /** Deadline for opening the link, ms (default 5000). */
  openTimeoutMs?: number;
}

/**
 * Opens the link. A bad locator is a ValueError naming it; a link that cannot be opened (in time)
 * is an OSError (ENOENT, EACCES, EBUSY, ENOTTY, ECONNREFUSED, ETIMEDOUT, ...) whose message names it.
 */
export async function openTransport(locator: string | Duplex, opts: SerialOptions = {}): Promise<Duplex> {
  if (typeof locator !== 'string') return locator;
  const timeout = opts.openTimeoutMs ?? 5000;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(locator) && !/^(socket|rfc2217):\/\//.test(locator)) {
    throw badArg(
      'ValueError',
      'locator',
      `unknown locator '${locator}' (expected a device path, socket://host:port, rfc2217://host:port or emulator:)`,
    );
  }
  if (locator === '') throw badArg('ValueError', 'locator', 'empty (expected a device path or socket://host:port)');
  try {
    if (locator.startsWith('socket://')) return await openTcp(locator, timeout);
    if (locator.startsWith('rfc2217://')) return await openRfc2217(locator, { ...opts, openTimeoutMs: timeout });
    return await openSerial(locator, opts, timeout);
  } catch (err) {
    throw isBadLocator(err) ? err : openFailure(locator, err);
  }
}

/** `socket://` without a port and the like: the caller's mistake, not the link's. */
function isBadLocator(err: unknown): boolean {
  return err instanceof TypeError || (err instanceof Error && err.name === 'ValueError');
}

/**
 * Sets DTR/RTS on a link that has modem lines: an `rfc2217://` link or a real serial port.
 * A pty has none (ENOTTY) and `socket://` is a plain byte stream: both reject with a clear message.
 *
 * ```ts
 * const link = await openTransport('rfc2217://127.0.0.1:41235');
 * await setModemLines(link, { dtr: false, rts: true });   // hold an ESP32 in reset
 * ```
 */
export function setModemLines(link: Duplex, lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
  if (link instanceof Rfc2217Link) return link.setControl(lines);
  if (link instanceof SerialPort) return setSerialLines(link, lines);
  return Promise.reject(new Error('this link has no modem lines (socket:// is a plain byte stream; use rfc2217://)'));
}

/** Closes a transport; for a serial port, waits until its fd and lock are gone so it can be reopened at once. */
export async function closeTransport(link: Duplex): Promise<void> {
  if (link instanceof SerialPort && link.isOpen) {
    await new Promise<void>((resolve) => link.close(() => resolve()));
    return;
  }
  link.end();
  link.destroy();
}

/** Makes the local end of the line follow a speed change the device already made (none over socket://). */
export async function followBaudRate(link: Duplex, baudRate: number): Promise<void> {
  if (link instanceof SerialPort) {
    await new Promise<void>((resolve, reject) => link.update({ baudRate }, (err) => (err ? reject(err) : resolve())));
  } else if (link instanceof Rfc2217Link) await link.setBaud(baudRate);
}

/**
 * esptool's classic hard reset through the modem lines (the ESP auto-reset circuit: RTS holds EN
 * low while DTR is released, then RTS lets go); RFC 2217 does it in one server-side pulse.
 */
export async function pulseReset(link: Duplex, pulseMs: number): Promise<void> {
  if (link instanceof Rfc2217Link) return link.pulseReset(pulseMs);
  await setModemLines(link, { dtr: false, rts: true });
  await new Promise((r) => setTimeout(r, pulseMs));
  await setModemLines(link, { dtr: false, rts: false });
}

function openTcp(locator: string, timeoutMs: number): Promise<Duplex> {
  const url = new URL(locator);
  const port = Number(url.port);
  if (!url.hostname || !port) throw badArg('ValueError', 'locator', `socket:// needs host and port: ${locator}`);
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
  syncSerialIo();
  return withDeadline(
    new Promise((resolve, reject) => {
      const port = new SerialPort({
        path,
        baudRate: opts.baudRate ?? 115200,
        dataBits: opts.dataBits ?? 8,
        stopBits: opts.stopBits ?? 1,
        parity: opts.parity ?? 'none',
        rtscts: opts.rtscts ?? false,
        autoOpen: false,
      });
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

/**
 * Real serial ports: listing them where udev is missing (containers, minimal images), and
 * setting modem lines with a clear message where a port has none (a pty answers ENOTTY).
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SerialPort } from 'serialport';

/** What `SerialPort.list()` reports per port. */
export type SerialPortInfo = Awaited<ReturnType<typeof SerialPort.list>>[number];

/** USB-UARTs and CDC-ACM boards, always; ttyS only when the kernel found a UART behind it. */
const DEVICE_NAME = /^tty(USB|ACM|S)\d+$/;

/**
 * Lists serial ports. serialport asks `udevadm`, which many containers lack (`spawn udevadm
 * ENOENT`); then the list comes from `/dev` and the `/dev/serial/by-id` links instead.
 *
 * @example
 * ```ts
 * for (const p of await listSerialPorts()) console.log(p.path, p.pnpId ?? '');
 * // /dev/ttyUSB0 usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0
 * ```
 */
export async function listSerialPorts(devDir = '/dev', sysDir = '/sys/class/tty'): Promise<SerialPortInfo[]> {
  try {
    return await SerialPort.list();
  } catch {
    return scanDev(devDir, sysDir);
  }
}

/** The fallback: `/dev/tty{USB,ACM,S}N` plus whatever `/dev/serial/by-id` points at, by-id names as pnpId. */
export async function scanDev(devDir = '/dev', sysDir = '/sys/class/tty'): Promise<SerialPortInfo[]> {
  const byPath = new Map<string, SerialPortInfo>();
  for (const name of (await readdir(devDir).catch(() => [] as string[])).sort(naturalOrder)) {
    if (DEVICE_NAME.test(name) && (await hasUart(sysDir, name)))
      byPath.set(join(devDir, name), info(join(devDir, name)));
  }
  const byId = join(devDir, 'serial', 'by-id');
  for (const link of await readdir(byId).catch(() => [] as string[])) {
    const target = await realpath(join(byId, link)).catch(() => null);
    if (target) byPath.set(target, { ...(byPath.get(target) ?? info(target)), pnpId: link });
  }
  return [...byPath.values()];
}

function info(path: string): SerialPortInfo {
  return {
    path,
    manufacturer: undefined,
    serialNumber: undefined,
    pnpId: undefined,
    locationId: undefined,
    vendorId: undefined,
    productId: undefined,
  };
}

/** ttyS0..31 exist on most PCs whether or not a UART does; sysfs `type` 0 (PORT_UNKNOWN) means none. */
async function hasUart(sysDir: string, name: string): Promise<boolean> {
  if (!name.startsWith('ttyS')) return true;
  const type = await readFile(join(sysDir, name, 'type'), 'utf8').catch(() => null);
  return type === null || type.trim() !== '0';
}

function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * Sets DTR/RTS on an open serialport port. A pty (and some adapters) have no modem lines: the
 * ioctl fails with ENOTTY, reported here with what to use instead.
 */
export function setSerialLines(port: SerialPort, lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    port.set(lines, (err) => {
      if (!err) return resolve();
      const enotty = /ENOTTY|Inappropriate ioctl/i.test(err.message);
      const what = `cannot set modem lines (${describe(lines)}) on ${basename(port.path)}`;
      reject(
        new Error(
          enotty
            ? `${what}: the port has no DTR/RTS (ENOTTY — a pseudo-terminal?); use the emulator's rfc2217:// port to drive reset lines`
            : `${what}: ${err.message}`,
        ),
      );
    });
  });
}

function describe(lines: { dtr?: boolean; rts?: boolean }): string {
  return Object.entries(lines)
    .map(([k, v]) => `${k.toUpperCase()} ${v ? 'on' : 'off'}`)
    .join(', ');
}

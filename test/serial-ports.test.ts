/**
 * Real-serial options: listing ports without udev, and modem lines on a port that has none
 * (a real pty from the emulator, opened with serialport as a user would).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator/index.js';
import { openPty } from '../emulator/transports/index.js';
import { scanDev } from '../host-lib/transports/serial-ports.js';
import { listSerialPorts, openTransport, setModemLines } from '../index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A fake /dev and /sys/class/tty: ttyS0 has a UART (type 4), ttyS1 is a phantom (type 0). */
async function fakeTree(): Promise<{ dev: string; sys: string }> {
  const root = await mkdtemp(join(tmpdir(), 'netcoproc-serial-'));
  dirs.push(root);
  const dev = join(root, 'dev');
  const sys = join(root, 'sys');
  await mkdir(join(dev, 'serial', 'by-id'), { recursive: true });
  for (const name of ['ttyUSB10', 'ttyUSB2', 'ttyACM0', 'ttyS0', 'ttyS1', 'tty0', 'ptmx'])
    await writeFile(join(dev, name), '');
  for (const [name, type] of [
    ['ttyS0', '4'],
    ['ttyS1', '0'],
  ]) {
    await mkdir(join(sys, name as string), { recursive: true });
    await writeFile(join(sys, name as string, 'type'), `${type}\n`);
  }
  await symlink('../../ttyUSB2', join(dev, 'serial', 'by-id', 'usb-Silicon_Labs_CP2102-if00-port0'));
  return { dev, sys };
}

describe('listing serial ports without udev', () => {
  it('scans /dev: USB and ACM ports, real ttyS only, by-id names as pnpId, natural order', async () => {
    const { dev, sys } = await fakeTree();
    const ports = await scanDev(dev, sys);
    expect(ports.map((p) => [p.path.slice(dev.length + 1), p.pnpId])).toEqual([
      ['ttyACM0', undefined],
      ['ttyS0', undefined],
      ['ttyUSB2', 'usb-Silicon_Labs_CP2102-if00-port0'],
      ['ttyUSB10', undefined],
    ]);
  });

  it('listSerialPorts resolves where udevadm is missing (serialport alone rejects: spawn ENOENT)', async () => {
    const ports = await listSerialPorts();
    expect(Array.isArray(ports)).toBe(true);
    for (const p of ports) expect(p.path).toMatch(/^\/dev\//);
  });
});

describe('modem lines on a pty', () => {
  it('fails with a clear ENOTTY message that points at rfc2217://', async () => {
    const emu = createEmulator();
    const pty = await openPty(emu.uart);
    const port = await openTransport(pty.path);
    try {
      await expect(setModemLines(port, { dtr: false, rts: true })).rejects.toThrow(
        /cannot set modem lines \(DTR off, RTS on\) on .*no DTR\/RTS \(ENOTTY.*rfc2217:\/\//,
      );
    } finally {
      await new Promise<void>((resolve) => {
        port.once('close', () => resolve());
        port.destroy();
      });
      await pty.close();
      await emu.close();
    }
  });
});

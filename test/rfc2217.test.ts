/**
 * RFC 2217 end to end, with the emulator as its own process (`netcoproc emulate --rfc2217 0`):
 * - pyserial (Debian's python3-serial, a second independent implementation) opens the port,
 *   changes baud, toggles DTR/RTS; the emulator reports each change, and esptool's reset pulse
 *   reboots it: a host on the raw port sees 'reset', and pyserial reads the BOOT frame;
 * - host-lib's own rfc2217:// client negotiates baud on open, carries a 256 KiB echo of every
 *   byte value (0xFF doubled on the wire both ways) and pulses reset.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageDecoder } from '../firmware-protocol/index.js';
import { type Device, openDevice, openTransport, Rfc2217Link, setModemLines } from '../index.js';
import { allBytes, echoThrough } from './helpers/patterns.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

/** Debian's interpreter: python3-serial is an apt package, the pyenv python3 on PATH lacks it. */
const PYTHON = '/usr/bin/python3';

const PYSERIAL_SCRIPT = `
import json, sys, time, serial
s = serial.serial_for_url(sys.argv[1], baudrate=115200, timeout=0.2)
out = {'cts': s.cts, 'dsr': s.dsr}
s.baudrate = 921600
s.dtr = False
s.rts = True          # EN low: chip held in reset
time.sleep(0.1)
s.rts = False         # EN released: the chip boots
rx = b''
deadline = time.time() + 5
while rx.count(b'\\xc0') < 2 and time.time() < deadline:
    rx += s.read(256)
out['rx'] = rx.hex()
out['baudrate'] = s.baudrate
s.close()
print(json.dumps(out))
`;

function python(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${PYTHON} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Waits for the device's 'reset' event, with a deadline. */
function nextReset(dev: Device, timeoutMs: number): Promise<{ bootNonce: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  return once(dev, 'reset', { signal: ac.signal })
    .then(([info]) => info as { bootNonce: string })
    .catch((err: Error) => {
      throw ac.signal.aborted ? new Error(`no 'reset' from the device in ${timeoutMs} ms`) : err;
    })
    .finally(() => clearTimeout(timer));
}

/** After a reset the driver says hello again; the device must answer as before. */
async function answersAfterReset(dev: Device): Promise<void> {
  expect((await dev.socket.getaddrinfo('echo.test', 7))[0]![4]).toEqual(['10.77.0.7', 7]);
}

/** The boot nonce of the first BOOT event in raw device output. */
function bootNonceIn(rx: Buffer): string | undefined {
  for (const i of new MessageDecoder(4096).push(rx)) {
    if (i.type === 'message' && i.msg.kind === 'event' && i.msg.op === 'BOOT') {
      return Buffer.from(i.msg.body.bootNonce).toString('hex');
    }
  }
  return undefined;
}

/** The emulator's `rfc2217: …` stderr lines: port changes, or with `hosts` the attach/detach ones. */
function portLog(emu: SpawnedEmulator, hosts = false): string[] {
  return emu
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('rfc2217: ') && l.startsWith('rfc2217: host ') === hosts)
    .map((l) => l.slice('rfc2217: '.length));
}

/** The port log after its first `from` lines, once it holds `n` of them (stderr and TCP race). */
async function logAfter(emu: SpawnedEmulator, from: number, n: number, timeoutMs = 3000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (portLog(emu).length < from + n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return portLog(emu).slice(from);
}

// One emulator process for the file: pyserial first, then host-lib (one RFC 2217 host at a time).
let emu: SpawnedEmulator;
beforeAll(async () => {
  emu = await spawnEmulator(['--listen', 'tcp://127.0.0.1:0', '--rfc2217', '0']);
});
afterAll(async () => {
  expect(await emu?.stop()).toBe(0);
});

describe('pyserial rfc2217:// against the emulator process', () => {
  let observer: Device;
  beforeAll(async () => {
    // Without python3-serial this suite must fail loudly, not pass by skipping.
    await python(['-c', 'import serial.rfc2217'], 10_000).catch((err: Error) => {
      throw new Error(`pyserial missing (apt-get install python3-serial): ${err.message}`);
    });
    observer = await openDevice(emu.url as string); // a host on the raw port sees the reboot
  });
  afterAll(async () => {
    await observer?.close();
  });

  it('negotiates, sees each change reported, and an esptool reset pulse reboots the device', async () => {
    const reset = nextReset(observer, 15_000);
    const result = JSON.parse(await python(['-c', PYSERIAL_SCRIPT, emu.rfc2217 as string], 20_000));
    // The driver emits 'reset' only for a BOOT whose nonce differs from its session's.
    const { bootNonce } = await reset;
    await answersAfterReset(observer);
    // NOTIFY-MODEMSTATE reached pyserial (it raises without one), and the baud change was acked.
    expect(result).toMatchObject({ cts: true, dsr: true, baudrate: 921600 });
    expect(await logAfter(emu, 0, 6)).toEqual(['dtr on', 'rts on', 'baud 921600', 'dtr off', 'rts off', 'reset']);
    // pyserial read the BOOT frame through the telnet layer, with the nonce the raw-port host saw.
    expect(bootNonceIn(Buffer.from(result.rx, 'hex'))).toBe(bootNonce);
  });
});

describe('host-lib rfc2217:// against the emulator process', () => {
  let link: Rfc2217Link;
  let dev: Device;
  let mark: number;
  beforeAll(async () => {
    // pyserial has exited; wait until the emulator saw it go (one RFC 2217 host at a time).
    const deadline = Date.now() + 3000;
    while (!portLog(emu, true).some((l) => l.endsWith('detached')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    mark = portLog(emu).length;
    link = (await openTransport(emu.rfc2217 as string, { baudRate: 115200, parity: 'even' })) as Rfc2217Link;
    dev = await openDevice(link);
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('negotiated the line settings on open, DTR/RTS asserted without a reset', async () => {
    expect(link).toBeInstanceOf(Rfc2217Link);
    // pyserial left 921600: the port keeps its settings between hosts, as a real one does.
    expect(await logAfter(emu, mark, 4)).toEqual(['baud 115200', 'parity even', 'dtr on', 'rts on']);
    expect(link.modemLines).toEqual({ cts: true, dsr: true, ri: false, cd: false });
  });

  it('echoes 256 KiB of every byte value through echo.test intact', async () => {
    const { socket } = dev;
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    s.settimeout(20);
    await s.connect((await socket.getaddrinfo('echo.test', 7))[0]![4]);
    const data = allBytes(256 * 1024);
    const back = await echoThrough(s, data);
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    await s.close();
  });

  it('changes baud and framing on an open link; the emulator reports them', async () => {
    const from = portLog(emu).length;
    await link.setBaud(921600);
    await link.setFraming({ parity: 'none', stopBits: 2 });
    await link.purge('both');
    await link.sendBreak(10);
    expect(await logAfter(emu, from, 5)).toEqual([
      'baud 921600',
      'parity none',
      'stop bits 2',
      'break on',
      'break off',
    ]);
  });

  it('pulses reset through DTR/RTS: the device reboots and the driver sees it', async () => {
    const from = portLog(emu).length;
    const reset = nextReset(dev, 5000);
    await link.pulseReset(20);
    expect((await reset).bootNonce).toMatch(/^[0-9a-f]{16}$/);
    await answersAfterReset(dev);
    expect(await logAfter(emu, from, 3)).toEqual(['dtr off', 'rts off', 'reset']);
  });

  it('modem lines: rejected clearly on a link that has none', async () => {
    await expect(setModemLines(new PassThrough(), { rts: true })).rejects.toThrow(/no modem lines.*rfc2217/);
  });
});

/**
 * `netcoproc emulate --protocol at --pty` as a real process, driven over a real pty by pyserial
 * (Debian's python3-serial), the way a user's terminal script would: `AT\r\n` → `OK`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEmulateArgs } from '../../bin/cli.js';
import { type SpawnedEmulator, spawnEmulator } from '../../test/helpers/spawn-emulator.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

/** Opens the pty, sends each command, reads until OK/ERROR (deadline 5 s each), prints repr() per reply. */
const SCRIPT = `
import sys, time, serial
port = serial.Serial(sys.argv[1], 115200, timeout=0.1)
for cmd in sys.argv[2:]:
    port.write(cmd.encode() + b"\\r\\n")
    buf, end = b"", time.time() + 5
    while time.time() < end and not (buf.endswith(b"OK\\r\\n") or buf.endswith(b"ERROR\\r\\n")):
        buf += port.read(256)
    print(repr(buf))
port.close()
`;

let emu: SpawnedEmulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

describe('ESP-AT emulator over a pty, driven by pyserial', () => {
  it('answers AT with OK, and AT+GMR with the chosen release', async () => {
    emu = await spawnEmulator(['--protocol', 'at', '--at-version', '2.2', '--pty']);
    const { stdout } = await run(PYTHON, ['-c', SCRIPT, emu.pty!, 'AT', 'AT+GMR', 'AT+BOGUS'], { timeout: 20_000 });
    const [at, gmr, bogus] = stdout.trim().split('\n');
    expect(at).toBe(String.raw`b'AT\r\n\r\nOK\r\n'`);
    expect(gmr).toContain(String.raw`AT version:2.2.0.0(c6fa6bf - ESP32 - Jul  2 2021 06:44:05)\r\n`);
    expect(bogus).toBe(String.raw`b'AT+BOGUS\r\n\r\nERROR\r\n'`);
    expect(emu.stderr()).toMatch(/AT command failed: unknown command AT\+BOGUS/);
  });

  it('the CLI defaults to the esp-at profile for --protocol at and checks --at-version', () => {
    expect(parseEmulateArgs(['--protocol', 'at'])).toMatchObject({ protocol: 'at', profile: 'esp-at' });
    expect(parseEmulateArgs(['--protocol', 'at', '--at-version', '3.2'])).toMatchObject({ atVersion: '3.2' });
    expect(() => parseEmulateArgs(['--at-version', '4.1'])).toThrow(/--at-version needs --protocol at/);
    expect(() => parseEmulateArgs(['--protocol', 'at', '--at-version', '1.7'])).toThrow(/expects one of 2.2, 3.2, 4.1/);
    expect(() => parseEmulateArgs(['--protocol', 'modbus'])).toThrow(/--protocol expects slip or at/);
  });
});

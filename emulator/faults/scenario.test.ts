/**
 * Scenario files: the schema accepts what fixtures/scenarios/README.md documents, rejects bad
 * fields with messages that name them, and the command line's shorthand flags lay over a file.
 * Ends with `netcoproc emulate --scenario ... --corrupt ...` as a real process.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main, parseEmulateArgs } from '../../bin/cli.js';
import { faultScenario } from '../../bin/emulate.js';
import { openDevice } from '../../index.js';
import { spawnEmulator } from '../../test/helpers/spawn-emulator.js';
import { createEmulator } from '../index.js';
import { AT_QUIRKS, loadScenario, parseScenario, ScenarioError, withFlags } from './scenario.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/scenarios/${name}`, import.meta.url));

function issuesOf(value: unknown): string[] {
  try {
    parseScenario(value, 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as Error).message).toContain('invalid fault scenario test.json');
    return [...(err as ScenarioError).issues];
  }
  throw new Error('the scenario was accepted');
}

describe('scenario schema', () => {
  it('loads the example scenarios', () => {
    expect(loadScenario(fixture('lossy-line.json')).line?.both).toEqual({ corrupt: 1e-4, drop: 1e-4 });
    expect(loadScenario(fixture('reboot-mid-transfer.json')).device?.reboot).toEqual([
      { afterBytes: 20000, dir: 'hostToDevice' },
    ]);
  });

  it('accepts every documented field', () => {
    const s = parseScenario({
      seed: 7,
      line: {
        baud: 115200,
        both: { corrupt: 1e-4, drop: 1e-4, insert: 1e-5, burst: 4, latencyMs: 2, jitterMs: 3 },
        hostToDevice: {
          stalls: [
            { atByte: 1000, forMs: 50 },
            { atMs: 200, forMs: 10 },
          ],
        },
      },
      device: {
        reboot: [{ atMs: 500 }, { afterBytes: 100, dir: 'deviceToHost' }],
        hang: { atMs: 10, forMs: 5 },
        outOfSockets: false,
      },
      network: {
        hosts: {
          '*': { latencyMs: 1 },
          'echo.test': { resetAfterBytes: 10, udp: { loss: 0.1, duplicate: 0.1, reorder: 0.1 } },
          '10.77.0.80': { blackhole: true },
        },
      },
      at: { quirks: Object.fromEntries(AT_QUIRKS.map((q) => [q, true])) },
    });
    expect(s.device?.hang).toEqual([{ atMs: 10, forMs: 5 }]);
    expect(Object.keys(s.at?.quirks ?? {})).toEqual([...AT_QUIRKS]);
  });

  it('names the bad field in each error', () => {
    expect(issuesOf({ line: { hostToDevice: { corrupt: 2 } } })).toEqual([
      'line.hostToDevice.corrupt: a rate is at most 1 (per byte or per datagram)',
    ]);
    expect(issuesOf({ line: { both: { corupt: 0.1 } } })).toEqual(["line.both: unknown field 'corupt'"]);
    expect(issuesOf({ device: { reboot: { atMs: 1, afterBytes: 2 } } })[0]).toMatch(
      /^device\.reboot.*exactly one of atMs or afterBytes/,
    );
    expect(issuesOf({ network: { hosts: { 'echo.test': { udp: { loss: -1 } } } } })).toEqual([
      'network.hosts["echo.test"].udp.loss: a rate is at least 0',
    ]);
    expect(issuesOf({ at: { quirks: { echoLeftOn: true, noSuchQuirk: true } } })).toEqual([
      "at.quirks: unknown field 'noSuchQuirk'",
    ]);
    expect(issuesOf({ seed: 1.5 })[0]).toMatch(/^seed: /);
  });

  it('createEmulator rejects a bad scenario before starting anything, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ncp-scenario-'));
    writeFileSync(join(dir, 'bad.json'), '{ "line": { "both": { "drop": "lots" } } }');
    expect(() => createEmulator({ faults: join(dir, 'bad.json') })).toThrow(/bad\.json:\n {2}line\.both\.drop: /);
    writeFileSync(join(dir, 'broken.json'), '{ "line": ');
    expect(() => createEmulator({ faults: join(dir, 'broken.json') })).toThrow(/broken\.json:\n {2}not valid JSON/);
  });

  it('uses the scenario seed when none is given', async () => {
    const a = createEmulator({ pki: undefined, faults: { seed: 5 } });
    const b = createEmulator({ pki: undefined, faults: { seed: 5 } });
    const nonce = (e: typeof a) => (e.personality as { bootNonce: Uint8Array }).bootNonce;
    expect(nonce(b)).toEqual(nonce(a));
    await a.close();
    await b.close();
  });

  it('hands at.quirks to the ESP-AT personality (its `quirks` option)', async () => {
    const e = createEmulator({ protocol: 'at', pki: undefined, faults: { at: { quirks: { echoLeftOn: true } } } });
    expect((e.personality as unknown as { opts: { quirks?: unknown } }).opts.quirks).toEqual({ echoLeftOn: true });
    await e.close();
  });
});

describe('command-line flags', () => {
  it('lay line flags over both directions and add reboot / hang triggers', () => {
    const s = withFlags(
      { line: { deviceToHost: { drop: 0.5 } }, device: { reboot: { atMs: 1 } } },
      {
        corrupt: 1e-4,
        rebootAfterBytes: 500,
        hangAtMs: 9,
      },
    );
    expect(s).toEqual({
      line: { hostToDevice: { corrupt: 1e-4 }, deviceToHost: { drop: 0.5, corrupt: 1e-4 } },
      device: { reboot: [{ atMs: 1 }, { afterBytes: 500 }], hang: [{ atMs: 9 }] },
    });
    expect(withFlags(undefined, {})).toBeUndefined();
  });

  it('parses the shorthand flags and rejects bad values', () => {
    const o = parseEmulateArgs([
      '--scenario',
      'x.json',
      '--corrupt',
      '1e-4',
      '--latency',
      '5',
      '--reboot-at',
      '300',
      '--seed',
      '3',
    ]);
    expect(o.scenario).toBe('x.json');
    expect(o.seed).toBe(3);
    expect(o.faultFlags).toMatchObject({ corrupt: 1e-4, latencyMs: 5, rebootAtMs: 300 });
    expect(() => parseEmulateArgs(['--drop', '2'])).toThrow(/--drop expects a rate between 0 and 1/);
    expect(() => parseEmulateArgs(['--jitter', 'soon'])).toThrow(/--jitter expects milliseconds/);
    expect(() => parseEmulateArgs(['--reboot-after-bytes', 'many'])).toThrow(/--reboot-after-bytes expects an integer/);
  });

  it('--baud goes into the scenario so the line is paced once', () => {
    const o = parseEmulateArgs(['--scenario', fixture('lossy-line.json'), '--baud', '115200']);
    expect(faultScenario(o)?.line).toMatchObject({ baud: 115200, both: { corrupt: 1e-4, drop: 1e-4 } });
    expect(faultScenario(parseEmulateArgs([]))).toBeUndefined();
  });

  it('netcoproc emulate --scenario FILE --corrupt RATE serves a host, then reports the faults', async () => {
    const emu = await spawnEmulator([
      '--scenario',
      fixture('reboot-mid-transfer.json'),
      '--corrupt',
      '1e-5',
      '--seed',
      '2',
    ]);
    const dev = await openDevice(emu.url as string);
    const reset = new Promise((resolve, reject) => {
      dev.once('reset', resolve);
      setTimeout(() => reject(new Error('no reset within 3 s')), 3000).unref();
    });
    const s = await dev.socket.socket();
    s.settimeout(5);
    await s.connect(['echo.test', 7]);
    // sendall returns once the device took the bytes into its window; the reboot comes after 20 000.
    await s.sendall(Buffer.alloc(30_000, 1)).catch(() => {});
    await reset;
    await dev.close().catch(() => {});
    expect(await emu.stop()).toBe(0);
    expect(emu.stderr()).toMatch(/fault: reboot after 20000 bytes host→device/);
    expect(emu.stderr()).toMatch(/faults injected: .*reboot 1/);
  });

  it('a bad scenario file stops netcoproc emulate with one clear line and exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ncp-scenario-'));
    writeFileSync(join(dir, 'bad.json'), '{ "device": { "hang": { "afterBytes": -3 } } }');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['emulate', '--scenario', join(dir, 'bad.json')])).toBe(1);
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(
        /^netcoproc emulate: invalid fault scenario .*bad\.json: device\.hang\.afterBytes: [^\n]*\n$/,
      );
    } finally {
      stderr.mockRestore();
    }
  });
});

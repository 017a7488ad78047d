/**
 * The README's fault example, as a user runs it: `netcoproc emulate --scenario
 * fixtures/scenarios/lossy-line.json --seed N` (1e-4 corrupted and 1e-4 dropped bytes each way),
 * host-lib over socket://, GET /bytes/100000 with settimeout(30). Every download arrives intact,
 * for five seeds and three downloads each (issue 13 item 8: before the fix, 2 of 4 runs ended in
 * ETIMEDOUT "coprocessor not responding"). How fast it is belongs to `npm run bench` (noisy line).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../index.js';
import { splitHttp } from './helpers/patterns.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

const scenario = fileURLToPath(new URL('../fixtures/scenarios/lossy-line.json', import.meta.url));
const SIZE = 100_000;

let emu: SpawnedEmulator | undefined;
let dev: Device | undefined;
afterEach(async () => {
  await dev?.close().catch(() => {});
  await emu?.stop();
  dev = undefined;
  emu = undefined;
});

async function download(d: Device): Promise<Buffer> {
  const s = await d.socket.socket();
  s.settimeout(30);
  await s.connect(['http.test', 80]);
  await s.sendall(`GET /bytes/${SIZE} HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n`);
  const parts: Uint8Array[] = [];
  for (;;) {
    const c = await s.recv(65536);
    if (c.length === 0) break;
    parts.push(c);
  }
  await s.close();
  return Buffer.concat(parts);
}

describe('lossy-line.json over socket:// (the README example)', () => {
  it.each([1, 2, 3, 7, 42])(
    'seed %i: three downloads of 100 KB arrive intact',
    async (seed) => {
      emu = await spawnEmulator(['--scenario', scenario, '--seed', String(seed)]);
      dev = await openDevice(emu.url as string, { protocol: 'slip' });
      const expected = Buffer.alloc(SIZE);
      for (let i = 0; i < SIZE; i++) expected[i] = i & 0xff;
      for (let run = 0; run < 3; run++) {
        const { status, body } = splitHttp(await download(dev));
        expect(status).toBe('HTTP/1.1 200 OK');
        expect(body.length).toBe(SIZE);
        expect(body.equals(expected)).toBe(true);
      }
    },
    120_000,
  );
});

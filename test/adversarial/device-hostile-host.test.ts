/**
 * A hostile host against `netcoproc emulate` as a real child process, for each personality (SLIP,
 * ESP-AT) and transport (socket://, a pty, rfc2217://): garbage, truncated frames and lines, a
 * host that vanishes in the middle of a command, rapid reconnects. After each, within a deadline,
 * a well-behaved host opens the device and gets a right answer (the emulator keeps serving). Then
 * two more rounds of the same abuse in the same emulator: what it holds after a full GC must not
 * grow from round 2 to round 3 (a leak grows every round; a high-water mark does not), and its
 * resident peak stays under a documented bound (docs/architecture.md "Memory under abuse").
 *
 * Not covered here: an ESP-AT host that vanishes inside AT+CIPSEND's data prompt leaves the board
 * waiting for its bytes, as real ESP-AT firmware does; recovering from that is the host driver's
 * job (host-side adversarial suite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedEmulator, spawnEmulator } from '../helpers/spawn-emulator.js';
import {
  absurdThenGone,
  abuseRound,
  endlessThenGone,
  garbageThenGone,
  goneMidCommand,
  goodHost,
  type Protocol,
  rapidReconnects,
  type Via,
} from './hostile-host.js';
import { type HeldMemory, PROBE_NODE_ARGS, peakRssKiB, rssKiB, settledMemory } from './rss.js';

/** Growth of what the emulator holds after a full GC, round 2 to round 3 (measured 0-0.3 MiB). */
const HELD_GROWTH_KIB = 2 * 1024;
/** ArrayBuffers alive after a full GC with no host attached (measured 0.1-2 MiB). */
const HELD_BUFFERS_KIB = 8 * 1024;
/** Resident peak above the warmed-up baseline (measured 24-36 MiB alone; docs/architecture.md). */
const PEAK_GROWTH_KIB = 96 * 1024;

const CASES: { protocol: Protocol; via: Via }[] = [
  { protocol: 'slip', via: 'socket' },
  { protocol: 'slip', via: 'pty' },
  { protocol: 'slip', via: 'rfc2217' },
  { protocol: 'at', via: 'socket' },
  { protocol: 'at', via: 'pty' },
  { protocol: 'at', via: 'rfc2217' },
];

describe.each(CASES)('hostile host: $protocol via $via', ({ protocol, via }) => {
  let emu: SpawnedEmulator;
  let locator: string;
  let rssStart = 0;
  const held: HeldMemory[] = [];

  beforeAll(async () => {
    const transport =
      via === 'socket' ? ['--listen', 'tcp://127.0.0.1:0'] : via === 'pty' ? ['--pty'] : ['--rfc2217', '0'];
    emu = await spawnEmulator(['--protocol', protocol, ...transport], 15_000, PROBE_NODE_ARGS);
    locator = (via === 'socket' ? emu.url : via === 'pty' ? emu.pty : emu.rfc2217) as string;
    await goodHost(locator, protocol); // warm up before the memory baseline
    rssStart = rssKiB(emu.proc.pid as number);
  }, 30_000);

  afterAll(async () => {
    await emu?.stop();
  });

  it('256 KiB of garbage, then the host vanishes: the next host is served', async () => {
    await garbageThenGone(locator);
    await goodHost(locator, protocol);
    expect(emu.proc.exitCode).toBeNull();
  }, 30_000);

  it('an endless line / frame with no end (1 MiB without a terminator), then gone', async () => {
    await endlessThenGone(locator, protocol); // the device must bound what it holds for it
    await goodHost(locator, protocol);
  }, 30_000);

  it('a host that vanishes in the middle of a command; then one that cuts a frame short', async () => {
    await goneMidCommand(locator, protocol);
    await goodHost(locator, protocol);
  }, 30_000);

  it('absurd values (huge windows and lengths, a 50 MB download nobody reads), then gone', async () => {
    await absurdThenGone(locator, protocol);
    await goodHost(locator, protocol);
  }, 30_000);

  it('30 rapid reconnects, each writing a little and leaving at once', async () => {
    await rapidReconnects(locator, 30);
    await goodHost(locator, protocol);
  }, 60_000);

  it('memory: nothing held grows between rounds 2 and 3 of the same abuse; the resident peak is bounded', async () => {
    const pid = emu.proc.pid as number;
    for (let round = 2; round <= 3; round++) {
      await abuseRound(locator, protocol);
      held.push(await settledMemory(emu.proc, emu.stderr));
    }
    const [r2, r3] = held as [HeldMemory, HeldMemory];
    const fig = (m: HeldMemory) =>
      `heap ${m.heapUsed} + buffers ${m.arrayBuffers} KiB (GC freed ${m.garbageArrayBuffers})`;
    const figures = `round 2 ${fig(r2)}, round 3 ${fig(r3)}, rss ${rssKiB(pid) - rssStart} KiB over baseline, peak ${peakRssKiB(pid) - rssStart} KiB`;
    expect(r3.heapUsed + r3.arrayBuffers - (r2.heapUsed + r2.arrayBuffers), figures).toBeLessThan(HELD_GROWTH_KIB);
    expect(r3.arrayBuffers, figures).toBeLessThan(HELD_BUFFERS_KIB);
    expect(peakRssKiB(pid) - rssStart, figures).toBeLessThan(PEAK_GROWTH_KIB);
  }, 120_000);
});

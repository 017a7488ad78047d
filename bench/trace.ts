/**
 * What tracing costs (ARCHITECTURE §7): the same transfers with tracing off and on.
 * - socket:// paced at 921600 baud, the emulator (`--trace`) and the host (`{ trace }`) both
 *   recording: on must stay within 10 % of off;
 * - in-process unpaced, the host recording: the worst case, CPU-bound (reported, no target).
 * "Off" is the ordinary path: without the option nothing is wrapped, so it is the main table's row.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Device } from '../host-lib/index.js';
import { openDevice } from '../index.js';
import { spawnEmulator } from '../test/helpers/spawn-emulator.js';
import { type Bulk, download, startSink, upload } from './scenarios.js';
import type { Target } from './targets.js';

export interface TraceFigures {
  case: string;
  off: { upload: Bulk; download: Bulk };
  on: { upload: Bulk; download: Bulk };
  /** Throughput with tracing on as a share of off, worst direction, in %. */
  onVsOffPercent: number;
  traceBytes: number;
}

async function transfers(dev: Device, bytes: number): Promise<{ upload: Bulk; download: Bulk }> {
  const sink = await startSink();
  try {
    return { upload: await upload(dev, sink.port, sink.received, bytes), download: await download(dev, bytes) };
  } finally {
    sink.server.close();
  }
}

async function pacedSocket(dir: string, traced: boolean, bytes: number): Promise<{ upload: Bulk; download: Bulk }> {
  const emuTrace = join(dir, 'emulator.pcapng');
  const args = ['--listen', 'tcp://127.0.0.1:0', '--baud', '921600', ...(traced ? ['--trace', emuTrace] : [])];
  const emu = await spawnEmulator(args);
  const dev = (await openDevice(emu.url as string, traced ? { trace: join(dir, 'host.pcapng') } : {})) as Device;
  try {
    return await transfers(dev, bytes);
  } finally {
    await dev.close();
    await emu.stop();
  }
}

async function inProcess(dir: string, traced: boolean, bytes: number): Promise<{ upload: Bulk; download: Bulk }> {
  const dev = (await openDevice('emulator:', traced ? { trace: join(dir, 'inproc.pcapng') } : {})) as Device;
  try {
    return await transfers(dev, bytes);
  } finally {
    await dev.close();
  }
}

const share = (on: Bulk, off: Bulk): number => (100 * on.bytesPerSecond) / off.bytesPerSecond;

function figures(name: string, off: TraceFigures['off'], on: TraceFigures['on'], traceBytes: number): TraceFigures {
  const onVsOffPercent = Math.min(share(on.upload, off.upload), share(on.download, off.download));
  return { case: name, off, on, onVsOffPercent, traceBytes };
}

const sizeOf = (...paths: string[]): number =>
  paths.reduce((n, p) => n + (statSync(p, { throwIfNoEntry: false })?.size ?? 0), 0);

export async function measureTrace(quick: boolean): Promise<TraceFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'netcoproc-bench-trace-'));
  try {
    const paced = quick ? 64 * 1024 : 256 * 1024;
    const offPaced = await pacedSocket(dir, false, paced);
    const onPaced = await pacedSocket(dir, true, paced);
    const pacedBytes = sizeOf(join(dir, 'emulator.pcapng'), join(dir, 'host.pcapng'));
    const big = quick ? 4 << 20 : 16 << 20;
    const offInproc = await inProcess(dir, false, big);
    const onInproc = await inProcess(dir, true, big);
    return [
      figures('socket paced 921600, emulator + host tracing', offPaced, onPaced, pacedBytes),
      figures('in-process unpaced, host tracing', offInproc, onInproc, sizeOf(join(dir, 'inproc.pcapng'))),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The paced case must keep >= 90 % of the throughput without tracing. */
export function traceTargets(figures: TraceFigures[]): Target[] {
  const paced = figures[0];
  if (!paced) return [];
  const actual = paced.onVsOffPercent;
  return [
    {
      name: 'tracing on, paced 921600, % of off',
      actual,
      target: 90,
      unit: '%',
      higherIsBetter: true,
      met: actual >= 90,
    },
  ];
}

export function printTrace(f: TraceFigures): void {
  const kb = (b: Bulk): string => `${(b.bytesPerSecond / 1000).toFixed(1)} kB/s`;
  console.log(
    `trace ${f.case}: off up ${kb(f.off.upload)} down ${kb(f.off.download)}; ` +
      `on up ${kb(f.on.upload)} down ${kb(f.on.download)}; on/off ${f.onVsOffPercent.toFixed(1)} % ` +
      `(${(f.traceBytes / 1024).toFixed(0)} KiB of trace)`,
  );
}

/**
 * One bench row = one device (a protocol over a transport, unpaced or paced at a baud rate, clean
 * or on the lossy-line scenario) carrying the bulk scenarios of scenarios.ts. Paced rows move about
 * `lineSeconds` of line time per direction, so 115200 and 921600 take the same time.
 */
import { fileURLToPath } from 'node:url';
import type { Device } from '../host-lib/index.js';
import { openDevice } from '../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../test/helpers/spawn-emulator.js';
import {
  type Bulk,
  download,
  echo,
  echoRoundTrip,
  type Latency,
  rpcRoundTrip,
  startSink,
  upload,
} from './scenarios.js';

export type Protocol = 'slip' | 'at';
export type Transport = 'in-process' | 'pty' | 'socket';

export interface RowSpec {
  protocol: Protocol;
  transport: Transport;
  /** null = unpaced (memory speed). */
  baud: number | null;
  /** The lossy-line scenario (1e-4 corrupt + 1e-4 drop per byte, both ways) with this seed. */
  noisySeed?: number;
}

export interface Row extends RowSpec {
  name: string;
  upload: Bulk;
  download: Bulk;
  /** Full-duplex echo; bytesPerSecond is per direction. Absent on the noisy row. */
  echo?: Bulk;
  rpcRoundTrip?: Latency;
  echoRoundTrip?: Latency;
}

const MiB = 1 << 20;
const LOSSY = fileURLToPath(new URL('../fixtures/scenarios/lossy-line.json', import.meta.url));

export function rowName(r: RowSpec): string {
  const pace = r.baud ? `paced ${r.baud}` : 'unpaced';
  return `${r.protocol} ${r.transport} ${pace}${r.noisySeed !== undefined ? ' noisy' : ''}`;
}

/** 8N1: ten bit times per byte. */
export function lineRate(baud: number): number {
  return baud / 10;
}

function emulatorArgs(r: RowSpec): string[] {
  const args = r.transport === 'pty' ? ['--pty'] : ['--listen', 'tcp://127.0.0.1:0'];
  if (r.protocol === 'at') args.push('--protocol', 'at');
  if (r.baud) args.push('--baud', String(r.baud));
  if (r.noisySeed !== undefined) args.push('--scenario', LOSSY, '--seed', String(r.noisySeed));
  return args;
}

async function withDevice<T>(r: RowSpec, fn: (dev: Device) => Promise<T>): Promise<T> {
  let emu: SpawnedEmulator | undefined;
  let locator = 'emulator:';
  if (r.transport !== 'in-process') {
    emu = await spawnEmulator(emulatorArgs(r));
    locator = (r.transport === 'pty' ? emu.pty : emu.url) as string;
  }
  // A board that fails to open must not leave its emulator child behind (the bench would never exit).
  const dev = (await openDevice(locator, { baudRate: r.baud ?? 921600, protocol: r.protocol }).catch(async (err) => {
    await emu?.stop();
    throw err;
  })) as unknown as Device;
  try {
    return await fn(dev);
  } finally {
    await dev.close();
    await emu?.stop();
  }
}

/** Bytes per direction: about `lineSeconds` of line time when paced, else a fixed bulk size. */
function sizeFor(r: RowSpec, quick: boolean): number {
  if (!r.baud) return quick ? 8 * MiB : 32 * MiB;
  return Math.round(lineRate(r.baud) * (quick ? 1.5 : 4));
}

/**
 * Before an unpaced row is timed, both processes are warmed up with unmeasured uploads, downloads
 * and echoes (docs/performance.md "In-process per-frame costs", item 6): the first 16-32 MiB after a
 * process starts ran at a third to a fifth of the warm speed (V8 still optimizing ~300 functions,
 * ~0.4-0.8 s of CPU on this machine, and the malloc heap growing page by page), and an in-process
 * board's fixture PKI was then made in the background on open, during the first transfer (it is
 * made on first need now, docs/performance.md item 21, and these rows never need it). Whichever
 * scenario ran first paid for all of it: the upload, which is why download read three times
 * faster. Paced rows are bounded by the line.
 */
async function warmUp(dev: Device, spec: RowSpec, sink: Awaited<ReturnType<typeof startSink>>, quick: boolean) {
  if (spec.baud) return;
  // Twice through every timed scenario (docs/performance.md item 23): each scenario's first run after
  // another's meets code V8 specialized to the other (new message shapes, opcodes, stream classes)
  // and recompiles it. After one upload and one download, the timed upload recompiled 45-58 functions
  // (250-500 ms of TurboFan on a loaded machine, 12-14 ms of CPU per MiB against 6-8 for an upload
  // after it); the pty echo, first of its kind, recompiled ~50 functions in the host alone.
  const bytes = (quick ? 2 : 8) * MiB;
  for (let round = 0; round < 2; round++) {
    await upload(dev, sink.port, sink.received, bytes);
    await download(dev, bytes);
    await echo(dev, bytes / 2);
  }
}

export async function measureRow(spec: RowSpec, quick: boolean): Promise<Row> {
  const sink = await startSink();
  const size = sizeFor(spec, quick);
  try {
    return await withDevice(spec, async (dev) => {
      await warmUp(dev, spec, sink, quick);
      const row: Row = {
        ...spec,
        name: rowName(spec),
        upload: await upload(dev, sink.port, sink.received, size),
        download: await download(dev, size),
      };
      if (spec.noisySeed === undefined) row.echo = await echo(dev, spec.baud ? size / 2 : size);
      if (!spec.baud && spec.protocol === 'slip') {
        row.rpcRoundTrip = await rpcRoundTrip(dev, quick ? 500 : 3000);
        row.echoRoundTrip = await echoRoundTrip(dev, quick ? 200 : 1000);
      }
      return row;
    });
  } finally {
    sink.server.close();
  }
}

/** Every row of the bench, in the order they run. */
export function allRows(): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const transport of ['in-process', 'pty', 'socket'] as const)
    rows.push({ protocol: 'slip', transport, baud: null });
  for (const baud of [115200, 921600])
    for (const transport of ['pty', 'socket'] as const)
      for (const protocol of ['slip', 'at'] as const) rows.push({ protocol, transport, baud });
  rows.push({ protocol: 'slip', transport: 'socket', baud: 921600, noisySeed: 7 });
  return rows;
}

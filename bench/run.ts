/**
 * `npm run bench [-- --json] [-- --quick]` (`npm run -s bench -- --json` for JSON alone: -s drops npm's banner): throughput and latency of the SLIP path against the
 * emulator, for the in-process, pty and socket:// transports, unpaced and paced at 921600 baud,
 * plus TLS handshake time and TLS bulk download, device-side and host-side (tls.ts; JSON `tls`).
 * Human table on stdout, or one JSON document with --json (figures and targets, machine-readable).
 */
import type { Device } from '../host-lib/index.js';
import { openDevice } from '../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../test/helpers/spawn-emulator.js';
import { measureNode, printNode } from './node.js';
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
import { measureStartup, startupTarget } from './startup.js';
import { measureTls, type TlsFigures } from './tls.js';
import { measureTrace, printTrace, traceTargets } from './trace.js';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const MiB = 1 << 20;
const LINE_RATE_921600 = 92160;

interface Row {
  protocol: 'slip' | 'at';
  transport: 'in-process' | 'pty' | 'socket';
  baud: number | null;
  upload: Bulk;
  download: Bulk;
  echo: Bulk;
  rpcRoundTrip?: Latency;
  echoRoundTrip?: Latency;
}

async function withDevice<T>(
  protocol: Row['protocol'],
  transport: Row['transport'],
  baud: number | null,
  fn: (dev: Device) => Promise<T>,
): Promise<T> {
  let emu: SpawnedEmulator | undefined;
  let locator = 'emulator:';
  if (transport !== 'in-process') {
    const args = transport === 'pty' ? ['--pty'] : ['--listen', 'tcp://127.0.0.1:0'];
    if (protocol === 'at') args.push('--protocol', 'at');
    emu = await spawnEmulator(baud ? [...args, '--baud', String(baud)] : args);
    locator = (transport === 'pty' ? emu.pty : emu.url) as string;
  }
  const dev = (await openDevice(locator, { baudRate: baud ?? 921600, protocol })) as unknown as Device;
  try {
    return await fn(dev);
  } finally {
    await dev.close();
    await emu?.stop();
  }
}

async function measure(
  transport: Row['transport'],
  baud: number | null,
  protocol: Row['protocol'] = 'slip',
): Promise<Row> {
  const sink = await startSink();
  const size = baud ? (quick ? 64 * 1024 : 384 * 1024) : quick ? 8 * MiB : 32 * MiB;
  try {
    return await withDevice(protocol, transport, baud, async (dev) => {
      const row: Row = {
        protocol,
        transport,
        baud,
        upload: await upload(dev, sink.port, sink.received, size),
        download: await download(dev, size),
        echo: await echo(dev, baud ? size / 2 : size),
      };
      if (!baud && protocol === 'slip') {
        row.rpcRoundTrip = await rpcRoundTrip(dev, quick ? 500 : 3000);
        row.echoRoundTrip = await echoRoundTrip(dev, quick ? 200 : 1000);
      }
      return row;
    });
  } finally {
    sink.server.close();
  }
}

interface Target {
  name: string;
  actual: number;
  target: number;
  unit: string;
  higherIsBetter: boolean;
  met: boolean;
}

function targets(rows: Row[]): Target[] {
  const out: Target[] = [];
  const add = (name: string, actual: number, target: number, unit: string, higherIsBetter = true): void => {
    out.push({ name, actual, target, unit, higherIsBetter, met: higherIsBetter ? actual >= target : actual < target });
  };
  for (const r of rows.filter((x) => x.baud === 921600)) {
    // SLIP: 90 % of line rate; ESP-AT in passive receive mode: 75 %.
    const goal = r.protocol === 'slip' ? 90 : 75;
    const name = `${r.protocol} ${r.transport} paced 921600`;
    add(`${name} upload, % of line rate`, (100 * r.upload.bytesPerSecond) / LINE_RATE_921600, goal, '%');
    add(`${name} download, % of line rate`, (100 * r.download.bytesPerSecond) / LINE_RATE_921600, goal, '%');
  }
  const mib = (b: Bulk): number => b.bytesPerSecond / MiB;
  const inproc = rows.find((r) => r.protocol === 'slip' && r.transport === 'in-process' && !r.baud);
  if (inproc) {
    add('in-process unpaced upload', mib(inproc.upload), 30, 'MiB/s');
    add('in-process unpaced download', mib(inproc.download), 30, 'MiB/s');
    if (inproc.rpcRoundTrip)
      add('in-process small request round trip p50', inproc.rpcRoundTrip.p50us, 200, 'µs', false);
  }
  const pty = rows.find((r) => r.protocol === 'slip' && r.transport === 'pty' && !r.baud);
  if (pty) add('pty unpaced best one-way', Math.max(mib(pty.upload), mib(pty.download)), 10, 'MiB/s');
  return out;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const transport of ['in-process', 'pty', 'socket'] as const) {
    for (const baud of [null, 921600]) {
      // In-process pacing would need the transport layer; paced figures come from the real transports.
      if (transport === 'in-process' && baud) continue;
      const row = await measure(transport, baud);
      rows.push(row);
      if (!json) print(row);
    }
  }
  // ESP-AT next to SLIP on the same paced line (passive receive mode).
  for (const transport of ['socket', 'pty'] as const) {
    const row = await measure(transport, 921600, 'at');
    rows.push(row);
    if (!json) print(row);
  }
  const tls = await measureTls(quick);
  if (!json) for (const f of tls) printTls(f);
  // Node-native rows (bench/node.ts): dev.fetch of 1 MiB, mqtt.js publish rate.
  const node = await measureNode(quick);
  if (!json) for (const f of node) printNode(f);
  const startup = await measureStartup(quick ? 5 : 10);
  if (!json)
    console.log(
      `CLI start-up to listening: median ${startup.medianMs} ms, min ${startup.minMs} ms (bare node ${startup.nodeBaselineMs} ms)`,
    );
  const trace = await measureTrace(quick);
  if (!json) for (const f of trace) printTrace(f);
  const t = [...targets(rows), startupTarget(startup), ...traceTargets(trace)];
  if (json) {
    console.log(
      JSON.stringify(
        {
          node: process.version,
          date: new Date().toISOString(),
          quick,
          results: rows,
          tls,
          nodeNative: node,
          startup,
          trace,
          targets: t,
        },
        null,
        2,
      ),
    );
  } else {
    console.log('\ntargets:');
    for (const x of t)
      console.log(
        `  ${x.met ? 'MET ' : 'MISS'} ${x.name}: ${x.actual.toFixed(1)} ${x.unit} (target ${x.higherIsBetter ? '>=' : '<'} ${x.target})`,
      );
  }
}

function printTls(f: TlsFigures): void {
  const where = f.mode === 'device' ? 'device-side (IPPROTO_SEC)' : 'host-side (node:tls)';
  console.log(
    `TLS ${where}, in-process: handshake p50 ${f.handshake.p50ms} ms p90 ${f.handshake.p90ms} ms; ` +
      `download ${(f.download.bytesPerSecond / MiB).toFixed(2)} MiB/s`,
  );
}

function print(r: Row): void {
  const f = (b: Bulk): string =>
    `${(b.bytesPerSecond / MiB).toFixed(2)} MiB/s (${(b.bytesPerSecond / 1000).toFixed(1)} kB/s)`;
  console.log(
    `${r.protocol} ${r.transport}${r.baud ? ` @${r.baud}` : ' unpaced'}: up ${f(r.upload)}, down ${f(r.download)}, echo each way ${f(r.echo)}`,
  );
  if (r.rpcRoundTrip)
    console.log(
      `  rpc round trip p50 ${r.rpcRoundTrip.p50us} µs p99 ${r.rpcRoundTrip.p99us} µs; echo 16 B p50 ${r.echoRoundTrip?.p50us} µs`,
    );
}

await main();

/**
 * `npm run bench [-- --json] [-- --quick] [-- --only TEXT]` (`npm run -s bench -- --json` for JSON
 * alone: -s drops npm's banner): the SLIP path and ESP-AT side by side
 * against the emulator (rows.ts): unpaced in-process / pty / socket:// in MiB/s with request round
 * trips; paced at 115200 and 921600 over pty and socket:// as % of line rate; a noisy line (the
 * lossy-line scenario paced at 921600, goodput); emulator start-up and boards per process
 * (process.ts); TLS handshake and bulk (tls.ts); Node-native fetch/MQTT (node.ts); tracing cost
 * (trace.ts). `--only` keeps the rows (and sections: `startup`, `boards`, `tls`, `node`, `trace`)
 * whose name contains TEXT. With --json, stdout is one JSON document and nothing else (progress
 * goes to stderr).
 */
import { measureNode, type NodeFigures, printNode } from './node.js';
import { type BoardsFigures, measureBoards } from './process.js';
import { allRows, measureRow, type Row, rowName } from './rows.js';
import type { Bulk } from './scenarios.js';
import { measureStartup, type Startup, startupTarget } from './startup.js';
import { percentOfLine, targets } from './targets.js';
import { measureTls, type TlsFigures } from './tls.js';
import { measureTrace, printTrace, type TraceFigures, traceTargets } from './trace.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
const MiB = 1 << 20;

const wanted = (name: string): boolean => only === undefined || name.includes(only);
/** Progress: stdout for people; with --json on stderr, so stdout stays one JSON document. */
const say = (line: string): void => {
  if (json) process.stderr.write(`${line}\n`);
  else console.log(line);
};

async function main(): Promise<void> {
  const { rows, failed } = await measureLineRows();
  const extras = await measureExtras();
  const t = [
    ...targets(rows),
    ...(extras.startup ? [startupTarget(extras.startup)] : []),
    ...traceTargets(extras.trace),
  ];
  if (json) {
    const { startup, boards, tls, node, trace } = extras;
    const doc = { node: process.version, date: new Date().toISOString(), quick, results: rows, failed };
    console.log(JSON.stringify({ ...doc, startup, boards, tls, nodeNative: node, trace, targets: t }, null, 2));
    return;
  }
  for (const f of failed) console.log(`FAILED ${f.name}: ${f.error}`);
  console.log('\ntargets:');
  for (const x of t) {
    const cmp = x.higherIsBetter ? '>=' : '<=';
    console.log(`  ${x.met ? 'MET ' : 'MISS'} ${x.name}: ${x.actual} ${x.unit} (target ${cmp} ${x.target})`);
  }
}

/** The transfer rows (bench/rows.ts), each measured in turn. */
async function measureLineRows(): Promise<{ rows: Row[]; failed: { name: string; error: string }[] }> {
  const rows: Row[] = [];
  const failed: { name: string; error: string }[] = [];
  for (const spec of allRows()) {
    if (!wanted(rowName(spec))) continue;
    try {
      const row = await measureRow(spec, quick);
      rows.push(row);
      say(describe(row));
    } catch (err) {
      // A row that fails is a finding, not the end of the run: report it and go on.
      failed.push({ name: rowName(spec), error: String(err) });
      say(`${rowName(spec)}: FAILED ${String(err)}`);
    }
  }
  return { rows, failed };
}

interface Extras {
  startup: Startup | undefined;
  boards: BoardsFigures | undefined;
  tls: TlsFigures[];
  node: NodeFigures[];
  trace: TraceFigures[];
}

/** The rows that are not transfers: start-up, boards per process, TLS, Node-native, tracing. */
async function measureExtras(): Promise<Extras> {
  const x: Extras = { startup: undefined, boards: undefined, tls: [], node: [], trace: [] };
  if (wanted('startup')) {
    const s = await measureStartup(quick ? 5 : 10);
    x.startup = s;
    say(
      `CLI start-up to listening: median ${s.medianMs} ms, min ${s.minMs} ms (bare node ${s.nodeBaselineMs} ms, ratio ${s.ratioToNode})`,
    );
  }
  if (wanted('boards')) {
    const b = await measureBoards(quick ? 20 : 100);
    x.boards = b;
    say(
      `boards per process: ${b.boards} in-process boards with a connected socket each: ` +
        `RSS ${b.rssBeforeMiB} -> ${b.rssAfterMiB} MiB (${b.perBoardKiB} KiB per board), opened in ${b.openMs} ms`,
    );
  }
  if (wanted('tls')) {
    x.tls = await measureTls(quick);
    for (const f of x.tls) say(describeTls(f));
  }
  // Node-native rows (bench/node.ts): dev.fetch of 1 MiB, mqtt.js publish rate.
  if (wanted('node')) {
    x.node = await measureNode(quick);
    if (!json) for (const f of x.node) printNode(f);
  }
  if (wanted('trace')) {
    x.trace = await measureTrace(quick);
    if (!json) for (const f of x.trace) printTrace(f);
  }
  return x;
}

function describeTls(f: TlsFigures): string {
  const where = f.mode === 'device' ? 'device-side (IPPROTO_SEC)' : 'host-side (node:tls)';
  return (
    `TLS ${where}, in-process: handshake p50 ${f.handshake.p50ms} ms p90 ${f.handshake.p90ms} ms; ` +
    `download ${(f.download.bytesPerSecond / MiB).toFixed(2)} MiB/s`
  );
}

function describe(r: Row): string {
  const f = (b: Bulk | undefined): string => {
    if (!b) return '-';
    if (r.baud) return `${percentOfLine(b.bytesPerSecond, r.baud).toFixed(1)}%`;
    return `${(b.bytesPerSecond / MiB).toFixed(2)} MiB/s`;
  };
  let line = `${r.name}: up ${f(r.upload)}, down ${f(r.download)}, echo each way ${f(r.echo)}`;
  if (r.rpcRoundTrip)
    line +=
      `\n  request round trip p50 ${r.rpcRoundTrip.p50us} µs p99 ${r.rpcRoundTrip.p99us} µs; ` +
      `echo 16 B p50 ${r.echoRoundTrip?.p50us} µs`;
  return line;
}

await main();

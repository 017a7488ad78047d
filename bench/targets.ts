/**
 * The bench's goals (issue 14), checked against a run's rows: paced SLIP as % of line rate and
 * never below ESP-AT on the same line, unpaced MiB/s, the noisy line's goodput, round trips.
 */
import { lineRate, type Row } from './rows.js';

export interface Target {
  name: string;
  actual: number;
  target: number;
  unit: string;
  higherIsBetter: boolean;
  met: boolean;
}

const MiB = 1 << 20;

/** % of the line's byte rate (8N1) that a transfer reached. */
export function percentOfLine(bytesPerSecond: number, baud: number): number {
  return (100 * bytesPerSecond) / lineRate(baud);
}

export function targets(rows: Row[]): Target[] {
  const out: Target[] = [];
  const add = (name: string, actual: number, target: number, unit: string, higherIsBetter = true): void => {
    const met = higherIsBetter ? actual >= target : actual <= target;
    out.push({ name, actual: Math.round(actual * 10) / 10, target, unit, higherIsBetter, met });
  };
  for (const r of rows.filter((x) => x.protocol === 'slip' && x.baud && x.noisySeed === undefined)) {
    const baud = r.baud as number;
    const at = rows.find((x) => x.protocol === 'at' && x.transport === r.transport && x.baud === baud);
    for (const [what, goal] of [
      ['upload', 95],
      ['download', 95],
      ['echo', 90],
    ] as const) {
      const slip = r[what];
      if (!slip) continue;
      const pct = percentOfLine(slip.bytesPerSecond, baud);
      add(`${r.name} ${what}, % of line rate`, pct, goal, '%');
      const other = at?.[what];
      if (other) add(`${r.name} ${what} vs ESP-AT, points`, pct - percentOfLine(other.bytesPerSecond, baud), 0, 'pts');
    }
  }
  const noisy = rows.find((r) => r.noisySeed !== undefined && r.baud);
  if (noisy)
    add(`${noisy.name} download goodput`, percentOfLine(noisy.download.bytesPerSecond, noisy.baud as number), 70, '%');
  const mib = (b: { bytesPerSecond: number }): number => b.bytesPerSecond / MiB;
  const unpaced = (t: Row['transport']): Row | undefined =>
    rows.find((r) => r.protocol === 'slip' && r.transport === t && !r.baud);
  const inproc = unpaced('in-process');
  if (inproc) {
    add('slip in-process unpaced upload', mib(inproc.upload), 100, 'MiB/s');
    add('slip in-process unpaced download', mib(inproc.download), 100, 'MiB/s');
    if (inproc.rpcRoundTrip) add('slip in-process request round trip p50', inproc.rpcRoundTrip.p50us, 20, 'µs', false);
  }
  const pty = unpaced('pty');
  if (pty?.echo) add('slip pty unpaced echo each way', mib(pty.echo), 20, 'MiB/s');
  if (pty?.rpcRoundTrip) add('slip pty request round trip p50', pty.rpcRoundTrip.p50us, 150, 'µs', false);
  return out;
}

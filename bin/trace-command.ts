/**
 * `netcoproc trace FILE.pcapng`: the serial conversation of a trace (`emulate --trace`, or
 * `openDevice(…, { trace })`) as readable text, without Wireshark:
 *
 * ```
 *   0.000 dev→host  BOOT version 1 bootNonce 07511aa7f063907a
 *   6.455 host→dev  #1 HELLO version 1 maxFrame 4096 rxWindow 65536
 *   6.488 dev→host  #4 CONNECT EINPROGRESS
 * ```
 */
import { readFileSync } from 'node:fs';
import { SerialDescriber } from '../firmware-protocol/trace/describe.js';
import { LINKTYPE_USER0, readPcapng } from '../firmware-protocol/trace/pcapng.js';
import { decodeRecord } from '../firmware-protocol/trace/serial-records.js';
import { type Command, flag, UsageError } from './args.js';

/** The text lines of a trace file's serial records; the network's packets are only counted. */
export function traceLines(file: Uint8Array, opts: { absolute?: boolean } = {}): string[] {
  const packets = readPcapng(file);
  const describer = new SerialDescriber();
  const first = packets[0]?.timestampUs ?? 0;
  const lines: string[] = [];
  let network = 0;
  for (const p of packets) {
    const r = p.linkType === LINKTYPE_USER0 ? decodeRecord(p.data) : undefined;
    if (!r) {
      network++;
      continue;
    }
    const when = opts.absolute
      ? new Date(p.timestampUs / 1000).toISOString()
      : ((p.timestampUs - first) / 1e6).toFixed(3).padStart(8);
    lines.push(`${when} ${describer.line(r)}`);
  }
  if (network) lines.push(`(${network} network packets: open the file in Wireshark to see them)`);
  return lines;
}

export const TRACE: Command = {
  name: 'trace',
  summary: 'print the serial conversation of a pcapng trace as readable text',
  positionals: [
    { name: 'FILE.pcapng', help: 'a trace from `emulate --trace` or openDevice(…, { trace })', required: true },
  ],
  options: [{ name: 'absolute', help: 'print wall-clock times instead of seconds since the first packet' }],
  notes: `One line per SLIP frame or AT line, with its direction, op name, sequence number, socket,
lengths and errno names. Wireshark shows the same with firmware-protocol/wireshark/netcoproc.lua:
  wireshark -X lua_script:node_modules/netcoproc/firmware-protocol/wireshark/netcoproc.lua FILE.pcapng`,
  async run({ values, positionals }) {
    const [path, ...extra] = positionals;
    if (path === undefined) throw new UsageError('no trace file given');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let lines: string[];
    try {
      lines = traceLines(bytes, { absolute: flag(values, 'absolute') });
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
    process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
    return 0;
  },
};

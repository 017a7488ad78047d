/**
 * What `netcoproc trace` prints: the serial records of a pcapng trace as text lines. Loaded by
 * trace-command.ts only when the command runs (the pcapng reader and decoders are not needed
 * by any other command).
 */
import { SerialDescriber } from '../firmware-protocol/trace/describe.js';
import { LINKTYPE_USER0, readPcapng } from '../firmware-protocol/trace/pcapng.js';
import { decodeRecord } from '../firmware-protocol/trace/serial-records.js';

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

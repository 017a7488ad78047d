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
import { type Command, flag, UsageError } from './args.js';

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
    const { traceLines } = await import('./trace.js');
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

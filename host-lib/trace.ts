/**
 * `openDevice(loc, { trace: 'FILE.pcapng' })`: records the serial conversation as the host sees
 * it, one packet per SLIP frame or AT line (firmware-protocol/trace), on any transport — a real
 * board's serial port included. The driver talks to a tap around the link; the file is complete
 * once `dev.close()` has resolved (or the link has closed).
 */
import type { Duplex } from 'node:stream';
import { openTraceFile, tapDuplex } from '../firmware-protocol/trace/index.js';

export interface TracedLink {
  /** The stream the driver uses. */
  readonly stream: Duplex;
  /** Writes what is pending and closes the file (also done when the link closes). */
  close(): void;
}

export function traceLink(link: Duplex, path: string, protocol: 'slip' | 'at' | 'auto'): TracedLink {
  const file = openTraceFile(path, { side: 'host', protocol, application: 'netcoproc host' });
  const rec = file.recorder;
  const stream = tapDuplex(link, (dir, chunk) => rec.serial(dir === 'out' ? 'hostToDevice' : 'deviceToHost', chunk));
  stream.once('close', () => file.close());
  return { stream, close: () => file.close() };
}

/**
 * `--trace FILE.pcapng` on the emulator: an observer that records the board's UART (what the
 * host wrote and what the board answered), its network traffic and its faults in a pcapng file.
 *
 * ```ts
 * const trace = openEmulatorTrace('run.pcapng', 'slip');
 * const emu = createEmulator({ observers: [trace.observer] });
 * ...
 * trace.close();
 * ```
 */
import { openTraceFile } from '../../firmware-protocol/trace/file.js';
import type { FaultEvent } from '../faults/index.js';
import type { EmulatorObserver } from './observer.js';

export interface EmulatorTrace {
  readonly observer: EmulatorObserver;
  /** A line of its own in the serial conversation (host attached, detached, busy). */
  note(text: string): void;
  /** Writes what is pending and closes the file. */
  close(): void;
}

/** Line faults are too many to note one by one (a lossy line), the rest are events worth a line. */
function faultNote(e: FaultEvent): string | undefined {
  if (e.kind === 'corrupt' || e.kind === 'drop' || e.kind === 'insert' || e.kind.startsWith('udp-')) return undefined;
  return `fault: ${e.kind}${e.host ? ` ${e.host}` : ''}`;
}

export function openEmulatorTrace(path: string, protocol: 'slip' | 'at'): EmulatorTrace {
  const file = openTraceFile(path, { side: 'device', protocol, application: 'netcoproc emulate' });
  const rec = file.recorder;
  return {
    observer: {
      serial: (dir, chunk) => rec.serial(dir, chunk),
      net: rec,
      fault: (e) => {
        const text = faultNote(e);
        if (text) rec.note(text);
      },
    },
    note: (text) => rec.note(text),
    close: () => file.close(),
  };
}

/**
 * A trace written to a file. Blocks are gathered and written in batches (at the end of the
 * event-loop turn, or at 64 KiB), with synchronous writes: a batch is on disk before anything
 * else runs, so a process that dies leaves a file readable up to its last batch, and `close()`
 * leaves it complete at once.
 *
 * ```ts
 * const trace = openTraceFile('run.pcapng', { side: 'host', protocol: 'slip' });
 * trace.recorder.serial('hostToDevice', bytes);
 * trace.close();
 * ```
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { type RecorderOptions, TraceRecorder } from './recorder.js';

const BATCH = 64 * 1024;

export interface TraceFile {
  readonly path: string;
  readonly recorder: TraceRecorder;
  /** Writes what is pending and closes the file; later records are ignored. Idempotent. */
  close(): void;
}

export class TraceFileError extends Error {
  readonly code = 'ETRACEFILE';
}

/** Opens (truncates) `path`; throws TraceFileError naming the file when it cannot be created. */
export function openTraceFile(path: string, opts: Omit<RecorderOptions, 'sink'>): TraceFile {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new TraceFileError(`cannot create trace ${path}: ${(err as Error).message}`);
  }
  let pending: Uint8Array[] = [];
  let size = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (fd === undefined || size === 0) return;
    const batch = Buffer.concat(pending, size);
    pending = [];
    size = 0;
    try {
      writeSync(fd, batch);
    } catch (err) {
      // A full disk must not take the program down with it: the trace stops, loudly.
      process.emitWarning(`trace ${path} stopped: ${(err as Error).message}`);
      closeSync(fd);
      fd = undefined;
    }
  };
  const sink = (b: Uint8Array): void => {
    if (fd === undefined) return;
    pending.push(b);
    size += b.length;
    if (size >= BATCH) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const recorder = new TraceRecorder({ ...opts, sink });
  return {
    path,
    recorder,
    close() {
      flush();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

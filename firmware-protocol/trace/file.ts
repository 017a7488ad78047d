/**
 * A trace written to a file: the recorder's blocks go through one write stream, so tracing
 * never blocks the event loop on the disk. `close()` resolves once everything is on disk.
 *
 * ```ts
 * const trace = openTraceFile('run.pcapng', { side: 'host', protocol: 'slip' });
 * trace.recorder.serial('hostToDevice', bytes);
 * await trace.close();
 * ```
 */
import { createWriteStream } from 'node:fs';
import { type RecorderOptions, TraceRecorder } from './recorder.js';

export interface TraceFile {
  readonly path: string;
  readonly recorder: TraceRecorder;
  /** Rejects, naming the file, when it could not be written. */
  close(): Promise<void>;
}

export function openTraceFile(path: string, opts: Omit<RecorderOptions, 'sink'>): TraceFile {
  const out = createWriteStream(path);
  let failure: Error | undefined;
  out.on('error', (err) => {
    failure = new Error(`cannot write trace ${path}: ${err.message}`);
  });
  const recorder = new TraceRecorder({ ...opts, sink: (b) => (failure || out.destroyed ? undefined : out.write(b)) });
  let closing: Promise<void> | undefined;
  return {
    path,
    recorder,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        if (out.destroyed) return failure ? reject(failure) : resolve();
        out.end(() => (failure ? reject(failure) : resolve()));
        out.once('error', () => reject(failure));
      });
      return closing;
    },
  };
}

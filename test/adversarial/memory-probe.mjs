// Preloaded into an emulator child by the adversarial suites (`node --expose-gc --import THIS`):
// on SIGUSR2 it runs a full GC and prints one `memory-probe {...}` line (KiB) to stderr, so a test
// can tell memory the process still holds (heap and ArrayBuffers alive after a GC) from the
// resident high-water mark that garbage awaiting collection leaves behind.
import v8 from 'node:v8';

process.on('SIGUSR2', () => {
  const kib = (n) => Math.round(n / 1024);
  const before = process.memoryUsage();
  globalThis.gc?.();
  const after = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, kib(s.space_used_size)]));
  const line = {
    gc: typeof globalThis.gc === 'function',
    garbageArrayBuffers: kib(before.arrayBuffers - after.arrayBuffers),
    heapUsed: kib(after.heapUsed),
    arrayBuffers: kib(after.arrayBuffers),
    external: kib(after.external),
    rss: kib(after.rss),
    spaces,
  };
  process.stderr.write(`memory-probe ${JSON.stringify(line)}\n`);
});

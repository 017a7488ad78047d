import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { syncSerialIo } from './sync-io.js';

// The patch is best effort (it falls back silently on a bindings-cpp it does not recognise), so
// this test is what notices when an upgrade of serialport makes it stop applying.
describe('syncSerialIo', () => {
  it.skipIf(process.platform === 'win32')('patches the installed serialport binding, once', () => {
    const req = createRequire(createRequire(import.meta.url).resolve('serialport'));
    const binding = req(
      process.platform === 'darwin'
        ? '@serialport/bindings-cpp/dist/darwin.js'
        : '@serialport/bindings-cpp/dist/linux.js',
    );
    const proto = (binding.LinuxPortBinding ?? binding.DarwinPortBinding).prototype;
    syncSerialIo();
    const read = proto.read;
    expect(proto.__netcoprocSyncIo).toBe(true);
    syncSerialIo();
    expect(proto.read).toBe(read);
  });
});

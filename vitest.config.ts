import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'firmware-protocol/**/*.test.ts',
      'emulator/**/*.test.ts',
      'host-lib/**/*.test.ts',
      'test/**/*.test.ts',
      'fixtures/**/*.test.ts',
      'bin/**/*.test.ts',
    ],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // The JSON report feeds .ci/run's closing 'N passed, N failed' line.
    reporters: ['default', ['json', { outputFile: process.env.NETCOPROC_REPORT ?? '.vitest-results.json' }]],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration tests share one Temporal server and one MinIO started by the global setup.
    globalSetup: ['test/setup/stack.ts'],
    setupFiles: ['test/setup/quietTemporal.ts'],
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});

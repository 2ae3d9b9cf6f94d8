import { defineConfig } from 'vitest/config';

// Options every project repeats (not `extends: true`, which would start the global setup's
// services once more per project).
const common = {
  testTimeout: 120_000,
  hookTimeout: 600_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // Integration tests share one Temporal server and one MinIO started by the global setup.
    globalSetup: ['test/setup/stack.ts'],
    reporters: ['default'],
    projects: [
      {
        // Unit tests (pure code, mostly one thread each) two files at a time on 2 cores, as
        // `npm run test:unit` runs them; first, so a broken unit fails the run early. No setup
        // file: loading Temporal's worker runtime cost each unit file about 0.7 CPU s, and only
        // the replay test starts a worker (it loads the quiet logger itself).
        test: { ...common, name: 'unit', include: ['test/unit/**/*.test.ts'], maxWorkers: 2 },
      },
      {
        // One file at a time: integration files assert latencies, speed ratios and deadlines,
        // kill processes mid-step, and some read server-wide lists (schedules), so they do not
        // share the machine with each other. Tried two at a time (2026-11-30, at load 14 to 24 from
        // other work): two files ran past their 120 s test timeouts.
        test: {
          ...common,
          name: 'integration',
          // Workers in tests report only warnings and errors.
          setupFiles: ['test/setup/quietTemporal.ts'],
          include: ['test/integration/**/*.test.ts', 'test/browser/**/*.test.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});

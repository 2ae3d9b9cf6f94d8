import { defineConfig } from 'vitest/config';

/**
 * Files that must not share the machine with another test file: they assert a latency, a speed
 * ratio or a deadline (the quick bench, serve's swap latency, training's responsiveness, TLS
 * failures within 10 s, the cache's speed-up, bad input refused within 40 s, a restart within 30 s,
 * credentials within 5 s), measure their own memory while forcing a GC every 50 ms (the store
 * contract's 50 MB streams: starved of CPU they ran past their 120 s), kill processes mid-step and need the step to still be running (faults,
 * training resume), drive a browser against timeouts, or read a server-wide list (firstHour
 * expects no schedule at all). They run one at a time, after the others.
 */
const alone = [
  'test/integration/benchQuick.test.ts',
  'test/integration/faults.test.ts',
  'test/integration/serve.test.ts',
  'test/integration/trainingResponsive.test.ts',
  'test/integration/temporalTls.test.ts',
  'test/integration/trainToDeploy.test.ts',
  'test/integration/trainingResume.test.ts',
  'test/integration/badInput.test.ts',
  'test/integration/infra.test.ts',
  'test/integration/s3Credentials.test.ts',
  'test/integration/firstHour.test.ts',
  'test/browser/console.test.ts',
  'test/integration/artifactStore.contract.test.ts',
];

// Options every project repeats (not `extends: true`, which would start the global setup's
// services once more per project).
const common = {
  testTimeout: 120_000,
  hookTimeout: 600_000,
  setupFiles: ['test/setup/quietTemporal.ts'],
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // Integration tests share one Temporal server and one MinIO started by the global setup; each
    // pipeline world has its own task queues and artifact prefix, so files do not see each other.
    globalSetup: ['test/setup/stack.ts'],
    reporters: ['default'],
    projects: [
      {
        // Two files at a time: most of an integration file's time is waiting (Temporal's task
        // dispatch, polls, child processes starting), which the other file's work fills.
        test: { ...common, name: 'paired', include: ['test/**/*.test.ts'], exclude: alone, maxWorkers: 2 },
      },
      { test: { ...common, name: 'alone', include: alone, fileParallelism: false } },
    ],
  },
});

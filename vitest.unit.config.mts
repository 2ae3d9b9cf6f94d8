import { defineConfig } from 'vitest/config';

/** Unit tests only: pure code, no services started. `npx vitest run --config vitest.unit.config.mts`. */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});

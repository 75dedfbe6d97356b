import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Enforcement tests spawn real processes; some (limits, lifecycle) take seconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Process-heavy suites must not starve each other on a 2-core machine.
    fileParallelism: true,
    maxWorkers: 2,
  },
});

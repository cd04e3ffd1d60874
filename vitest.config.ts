import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests that start servers or train models are CPU-heavy; on 2 cores, run files two at a time.
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
  },
});

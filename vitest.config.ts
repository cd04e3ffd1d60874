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
    // Tests that use the tfjs cpu backend directly (not through runner/model/runtime.ts, which
    // quiets it) would print its "install our node backend" advice once per file: noise.
    onConsoleLog(log) {
      if (log.includes('install our node backend')) return false;
    },
  },
});
// Reliability under load: vitest's worker answers its parent only when its event loop runs. A test
// body that blocks it (spawnSync of a long command, back-to-back synchronous tests) for more than a
// minute ends in "Timeout calling onTaskUpdate" (a fixed 60 s RPC timeout, not configurable):
// tests run commands with tests/helpers/launch-sweep.ts `runCommand` / `runMmrun`, not spawnSync.

import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSystemSamples, startSystemSampler, systemMetricsOf, SYSTEM_METRICS_FILE } from '../../runner/track/system-metrics.ts';
import { waitFor } from '../helpers/launch-sweep.ts';

describe('system metrics', () => {
  it('samples at start and at stop under MLflow system/ names, one step per sample', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmrun-sys-'));
    const controlDir = mkdtempSync(join(tmpdir(), 'mmrun-sys-'));
    try {
      const sampler = startSystemSampler(dir, { intervalS: 0.05 });
      // Wait for samples (a state, not a time): at least 3 written.
      await waitFor('3 samples written', () => readSystemSamples(dir).length >= 3, 60_000);
      sampler.stop();
      const samples = readSystemSamples(dir);
      expect(samples.length).toBeGreaterThanOrEqual(3);
      const last = samples[samples.length - 1].metrics;
      // CPU use needs CPU time to have passed since the previous sample: a sample in the same clock
      // tick as the one before (the first timer and the interval both at 50 ms; stop() right after a
      // timer's) has none.
      const cpu = samples.map((s) => s.metrics.cpu_utilization_percentage).filter((v) => v !== undefined);
      expect(cpu.length).toBeGreaterThanOrEqual(1);
      for (const v of cpu) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(100);
      }
      expect(last.system_memory_usage_megabytes).toBeGreaterThan(0);
      expect(last.disk_usage_percentage).toBeGreaterThan(0);
      const count = samples.length;
      // Stopped means stopped. Absence has no state of its own to wait for, so wait for a witness:
      // a second sampler with the same interval, on the same event loop, writes 3 samples; the
      // stopped one's timer would have fired as often (a fixed sleep proves nothing on a busy machine).
      const control = startSystemSampler(controlDir, { intervalS: 0.05 });
      await waitFor('3 samples from a second sampler', () => readSystemSamples(controlDir).length >= 3, 60_000);
      control.stop();
      expect(readSystemSamples(dir).length).toBe(count);

      appendFileSync(join(dir, SYSTEM_METRICS_FILE), '{"t":"2026-01-01T00:0'); // torn last line
      expect(readSystemSamples(dir)).toHaveLength(count);
      const metrics = systemMetricsOf(samples, 5);
      expect(new Set(metrics.map((m) => m.key))).toContain('system/cpu_utilization_percentage');
      expect(metrics.filter((m) => m.key === 'system/system_memory_usage_megabytes').map((m) => m.step)).toEqual(samples.map((_, i) => 5 + i));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(controlDir, { recursive: true, force: true });
    }
  });
});

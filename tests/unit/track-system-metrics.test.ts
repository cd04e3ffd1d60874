import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSystemSamples, startSystemSampler, systemMetricsOf, SYSTEM_METRICS_FILE } from '../../runner/track/system-metrics.ts';

describe('system metrics', () => {
  it('samples at start and at stop under MLflow system/ names, one step per sample', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmrun-sys-'));
    try {
      const sampler = startSystemSampler(dir, { intervalS: 0.05 });
      // Wait for samples (a state, not a time): at least 3 written.
      const deadline = Date.now() + 20_000;
      while (readSystemSamples(dir).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      sampler.stop();
      const samples = readSystemSamples(dir);
      expect(samples.length).toBeGreaterThanOrEqual(3);
      const last = samples[samples.length - 1].metrics;
      expect(last.cpu_utilization_percentage).toBeGreaterThanOrEqual(0);
      expect(last.cpu_utilization_percentage).toBeLessThanOrEqual(100);
      expect(last.system_memory_usage_megabytes).toBeGreaterThan(0);
      expect(last.disk_usage_percentage).toBeGreaterThan(0);
      const count = samples.length;
      await new Promise((r) => setTimeout(r, 200));
      expect(readSystemSamples(dir).length).toBe(count); // stopped means stopped

      appendFileSync(join(dir, SYSTEM_METRICS_FILE), '{"t":"2026-01-01T00:0'); // torn last line
      expect(readSystemSamples(dir)).toHaveLength(count);
      const metrics = systemMetricsOf(samples, 5);
      expect(new Set(metrics.map((m) => m.key))).toContain('system/cpu_utilization_percentage');
      expect(metrics.filter((m) => m.key === 'system/system_memory_usage_megabytes').map((m) => m.step)).toEqual(samples.map((_, i) => 5 + i));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

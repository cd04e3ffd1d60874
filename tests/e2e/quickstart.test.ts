/**
 * The README's main job, end to end through the CLI on a shrunken copy of the quickstart study:
 * plan → dataset → every run trained in its own process → status → compare → report; then a
 * second `mmrun run` does nothing. Slow (trains real models): kept small enough for CI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMmrun } from '../helpers/launch-sweep.ts';
import { writeShrunkQuickstart } from '../helpers/shrunk-quickstart.ts';
import { tempFiles } from '../helpers/tmp.ts';

const mmrun = (cwd: string, ...args: string[]) => runMmrun(args, { cwd, env: { ...process.env, MLFLOW_TRACKING_URI: '' }, timeoutMs: 600_000 });

describe('quickstart, shrunk', () => {
  it('runs every planned run once, then compares and reports them', { timeout: 900_000 }, async () => {
    const t = tempFiles();
    const file = writeShrunkQuickstart(t.dir, { name: 'quickstart-tiny', imageFraction: 0.02, maxTest: 300, retrievalPool: 100, embeddingsSample: 50 });
    const plan = JSON.parse((await mmrun(t.dir, 'plan', file, '--json')).stdout) as { runs: { id: string }[] };
    expect(plan.runs).toHaveLength(8);

    const first = await mmrun(t.dir, 'run', file);
    expect(first.stderr + first.stdout).not.toMatch(/internal error/);
    expect(first.status).toBe(0);
    for (const run of plan.runs) {
      const dir = join(t.dir, 'artifacts/runs', run.id);
      expect(JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).state).toBe('finished');
      const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
      for (const metric of ['image_acc', 'text_acc', 'modality_gap', 'retrieval_i2t_r1', 'transfer_text_to_image_acc']) {
        expect(typeof summary.final[metric]).toBe('number');
      }
      // 2% of MNIST is ~1,000 images: far above the 10% of chance after 3 epochs.
      expect(summary.final.image_acc).toBeGreaterThan(0.5);
    }

    const again = await mmrun(t.dir, 'run', file);
    expect(again.status).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/8 finished|nothing to do|already finished/i);

    const compare = await mmrun(t.dir, 'compare', file, '--format', 'json');
    expect(compare.status).toBe(0);
    expect(compare.stdout.length).toBeGreaterThan(10);

    const report = await mmrun(t.dir, 'report', file);
    expect(report.status).toBe(0);
    expect(existsSync(join(t.dir, 'artifacts/reports/quickstart-tiny/report.html'))).toBe(true);
  });
});

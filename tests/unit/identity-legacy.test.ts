// Run directories written by the previous id scheme (identity v1) stay usable: the fixture
// tests/fixtures/config/legacy-store was written by mmrun before issue 16 (3 finished runs, 1 failed).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSweep } from '../../runner/launch/index.ts';
import { planExperiment } from '../../runner/plan-experiment.ts';
import { loadStudy } from '../../runner/report/study.ts';
import { ROOT, runMmrun } from '../helpers/launch-sweep.ts';

import { LEGACY_IDS, legacyCopy } from '../helpers/legacy-store.ts';

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('run directories of the previous id scheme', () => {
  it('are renamed once to their current id, keeping the old one as legacyId', () => {
    const { dir, file } = legacyCopy();
    const { plan, adopted } = planExperiment(file, { adoptLegacyRunsIn: true });
    const ids = plan.runs.map((r) => r.id);
    expect(ids.some((id) => LEGACY_IDS.includes(id))).toBe(false); // the scheme did change
    expect(new Set(adopted.map((a) => `${a.from} → ${a.to}`))).toEqual(new Set(LEGACY_IDS.map((from, i) => `${from} → ${ids[i]}`)));
    expect(readdirSync(join(dir, 'runs')).sort()).toEqual([...ids].sort());
    ids.forEach((id, i) => {
      const spec = json(join(dir, 'runs', id, 'spec.json'));
      expect([spec.id, spec.legacyId]).toEqual([id, LEGACY_IDS[i]]);
      expect(json(join(dir, 'runs', id, 'status.json')).runId).toBe(id);
    });
    // a second planning finds nothing left to move
    expect(planExperiment(file, { adoptLegacyRunsIn: true }).adopted).toEqual([]);
  });

  it('plan and validate never move anything', () => {
    const { dir, file } = legacyCopy();
    planExperiment(file);
    expect(readdirSync(join(dir, 'runs')).sort()).toEqual([...LEGACY_IDS].sort());
  });

  it('`mmrun status` shows them finished (and the failed one failed)', async () => {
    const { file } = legacyCopy();
    const r = await runMmrun(['status', file, '--json'], { cwd: ROOT, env: process.env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout).runs as { state: string }[];
    expect(rows.map((x) => x.state)).toEqual(['finished', 'finished', 'finished', 'failed']);
  });

  it('`mmrun compare` (loadStudy) reads their results, with no orphans', () => {
    const { file } = legacyCopy();
    const study = loadStudy(file);
    expect(study.runs.map((r) => r.state)).toEqual(['finished', 'finished', 'finished', 'failed']);
    expect(study.runs[0].final?.image_acc).toBeGreaterThan(0);
    expect(study.orphans).toEqual([]);
  });

  it('`mmrun run` does not run a finished one again', async () => {
    const { dir, file } = legacyCopy();
    const ids = planExperiment(file).plan.runs.map((r) => r.id);
    const out: string[] = [];
    const outcome = await runSweep({ file, only: [ids[0], ids[2]], prepare: false, tty: false, write: (s) => out.push(s), workerCommand: ['false'] });
    expect(outcome.exitCode).toBe(0);
    expect(out.join('')).toMatch(/nothing to do: all 2 runs of sweep \S+ already finished/);
    expect(existsSync(join(dir, 'runs', ids[0], 'summary.json'))).toBe(true);
  });
});

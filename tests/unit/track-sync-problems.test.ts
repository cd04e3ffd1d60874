// One run directory whose spec.json is damaged is that run's problem: the sync reports it by file
// and goes on, instead of stopping every other run's sync.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../runner/track/run-store.ts';
import { syncRuns } from '../../runner/track/sync.ts';
import type { SyncSession } from '../../runner/track/sync-session.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('sync with a damaged spec.json', () => {
  it('reports the file and does not throw', async () => {
    const t = tempFiles();
    const plan = quickstartPlan();
    const store = RunStore.create(join(t.dir, 'artifacts'), plan.runs[0], { sweepId: plan.sweepId, experimentFile: plan.file });
    writeFileSync(store.path('spec'), '{"id": "truncated');
    const untouchable = new Proxy(
      {},
      {
        get: (_, key) => {
          if (key === 'uri') return 'http://127.0.0.1:9';
          throw new Error(`no request may be made for a run that cannot be read (session.${String(key)})`);
        },
      },
    );
    const report = await syncRuns({ runDirs: [store.dir], session: untouchable as SyncSession });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toContain(store.path('spec'));
    expect(report.problems[0]).toMatch(/not synced/);
  });
});

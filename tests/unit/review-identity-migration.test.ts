// Review of issue 16 (migration of run directories named by identity v1): a kill between the
// steps, two processes, an existing target, and a read-only store never lose or mislabel a run.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planExperiment } from '../../runner/plan-experiment.ts';
import { migrateRunDir } from '../../runner/track/legacy-runs.ts';
import { legacyRunId } from '../../runner/sweep/identity.ts';

import { LEGACY_IDS, legacyCopy } from '../helpers/legacy-store.ts';

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('migrating a run directory', () => {
  it('a kill after the ids were rewritten but before the rename is finished by the next command', () => {
    const { dir, file } = legacyCopy();
    const ids = planExperiment(file).plan.runs.map((r) => r.id);
    // what an interrupted migration leaves: the ids in runs/<old> already name the new id
    const old = join(dir, 'runs', LEGACY_IDS[0]);
    writeFileSync(join(old, 'spec.json'), JSON.stringify({ ...json(join(old, 'spec.json')), id: ids[0], legacyId: LEGACY_IDS[0] }));
    const { adopted } = planExperiment(file, { adoptLegacyRunsIn: true });
    expect(adopted.map((a) => a.to).sort()).toEqual([...ids].sort());
    expect(json(join(dir, 'runs', ids[0], 'spec.json'))).toMatchObject({ id: ids[0], legacyId: LEGACY_IDS[0] });
    expect(json(join(dir, 'runs', ids[0], 'status.json')).runId).toBe(ids[0]);
  });

  it('a moved directory always records its new id (ids are rewritten before the rename)', () => {
    const { dir, file } = legacyCopy();
    const ids = planExperiment(file).plan.runs.map((r) => r.id);
    migrateRunDir(dir, LEGACY_IDS[0], ids[0]);
    expect(json(join(dir, 'runs', ids[0], 'spec.json')).id).toBe(ids[0]);
    expect(json(join(dir, 'runs', ids[0], 'summary.json')).runId).toBe(ids[0]);
  });

  it('a second process arriving after the move does nothing and does not throw', () => {
    const { dir, file } = legacyCopy();
    const ids = planExperiment(file).plan.runs.map((r) => r.id);
    migrateRunDir(dir, LEGACY_IDS[0], ids[0]);
    const after = readFileSync(join(dir, 'runs', ids[0], 'spec.json'), 'utf8');
    expect(() => migrateRunDir(dir, LEGACY_IDS[0], ids[0])).not.toThrow();
    expect(readFileSync(join(dir, 'runs', ids[0], 'spec.json'), 'utf8')).toBe(after);
  });

  it('never renames onto a directory that holds anything; an empty leftover folder is replaced', () => {
    const { dir, file } = legacyCopy();
    const ids = planExperiment(file).plan.runs.map((r) => r.id);
    mkdirSync(join(dir, 'runs', ids[0]));
    writeFileSync(join(dir, 'runs', ids[0], 'log.txt'), 'someone else');
    mkdirSync(join(dir, 'runs', ids[1])); // empty: a launcher killed before it wrote spec.json
    const { adopted } = planExperiment(file, { adoptLegacyRunsIn: true });
    expect(adopted.map((a) => a.from).sort()).toEqual(LEGACY_IDS.slice(1).sort());
    expect(readdirSync(join(dir, 'runs', ids[0]))).toEqual(['log.txt']);
    expect(existsSync(join(dir, 'runs', LEGACY_IDS[0], 'summary.json'))).toBe(true);
    expect(json(join(dir, 'runs', ids[1], 'spec.json')).legacyId).toBe(LEGACY_IDS[1]);
  });
});

describe('several old directories for one current id', () => {
  it('the finished one is adopted, not whichever the folder listing gives first', () => {
    const { dir, file } = legacyCopy();
    const ids = planExperiment(file).plan.runs.map((r) => r.id);
    // The same run launched twice under v1 with another backend (v1 hashed it, v2 does not):
    // the original failed, the re-launch finished.
    const original = join(dir, 'runs', LEGACY_IDS[0]);
    const spec = json(join(original, 'spec.json'));
    const config = { ...spec.config, model: { ...spec.config.model, backend: 'cpu' } };
    const twin = legacyRunId(config, spec.seed);
    expect(twin).not.toBe(LEGACY_IDS[0]);
    cpSync(original, join(dir, 'runs', twin), { recursive: true });
    writeFileSync(join(dir, 'runs', twin, 'spec.json'), JSON.stringify({ ...spec, id: twin, config }));
    writeFileSync(join(dir, 'runs', twin, 'status.json'), JSON.stringify({ ...json(join(original, 'status.json')), runId: twin, endedAt: '2026-02-01T00:00:00.000Z' }));
    writeFileSync(join(original, 'status.json'), JSON.stringify({ ...json(join(original, 'status.json')), state: 'failed' }));

    const { adopted } = planExperiment(file, { adoptLegacyRunsIn: true });
    expect(adopted.find((a) => a.to === ids[0])?.from).toBe(twin);
    expect(json(join(dir, 'runs', ids[0], 'status.json')).state).toBe('finished');
    expect(existsSync(original)).toBe(true); // the failed one is left where it was
  });
});

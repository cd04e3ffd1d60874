// Pinned identity values: the source fingerprint, the dataset hash and a run id of a fixed small
// fixture. Existing dataset and result folders are found by these values, so a refactor of how
// files are hashed or where the fingerprint cache lives must leave them byte-identical. A change
// here means every user's datasets are rebuilt and their runs are no longer found.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetLocation } from '../../runner/data/build.ts';
import { sourceFingerprint } from '../../runner/data/sources/fingerprint.ts';
import { planExperiment } from '../../runner/plan-experiment.ts';
import { tempFiles } from '../helpers/tmp.ts';

const FIXTURE = {
  'data/cat/1.png': 'cat one',
  'data/cat/2.png': 'cat two',
  'data/dog/1.png': 'dog one',
  'data/.hidden': 'hidden files are not data',
  'exp.yaml': 'name: x\ndataset: {source: image-folder, path: data}\n',
};
const FINGERPRINT = 'eacdebb14635e552';

describe('pinned identity values', () => {
  it('the source fingerprint of a fixed folder, computed cold and then from the cache', () => {
    const t = tempFiles(FIXTURE);
    const env = { ...process.env, MMRUN_CACHE_DIR: t.path('cache') };
    const dataset = { source: 'image-folder' as const, path: t.path('data') };
    expect(sourceFingerprint(dataset, { env })).toBe(FINGERPRINT);
    const cached = JSON.parse(readFileSync(t.path('cache/source-fingerprints.json'), 'utf8'));
    expect(Object.keys(cached).sort()).toEqual([t.path('data/cat/1.png'), t.path('data/cat/2.png'), t.path('data/dog/1.png')]);
    expect(sourceFingerprint(dataset, { env })).toBe(FINGERPRINT);
  });

  it('the embedded MNIST package', () => {
    const env = { ...process.env, MMRUN_CACHE_DIR: tempFiles().path('cache') };
    expect(sourceFingerprint({ source: 'mnist' }, { env })).toBe('2983179a20ed1594');
  });

  it('the dataset hash and the run id of a fixed experiment', () => {
    const t = tempFiles(FIXTURE);
    const saved = process.env.MMRUN_CACHE_DIR;
    process.env.MMRUN_CACHE_DIR = t.path('cache'); // datasetLocation reads the process env
    try {
      const runs = planExperiment(t.path('exp.yaml'), { env: process.env }).plan.runs;
      expect(runs.map((r) => r.id)).toEqual(['1d7e1fd97eab']);
      const loc = datasetLocation(runs[0].config, t.path('artifacts'));
      expect(loc.hash).toBe('c5603f0ee401');
      expect(loc.dir).toBe(join(t.path('artifacts'), 'datasets', 'image-folder-data-c5603f0ee401'));
    } finally {
      if (saved === undefined) delete process.env.MMRUN_CACHE_DIR;
      else process.env.MMRUN_CACHE_DIR = saved;
    }
  });
});

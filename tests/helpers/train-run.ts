// Run directories for training tests: a tiny experiment (synthetic 8×8 data, very small model)
// written as YAML, loaded and planned like a real one, and its first run's directory created.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadExperiment } from '../../runner/config/index.ts';
import { planSweep } from '../../runner/sweep/index.ts';
import { RunStore } from '../../runner/track/run-store.ts';

export const TINY_MODEL = {
  backend: 'cpu',
  image: { preset: 'small', filters: [4, 8], dense: 16 },
  text: { preset: 'small', width: 16, heads: 2, mlp: 32, layers: 1, max_len: 12, vocab_size: 100 },
  projection: { dim: 16, layers: 1, normalize: true },
  head: 'shared',
};

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev) ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Writes the experiment under `root`, returns the run directories of its planned runs. */
export function makeRuns(root: string, overrides: Record<string, unknown> = {}): { artifactsDir: string; runDirs: string[] } {
  mkdirSync(root, { recursive: true });
  const artifactsDir = join(root, 'artifacts');
  const doc = deepMerge(
    {
      name: 'train-test',
      artifacts_dir: artifactsDir,
      dataset: { source: 'mnist' },
      model: TINY_MODEL,
      training: {
        joint: { epochs: 4, batch_size: 32, learning_rate: 0.01 },
        retrain: { enabled: false, epochs: 1, batch_size: 32, learning_rate: 0.005 },
      },
      evaluation: { retrieval_pool: 40, embeddings_sample: 20 },
      seeds: 1,
    },
    overrides,
  );
  const file = join(root, 'exp.yaml');
  writeFileSync(file, stringify(doc));
  const loaded = loadExperiment(file);
  const plan = planSweep(loaded);
  const runDirs = plan.runs.map((spec) => RunStore.create(artifactsDir, spec, { sweepId: plan.sweepId, experimentFile: file }).dir);
  return { artifactsDir, runDirs };
}

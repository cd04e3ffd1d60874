import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { ConfigError, MmrunError } from '../../runner/errors.ts';
import { planSweep, planSize } from '../../runner/sweep/index.ts';
import { planExperiment } from '../../runner/plan-experiment.ts';
import { tempFiles } from '../helpers/tmp.ts';
import { ROOT, runCommand, runMmrun } from '../helpers/launch-sweep.ts';

const GOLDEN = 'tests/fixtures/config/golden.yaml';
// Pinned from `mmrun plan tests/fixtures/config/golden.yaml` (identity v2, issue 16; the v1 ids
// were e9e815ba1f19, 19eced8731c5, ...): a change here means every existing run directory would
// need the legacy lookup (runner/plan-experiment.ts). Change only on purpose.
const GOLDEN_IDS = ['14e83288da0a', 'd9e00322dff7', '89cfa9727939', 'c5f1edca4af0', 'bddc4e191f3b', 'f5d7a89c3ef6', 'fb59695c8ca2', 'b60f105877dd'];

const planOf = (yaml: string, opts = {}) => {
  const t = tempFiles({ 'e.yaml': yaml });
  return planSweep(loadExperiment(t.path('e.yaml')), opts);
};

describe('sweep expansion', () => {
  it('runs = product of grid sizes × (ablations + 1) × seeds', () => {
    const plan = planOf(`name: x
seeds: 3
augmentation: {method: eda}
training: {retrain: {enabled: true}}
grid:
  augmentation.ratio: [0, 1, 4]
  dataset.image_fraction: [0.01, 0.1]
  model.projection.dim: [16, 32, 64, 128]
ablations:
  a: {model.head: separate}
  b: {training.joint.loss_weights.align: 0}
`);
    expect(plan.runs).toHaveLength(3 * 2 * 4 * 3 * 3);
    expect(planSize(plan.factors)).toBe(plan.runs.length);
    expect(new Set(plan.runs.map((r) => r.id)).size).toBe(plan.runs.length);
    const run = plan.runs.find((r) => r.ablation === 'a' && r.coords['model.projection.dim'] === 32 && r.seed === 2)!;
    expect(run.config.model.head).toBe('separate');
    expect(run.config.model.projection.dim).toBe(32);
    expect(run.config.seeds).toEqual([2]);
    expect(run.config.grid).toEqual({});
    expect(run.name).toBe('ratio=0 image_fraction=0.01 dim=32 a seed=2');
  });

  it('seeds as a list are used as given', () => {
    expect(planOf('name: x\nseeds: [7, 3]\n').runs.map((r) => r.seed)).toEqual([7, 3]);
  });

  it('a preset chosen by the grid fills its own sizes', () => {
    const plan = planOf('name: x\ngrid:\n  model.image.preset: [small, medium]\n');
    expect(plan.runs.map((r) => r.config.model.image.filters)).toEqual([[16, 32], [32, 64, 128]]);
  });

  it('golden ids are stable', () => {
    expect(planSweep(loadExperiment(GOLDEN)).runs.map((r) => r.id)).toEqual(GOLDEN_IDS);
  });

  it('reordering keys, adding comments and changing names, launcher or tracking keep every id', () => {
    const reordered = `# a comment
ablations:
  frozen_image:
    training.retrain.freeze: [image]   # another comment
grid:
  augmentation.ratio: [0, 2]
seeds: [0, 1]
augmentation:
  method: eda
training:
  retrain: { epochs: 1, enabled: true }
  joint: { batch_size: 32, epochs: 2 }
model:
  projection: { dim: 32 }
dataset:
  max_test: 500
  image_fraction: 0.1
name: renamed
description: other words
launcher: { jobs: 2 }
tracking: { experiment: elsewhere }
artifacts_dir: /somewhere/else
`;
    expect(planOf(reordered).runs.map((r) => r.id)).toEqual(GOLDEN_IDS);
  });

  it('a value that changes the run changes its id', () => {
    const base = planOf('name: x\n').runs[0].id;
    expect(planOf('name: x\ntraining: {joint: {learning_rate: 0.01}}\n').runs[0].id).not.toBe(base);
    expect(planOf('name: x\nseeds: [1]\n').runs[0].id).not.toBe(base);
  });

  it('two runs that expand to the same resolved config are reported', () => {
    const t = tempFiles({ 'e.yaml': 'name: x\nablations:\n  same:\n    training.joint.epochs: 3\n' });
    try {
      planSweep(loadExperiment(t.path('e.yaml')));
      throw new Error('expected a ConfigError');
    } catch (err) {
      const p = (err as ConfigError).problems[0];
      expect(p.line).toBe(3);
      expect(p.message).toMatch(/"seed=0" and "same seed=0" expand to the same resolved config/);
    }
  });

  it('per-run checks point at the override that caused them', () => {
    const t = tempFiles({ 'e.yaml': 'name: x\ngrid:\n  augmentation.ratio: [0, 4]\n' });
    try {
      planSweep(loadExperiment(t.path('e.yaml')));
      throw new Error('expected a ConfigError');
    } catch (err) {
      const messages = (err as ConfigError).problems.map((p) => `${p.line}: ${p.message}`);
      expect(messages).toEqual([
        '3: in run "ratio=4 seed=0": ratio 4 needs an augmentation.method (eda, attribute-resample or llm), not \'none\'',
        '3: in run "ratio=4 seed=0": augmented texts are used by the retrain phase: set training.retrain.enabled: true',
      ]);
    }
  });

  it('refuses a sweep above the maximum, naming its size and factors', () => {
    const yaml = `name: x\nseeds: 100\ngrid:\n  model.projection.dim: [${Array.from({ length: 101 }, (_, i) => i + 1).join(', ')}]\n`;
    expect(() => planOf(yaml)).toThrow(MmrunError);
    expect(() => planOf(yaml)).toThrow(/10,100 runs = 101 \(model.projection.dim\) × 1 \(baseline \+ ablations\) × 100 \(seeds\), above the maximum of 10,000/);
    expect(planOf(yaml, { maxRuns: 20_000 }).runs).toHaveLength(10_100);
  });
});

describe('shipped experiments and generated types', () => {
  const files = readdirSync('experiments').filter((f) => f.endsWith('.yaml'));

  it('includes the quickstart', () => {
    expect(files).toContain('quickstart.yaml');
  });

  it.each(files)('%s plans and names its schema on the first line', (file) => {
    const text = readFileSync(`experiments/${file}`, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/experiment.schema.json');
    expect(planExperiment(`experiments/${file}`).plan.runs.length).toBeGreaterThan(0);
  });

  it('types.gen.ts is generated from the current schema', async () => {
    const r = await runCommand('npx', ['tsx', 'scripts/gen-types.ts', '--check'], { cwd: ROOT, env: process.env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('CLI', () => {
  const mmrun = (...args: string[]) => runMmrun(args, { cwd: ROOT, env: process.env });

  it('validate: exit 0 on a valid file, 1 with every problem and no stack trace otherwise', async () => {
    expect((await mmrun('validate', GOLDEN)).status).toBe(0);
    const t = tempFiles({ 'bad.yaml': 'name: x\nseeds: 0\nmodel: {hed: shared}\n' });
    const r = await mmrun('validate', t.path('bad.yaml'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${t.path('bad.yaml')}:2:8: expected an integer ≥ 1 or a list, got 0`);
    expect(r.stderr).toContain("unknown key 'hed' (did you mean 'head'?)");
    expect(r.stderr).toContain('2 problems');
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('plan --json prints the RunSpecs', async () => {
    const plan = JSON.parse((await mmrun('plan', GOLDEN, '--json')).stdout);
    expect(plan.runs.map((r: { id: string }) => r.id)).toEqual(GOLDEN_IDS);
    expect(plan.runs[2].ablation).toBe('frozen_image');
  });

  it('plan prints a table and the totals', async () => {
    const out = (await mmrun('plan', GOLDEN)).stdout;
    expect(out).toContain('8 runs = 2 augmentation.ratio × 2 ablations (baseline included) × 2 seeds');
    expect(out.split('\n')[1]).toMatch(/^14e83288da0a\s+0\s+baseline\s+0$/);
  });

  it('unknown command and bad flags exit 1 with a message', async () => {
    expect((await mmrun('frobnicate')).status).toBe(1);
    const r = await mmrun('plan', GOLDEN, '--nope');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Unknown option '--nope'/);
  });
});

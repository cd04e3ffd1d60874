// Review of issue 16 (language): inputs a fuzzer found that were accepted silently or crashed.
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { ConfigError, type Problem } from '../../runner/errors.ts';
import { planExperiment } from '../../runner/plan-experiment.ts';
import { tempFiles } from '../helpers/tmp.ts';

function problemsOf(yaml: string): Problem[] {
  const t = tempFiles({ 'exp.yaml': yaml });
  try {
    loadExperiment(t.path('exp.yaml'));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError); // never a TypeError with a stack trace
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
const where = (p: Problem) => `${p.line}:${p.col} ${p.message}`;
const PROTO_RULE = 'mmrun rejects __proto__, constructor and prototype anywhere in a file (no config field has these names)';

describe('prototype names inside dotted grid and ablation paths', () => {
  it('a grid over training.constructor is refused (it was accepted: two ids, identical training)', () => {
    expect(problemsOf('name: x\ngrid:\n  training.constructor: [1, 2]\n').map(where)).toEqual([`3:3 path 'training.constructor' uses 'constructor': ${PROTO_RULE}`]);
  });
  it('a grid over model.__proto__ is refused (it was accepted and set the prototype of the model map)', () => {
    expect(problemsOf('name: x\ngrid:\n  model.__proto__: [{polluted: 1}]\n').map(where)).toEqual([`3:3 path 'model.__proto__' uses '__proto__': ${PROTO_RULE}`]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('an ablation path through prototype is refused', () => {
    expect(problemsOf('name: x\nablations:\n  a: {model.image.prototype: 1}\n').map(where)).toEqual([`3:7 path 'model.image.prototype' uses 'prototype': ${PROTO_RULE}`]);
  });
});

describe('aliases and merge keys', () => {
  it('an alias inside the value it names is a located error, not a crash on a circular value', () => {
    expect(problemsOf('name: x\na: &a [*a]\n').map(where)).toEqual(['2:8 alias *a is used inside the value it names (&a): a value cannot contain itself']);
    expect(problemsOf('name: x\ntraining: &t {joint: *t}\n').map(where)).toEqual(['2:22 alias *t is used inside the value it names (&t): a value cannot contain itself']);
  });
  it("'<<' with a scalar is explained as a merge-key error, not as an alias bomb", () => {
    const merge = "'<<' (a YAML merge key) takes a map, an alias of a map (<<: *base) or a list of them";
    expect(problemsOf('name: x\ntraining:\n  retrain:\n    <<: 5\n').map(where)).toEqual([`4:9 ${merge}`]);
    expect(problemsOf('name: x\ntraining:\n  retrain:\n    <<: [1]\n').map(where)).toEqual([`4:9 ${merge}`]);
  });
  it('merge keys with an alias, a list of maps and an overriding key still work', () => {
    const t = tempFiles({ 'exp.yaml': 'name: x\ntraining:\n  joint: &j {epochs: 2, learning_rate: 0.01}\n  retrain:\n    <<: [*j, {batch_size: 8}]\n    epochs: 5\n    enabled: true\n' });
    const retrain = loadExperiment(t.path('exp.yaml')).config.training.retrain;
    expect([retrain.epochs, retrain.learning_rate, retrain.batch_size, retrain.enabled]).toEqual([5, 0.01, 8, true]);
  });
});

describe('source data that cannot be read', () => {
  it('a dangling symbolic link inside dataset.path is no data, not a crash', async () => {
    const { symlinkSync } = await import('node:fs');
    const t = tempFiles({ 'exp.yaml': 'name: x\ndataset: {source: image-folder, path: data}\n', 'data/cat/1.png': 'a' });
    const env = { ...process.env, MMRUN_CACHE_DIR: t.path('cache') };
    const before = planExperiment(t.path('exp.yaml'), { env }).plan.runs[0].id;
    symlinkSync('/nonexistent-mmrun-target', t.path('data/cat/2.png'));
    expect(planExperiment(t.path('exp.yaml'), { env }).plan.runs[0].id).toBe(before);
  });
});

describe('inputs that took minutes', () => {
  it('a 1 MiB file of unknown keys is answered with the first 100 problems and a count (it never finished)', () => {
    const keys = Array.from({ length: 60000 }, (_, i) => `k${i}: 1\n`).join('');
    const ps = problemsOf(`name: x\n${keys}`);
    expect(ps).toHaveLength(101);
    expect(ps[0].message).toMatch(/^unknown key 'k0'/);
    expect(ps[100].message).toBe('and 59900 more problems (only the first 100 are shown)');
  });

  it('duplicate keys are still found (in one pass), in nested maps too', () => {
    expect(problemsOf('name: x\nseeds: 1\ntraining:\n  joint: {epochs: 2, "epochs": 3}\nseeds: 2\n').map(where)).toEqual([
      "4:22 duplicate key 'epochs': each key may appear once in a map",
      "5:1 duplicate key 'seeds': each key may appear once in a map",
    ]);
  });

  it('a grid too large for --max-runs is refused before each value is validated', () => {
    const t = tempFiles({ 'exp.yaml': `name: x\ngrid:\n  training.joint.epochs: [${Array.from({ length: 100000 }, (_, i) => i + 1).join(',')}]\n` });
    expect(() => planExperiment(t.path('exp.yaml'), { maxRuns: 100 })).toThrow(/the sweep expands to 100,000 runs/);
  });

  it('nesting too deep to read is one plain sentence', () => {
    const [p, ...rest] = problemsOf(`name: x\ndescription: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    expect(rest).toEqual([]);
    expect(p.message).toBe('the file nests lists or maps too deeply to be read (thousands of levels); an experiment file needs a few');
  });

  it('a fractional seed is named at the item', () => {
    expect(problemsOf('name: x\nseeds: [0, 1.5]\n').map(where)).toEqual(['2:12 seed 1.5 is not a whole number: seeds are integers from 0 to 4294967295']);
  });
});

describe('the source fingerprint cache', () => {
  it('a file replaced by one of the same size and mtime is hashed again (ctime and inode differ)', async () => {
    const { renameSync, statSync, utimesSync, writeFileSync } = await import('node:fs');
    const t = tempFiles({ 'exp.yaml': 'name: x\ndataset: {source: image-folder, path: data}\n', 'data/cat/1.png': 'aaaa', 'data/dog/1.png': 'bbbb' });
    const env = { ...process.env, MMRUN_CACHE_DIR: t.path('cache') };
    const before = planExperiment(t.path('exp.yaml'), { env }).plan.runs[0].id;
    const { atime, mtime } = statSync(t.path('data/cat/1.png'));
    writeFileSync(t.path('new.png'), 'cccc'); // same size
    utimesSync(t.path('new.png'), atime, mtime); // as cp -p or rsync -t leave it
    renameSync(t.path('new.png'), t.path('data/cat/1.png'));
    expect(planExperiment(t.path('exp.yaml'), { env }).plan.runs[0].id).not.toBe(before);
  });
});

// The experiment language rejects what it cannot honour, at file:line:col (issue 16, item 3).
import { mkdirSync, symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { ConfigError, type Problem } from '../../runner/errors.ts';
import { planSweep } from '../../runner/sweep/index.ts';
import { tempFiles } from '../helpers/tmp.ts';

function problemsOf(yaml: string, extra: Record<string, string> = {}, plan = false): Problem[] {
  const t = tempFiles({ 'exp.yaml': yaml, ...extra });
  try {
    const loaded = loadExperiment(t.path('exp.yaml'));
    if (plan) planSweep(loaded);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
const at = (p: Problem) => [p.line, p.col];

describe('seeds the random generator cannot tell apart', () => {
  it('a seed of 2³² or more is located, with the seed it would repeat', () => {
    const [p, ...rest] = problemsOf('name: x\nseeds: [0, 4294967296]\n');
    expect(rest).toEqual([]);
    expect(at(p)).toEqual([2, 12]);
    expect(p.message).toBe('seed 4294967296 is outside 0…4294967295: the random generator uses seeds as 32-bit unsigned integers (4294967296 would train exactly like seed 0)');
  });

  it('negative seeds, split_seed and augmentation.seed (also in a grid) are checked the same way', () => {
    const ps = problemsOf('name: x\nseeds: [-1]\ndataset: {split_seed: 8589934592}\ngrid:\n  augmentation.seed: [1, 4294967297]\n');
    expect(ps.map((p) => `${p.line}:${p.col} ${p.message.split(':')[0]}`)).toEqual([
      '2:9 seed -1 is outside 0…4294967295',
      '3:23 dataset.split_seed 8589934592 is outside 0…4294967295',
      '5:26 grid value for augmentation.seed',
    ]);
  });

  it('a repeated seed gets a plain sentence at the repeat', () => {
    const [p, ...rest] = problemsOf('name: x\nseeds: [3, 1, 3]\n');
    expect(rest).toEqual([]);
    expect(at(p)).toEqual([2, 15]);
    expect(p.message).toBe('seed 3 is listed twice (items 1 and 3): each seed is one run, so remove the repeat');
  });
});

describe('values and keys JSON or JavaScript cannot hold', () => {
  it('.inf and .nan are rejected where written (also nested and in lists)', () => {
    const ps = problemsOf('name: x\ntraining:\n  joint:\n    loss_weights: {image: .inf}\ngrid:\n  training.joint.learning_rate: [0.1, .nan]\n');
    expect(ps.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      "4:27 '.inf' is not a finite number: settings must be finite (JSON records and MLflow cannot hold infinity or NaN)",
      "6:39 '.nan' is not a finite number: settings must be finite (JSON records and MLflow cannot hold infinity or NaN)",
    ]);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('%s is rejected at top level and nested', (key) => {
    const ps = problemsOf(`name: x\n${key}: {seeds: 3}\nmodel:\n  ${key}: {head: separate}\n`);
    expect(ps.map(at)).toEqual([
      [2, 1],
      [4, 3],
    ]);
    expect(ps[0].message).toBe(`'${key}' cannot be used as a key: mmrun rejects __proto__, constructor and prototype anywhere in a file (no config field has these names)`);
  });
});

describe('messages name what was written', () => {
  it('an empty value is "null (an empty value)", not a bare null', () => {
    const [p] = problemsOf('name: x\nmodel:\n  projection: {dim: }\n');
    expect(p.message).toBe('expected integer, got null (an empty value)');
  });
});

describe('YAML 1.1 merge keys', () => {
  it('<<: merges the anchored map; keys written beside it win', () => {
    const t = tempFiles({ 'exp.yaml': 'name: x\ntraining:\n  joint: &j {epochs: 5, learning_rate: 0.01}\n  retrain:\n    <<: *j\n    epochs: 1\n    enabled: true\n' });
    const c = loadExperiment(t.path('exp.yaml')).config;
    expect([c.training.retrain.learning_rate, c.training.retrain.epochs, c.training.joint.epochs]).toEqual([0.01, 1, 5]);
  });
});

describe('partial objects in grid and ablations are deep-merged onto the base value', () => {
  it('a partial loss_weights keeps the other weights', () => {
    const t = tempFiles({ 'exp.yaml': 'name: x\ntraining: {joint: {loss_weights: {align: 0.2}}}\ngrid:\n  training.joint.loss_weights: [{image: 2}, {text: 0}]\n' });
    const runs = planSweep(loadExperiment(t.path('exp.yaml'))).runs;
    expect(runs.map((r) => r.config.training.joint.loss_weights)).toEqual([
      { image: 2, text: 1, align: 0.2 },
      { image: 1, text: 0, align: 0.2 },
    ]);
  });

  it('a partial early_stopping in an ablation gets its schema defaults', () => {
    const t = tempFiles({ 'exp.yaml': 'name: x\nablations:\n  stop:\n    training.joint.early_stopping: {metric: image_acc}\n' });
    const stop = planSweep(loadExperiment(t.path('exp.yaml'))).runs.find((r) => r.ablation === 'stop')!;
    const es = stop.config.training.joint.early_stopping as Record<string, unknown>;
    expect(es.metric).toBe('image_acc');
    expect(Object.keys(es).length).toBeGreaterThan(1); // patience & co. filled, not left out
  });

  it('a bad field inside a grid over a whole map is blamed on that grid value, not on a parent file', () => {
    const ps = problemsOf('extends: base.yaml\nname: x\ngrid:\n  training.joint: [{epochs: 2}, {enabled: false, epochs: 1}]\n', { 'base.yaml': 'name: b\ntraining:\n  retrain: {enabled: true}\n' }, true);
    expect(ps.map((p) => `${p.file.split('/').pop()}:${p.line}:${p.col} ${p.message}`)).toEqual([
      'exp.yaml:4:3 in run "joint={\"enabled\":false,\"epochs\":1} seed=0": retrain starts from the joint checkpoint: training.joint must be enabled too',
    ]);
  });
});

describe('extends that cannot be followed is located', () => {
  it('an empty extends', () => {
    const [p] = problemsOf('name: x\nextends: ""\n');
    expect(at(p)).toEqual([2, 10]);
    expect(p.message).toBe('extends is empty: name a parent YAML file, relative to this file');
  });

  it('a directory', () => {
    const t = tempFiles({ 'exp.yaml': 'name: x\nextends: [parents]\n' });
    mkdirSync(t.path('parents'));
    try {
      loadExperiment(t.path('exp.yaml'));
      throw new Error('expected a ConfigError');
    } catch (err) {
      const [p] = (err as ConfigError).problems;
      expect(at(p)).toEqual([2, 11]);
      expect(p.message).toBe(`parent 'parents' is a directory (${t.path('parents')}); extends names a YAML file`);
    }
  });

  it('a symbolic link loop says so', () => {
    const t = tempFiles({ 'exp.yaml': 'name: x\nextends: loop.yaml\n' });
    symlinkSync(t.path('loop.yaml'), t.path('loop.yaml'));
    try {
      loadExperiment(t.path('exp.yaml'));
      throw new Error('expected a ConfigError');
    } catch (err) {
      const [p] = (err as ConfigError).problems;
      expect(at(p)).toEqual([2, 10]);
      expect(p.message).toMatch(/^parent 'loop.yaml' is a symbolic link loop/);
    }
  });
});

describe('a relative dataset.path is relative to the file that wrote it', () => {
  it('in a parent file', () => {
    const t = tempFiles({ 'sub/exp.yaml': 'extends: ../base/base.yaml\nname: x\n', 'base/base.yaml': 'name: b\ndataset: {source: idx, path: data}\n' });
    expect(loadExperiment(t.path('sub/exp.yaml')).config.dataset.path).toBe(t.path('base/data'));
  });
});

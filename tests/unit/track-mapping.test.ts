import { describe, expect, it } from 'vitest';
import { childRunTags, flattenConfig, metricsOfLines, metricsOfSummary, parentStatusOf, phaseOffsets, runParams, SWEPT_PARAM_PREFIX, TAG } from '../../runner/track/mlflow-mapping.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';
import type { MetricLine } from '../../runner/track/run-store.ts';

const plan = quickstartPlan();
const spec = { ...plan.runs.find((r) => r.ablation === 'no_align' && r.coords['augmentation.ratio'] === 4)!, sweepId: plan.sweepId, experimentFile: plan.file };

describe('flattenConfig', () => {
  it('turns nested objects into dotted keys and lists into JSON', () => {
    expect(flattenConfig({ a: { b: 1, c: [1, 2], d: { e: 'x' } }, f: null, g: {} })).toEqual([
      { key: 'a.b', value: '1' },
      { key: 'a.c', value: '[1,2]' },
      { key: 'a.d.e', value: 'x' },
      { key: 'f', value: 'null' },
      { key: 'g', value: '{}' },
    ]);
  });

  it('gives a run the resolved values of its coordinates and ablation', () => {
    const params = Object.fromEntries(runParams(spec).map((p) => [p.key, p.value]));
    expect(params['augmentation.ratio']).toBe('4');
    expect(params['training.joint.loss_weights.align']).toBe('0');
    expect(params.ablation).toBe('no_align');
    expect(params.seed).toBe(String(spec.seed));
    expect(Object.keys(params).some((k) => k.startsWith('launcher.') || k.startsWith('grid'))).toBe(false);
  });
});

describe('childRunTags', () => {
  it('carries the identity, the coordinates and the failure', () => {
    const tags = Object.fromEntries(
      childRunTags(spec, { state: 'failed', runId: spec.id, attempt: 2, host: 'n1', backend: 'wasm', error: { message: 'NaN loss', cause: 'nan', exitCode: 1 } }, 'parent123', { version: '0.1.0', gitCommit: 'abc' }).map((t) => [t.key, t.value]),
    );
    expect(tags).toMatchObject({
      [TAG.runId]: spec.id,
      [TAG.sweepId]: plan.sweepId,
      [TAG.parentRunId]: 'parent123',
      [TAG.runName]: spec.name,
      [TAG.coordPrefix + 'augmentation.ratio']: '4',
      [TAG.ablation]: 'no_align',
      [TAG.backend]: 'wasm',
      [TAG.host]: 'n1',
      [TAG.error]: 'NaN loss',
      [TAG.errorCause]: 'nan',
      [TAG.sourceGitCommit]: 'abc',
    });
    expect(tags[TAG.note]).toMatch(/augmentation\.ratio = 4/);
    expect(tags[TAG.note]).not.toBe(spec.config.description);
  });
});

describe('metricsOfLines', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const lines: MetricLine[] = [
    { t: t(1), phase: 'joint', kind: 'step' as const, step: 85, epoch: 1, metrics: { loss: 0.9, samples_per_s: 1400, rss_mb: 300 } },
    { t: t(2), phase: 'joint', kind: 'epoch' as const, step: 85, epoch: 1, metrics: { loss: 1.1, val_image_acc: 0.7 } },
    { t: t(3), phase: 'joint', kind: 'eval' as const, step: 85, epoch: 1, metrics: { image_acc: 0.72 } },
    { t: t(4), phase: 'retrain', kind: 'step' as const, step: 10, epoch: 1, metrics: { loss: 0.5 } },
    { t: t(5), phase: 'retrain', kind: 'epoch' as const, step: 20, epoch: 1, metrics: { loss: 0.6 } },
  ];

  it('keeps batch values and epoch means under their own keys, on one step axis across phases', () => {
    const m = metricsOfLines(lines, phaseOffsets(lines));
    const at = (key: string) => m.filter((x) => x.key === key).map((x) => [x.step, x.value]);
    expect(at('train/loss')).toEqual([[85, 0.9], [95, 0.5]]);
    expect(at('epoch/loss')).toEqual([[85, 1.1], [105, 0.6]]);
    expect(at('epoch')).toEqual([[85, 1], [105, 2]]);
    expect(at('joint/image_acc')).toEqual([[85, 0.72]]);
    expect(m.some((x) => /samples_per_s|rss_mb/.test(x.key))).toBe(false);
    // No (key, step) pair twice: no spikes from two values at one step.
    const pairs = m.map((x) => `${x.key}@${x.step}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  });

  it('logs final metrics once, at the last step, and names a reused joint phase\'s duration', () => {
    const own = metricsOfSummary({ runId: 'r', backend: 'cpu', durationS: 40, phases: {}, final: { image_acc: 0.9 } }, 1, 105);
    expect(own).toEqual([
      { key: 'final/image_acc', value: 0.9, timestamp: 1, step: 105 },
      { key: 'final/duration_s', value: 40, timestamp: 1, step: 105 },
    ]);
    const reused = metricsOfSummary({ runId: 'r', backend: 'cpu', durationS: 0.05, phases: {}, final: {}, jointReused: true }, 1, 105);
    expect(reused.map((x) => x.key)).toEqual(['final/duration_s_without_joint']);
  });
});

describe('runParams', () => {
  it('leaves out settings that do not apply, and the seeds list', () => {
    const baseline = { ...plan.runs.find((r) => r.coords['augmentation.ratio'] === 0)!, sweepId: plan.sweepId, experimentFile: plan.file };
    const keys = runParams(baseline).map((p) => p.key);
    expect(keys.some((k) => k.startsWith('dataset.descriptions.openai'))).toBe(false); // attributes describer
    expect(keys.some((k) => k.startsWith('augmentation.llm'))).toBe(false); // eda
    expect(keys.some((k) => k.startsWith('augmentation.eda'))).toBe(false); // ratio 0: no augmentation at all
    expect(keys).not.toContain('seeds');
    expect(keys.filter((k) => k === 'seed')).toHaveLength(1);
    const augmented = runParams(spec).map((p) => p.key);
    expect(augmented).toContain('augmentation.eda.swap');
    expect(augmented.some((k) => k.startsWith('augmentation.llm'))).toBe(false);
  });

  it('repeats the grid coordinates under swept.', () => {
    const params = Object.fromEntries(runParams(spec).map((p) => [p.key, p.value]));
    expect(params[SWEPT_PARAM_PREFIX + 'augmentation.ratio']).toBe('4');
  });
});

describe('parentStatusOf', () => {
  it('is running until every planned run ended', () => {
    expect(parentStatusOf(['finished', undefined])).toBe('RUNNING');
    expect(parentStatusOf(['finished', 'running'])).toBe('RUNNING');
    expect(parentStatusOf(['finished', 'finished'])).toBe('FINISHED');
    expect(parentStatusOf(['finished', 'failed', 'killed'])).toBe('FAILED');
    expect(parentStatusOf(['killed', 'finished'])).toBe('KILLED');
  });
});

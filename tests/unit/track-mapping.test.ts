import { describe, expect, it } from 'vitest';
import { childRunTags, flattenConfig, metricsOfLines, parentStatusOf, runParams, TAG } from '../../runner/track/mlflow-mapping.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';

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
      [TAG.note]: spec.config.description,
    });
  });
});

describe('metricsOfLines', () => {
  it('prefixes metric names by phase and uses the phase step', () => {
    const m = metricsOfLines([{ t: '2026-01-01T00:00:00.000Z', phase: 'retrain', kind: 'step', step: 7, epoch: 1, metrics: { loss: 0.5 } }]);
    expect(m).toEqual([{ key: 'retrain/loss', value: 0.5, step: 7, timestamp: Date.UTC(2026, 0, 1) }]);
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

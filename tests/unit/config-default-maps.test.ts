// A map written in the file is merged onto its field's default map: writing one setting of a
// phase never silently changes another (the joint phase's own 3 epochs, not the generic 1).
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { ConfigError } from '../../runner/errors.ts';
import { tempFiles } from '../helpers/tmp.ts';

const load = (yaml: string) => {
  const t = tempFiles({ 'x.yaml': `name: x\n${yaml}` });
  return () => loadExperiment(t.path('x.yaml'));
};

describe('written maps merge onto their field default', () => {
  it('a partial joint block keeps the joint phase defaults it does not set', () => {
    const partial = load('training:\n  joint: { learning_rate: 0.01 }\n')().config.training.joint;
    const none = load('')().config.training.joint;
    expect(partial.learning_rate).toBe(0.01);
    expect(partial.epochs).toBe(none.epochs);
    expect(partial.epochs).toBe(3);
    expect(partial.enabled).toBe(true);
    expect(load('training:\n  joint: { enabled: true }\n')().config.training.joint.epochs).toBe(3);
  });

  it('the same setting written in the file or in a grid gives the same phase', () => {
    const written = load('training:\n  joint: { learning_rate: 0.01 }\n')().config.training.joint;
    const gridded = load('grid:\n  training.joint.learning_rate: [0.01]\n')().config;
    expect(gridded.grid['training.joint.learning_rate']).toEqual([0.01]);
    expect(written.epochs).toBe(gridded.training.joint.epochs);
  });

  it('settings of a phase that is off by default, without enabled, are an error at the block', () => {
    const run = load('training:\n  retrain: { epochs: 3 }\n');
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/x\.yaml:3:3: training\.retrain sets epochs but not 'enabled'/);
    expect(load('training:\n  retrain: { enabled: true, epochs: 3 }\n')().config.training.retrain).toMatchObject({ enabled: true, epochs: 3 });
    expect(load('training:\n  retrain: { enabled: false, epochs: 3 }\n')().config.training.retrain.enabled).toBe(false);
  });
});

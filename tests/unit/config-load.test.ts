import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { ConfigError, type Problem } from '../../runner/errors.ts';
import { tempFiles } from '../helpers/tmp.ts';

/** Loads `yaml` as a file and returns the problems it raises (fails the test if none). */
function problemsOf(yaml: string | Buffer, extra: Record<string, string> = {}): Problem[] {
  const t = tempFiles({ 'exp.yaml': yaml, ...extra });
  try {
    loadExperiment(t.path('exp.yaml'));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

function only(yaml: string, extra: Record<string, string> = {}): Problem {
  const problems = problemsOf(yaml, extra);
  expect(problems).toHaveLength(1);
  return problems[0];
}

describe('loading experiment files: bad input is located and explained', () => {
  it('YAML syntax error', () => {
    const p = only('name: x\ndataset:\n  source: [mnist\n');
    expect(p.file).toMatch(/exp\.yaml$/);
    expect(p.line).toBeGreaterThanOrEqual(3);
    expect(p.message).toMatch(/end with a \]/);
    expect(p.message).toMatch(/YAML syntax error/);
    expect(p.excerpt).toContain('^');
  });

  it('duplicate keys', () => {
    const p = only('name: x\nseeds: 2\nseeds: 3\n');
    expect([p.line, p.col]).toEqual([3, 1]);
    expect(p.message).toMatch(/duplicate key 'seeds'/);
  });

  it('tabs used for indentation', () => {
    const p = problemsOf('name: x\ndataset:\n\tsource: mnist\n')[0];
    expect(p.line).toBe(3);
    expect(p.message).toMatch(/tab/i);
  });

  it('unknown key, with a suggestion and the allowed keys', () => {
    const p = only('name: x\nmodel:\n  projection:\n    dimm: 3\n');
    expect([p.line, p.col]).toEqual([4, 5]);
    expect(p.message).toContain("unknown key 'dimm' (did you mean 'dim'?)");
    expect(p.message).toContain('allowed here: dim, layers, normalize');
    expect(p.excerpt).toBe('4 |     dimm: 3\n        ^');
  });

  it('wrong type', () => {
    const p = only('name: x\ntraining:\n  joint:\n    epochs: three\n');
    expect([p.line, p.col]).toEqual([4, 13]);
    expect(p.message).toBe('expected integer, got "three"');
  });

  it('misspelt enum value gets a suggestion', () => {
    const p = only('name: x\nmodel:\n  head: shraed\n');
    expect(p.message).toContain('expected one of "shared", "separate", got "shraed" (did you mean "shared"?)');
  });

  it.each([
    ['negative epochs', 'training:\n  joint:\n    epochs: -1\n', 'must be ≥ 1, got -1'],
    ['ratio below 0', 'augmentation:\n  ratio: -0.5\n', 'must be ≥ 0, got -0.5'],
    ['zero projection size', 'model:\n  projection:\n    dim: 0\n', 'must be ≥ 1, got 0'],
    ['fraction above 1', 'dataset:\n  image_fraction: 1.5\n', 'must be ≤ 1, got 1.5'],
  ])('out-of-range value: %s', (_, body, message) => {
    const p = only(`name: x\n${body}`);
    expect(p.message).toBe(message);
    expect(p.line).toBe(body.split('\n').length);
  });

  it('reports every problem at once, in file order', () => {
    const problems = problemsOf('name: x\nseeds: 0\nmodel:\n  projection: {dim: 0}\n  hed: shared\ndataset:\n  image_fraction: 2\n');
    expect(problems.map((p) => p.line)).toEqual([2, 4, 5, 7]);
  });

  it('missing required name', () => {
    const p = only('seeds: 1\n');
    expect(p.message).toBe("missing required key 'name'");
  });

  it('an empty grid list', () => {
    const p = only('name: x\ngrid:\n  augmentation.ratio: []\n');
    expect(p.line).toBe(3);
    expect(p.message).toMatch(/at least 1 value.*empty/);
  });

  it('a grid path that does not exist, with a suggestion', () => {
    const p = only('name: x\ngrid:\n  augmentation.ratoi: [0, 4]\n');
    expect([p.line, p.col]).toEqual([3, 3]);
    expect(p.message).toContain("path 'augmentation.ratoi' does not exist");
    expect(p.message).toContain("did you mean 'augmentation.ratio'");
  });

  it('a grid value invalid at its path points at the value', () => {
    const p = only('name: x\ngrid:\n  model.projection.dim: [64, 0]\n');
    expect([p.line, p.col]).toEqual([3, 30]);
    expect(p.message).toBe('grid value 0 for model.projection.dim: must be ≥ 1, got 0');
  });

  it('an invalid ablation override', () => {
    const p = only('name: x\nablations:\n  bad:\n    model.head: both\n');
    expect(p.line).toBe(4);
    expect(p.message).toMatch(/ablation 'bad' sets model.head: expected one of "shared", "separate"/);
  });

  it('launcher settings cannot be swept', () => {
    const p = only('name: x\ngrid:\n  launcher.jobs: [1, 2]\n');
    expect(p.message).toMatch(/does not shape a run/);
  });

  it('an extends cycle', () => {
    const p = only('name: x\nextends: b.yaml\n', { 'b.yaml': 'extends: exp.yaml\n' });
    expect(p.file).toMatch(/b\.yaml$/);
    expect(p.message).toMatch(/extends cycle: exp\.yaml → b\.yaml → exp\.yaml/);
  });

  it('a missing parent', () => {
    const p = only('name: x\nextends: [base.yaml]\n');
    expect([p.line, p.col]).toEqual([2, 11]);
    expect(p.message).toMatch(/parent file 'base.yaml' not found/);
  });

  it('an alias bomb is refused', () => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) rows.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(',')}]`);
    const p = only(`name: x\n${rows.join('\n')}\n`);
    expect(p.message).toMatch(/alias bomb/);
  });

  it('a missing file, a directory, a huge file, a non-UTF-8 file', () => {
    const t = tempFiles({ 'huge.yaml': `name: x\n# ${'y'.repeat(1_100_000)}\n`, 'latin1.yaml': Buffer.from('name: caf\xe9\n', 'latin1'), 'sub/keep': '' });
    const problem = (file: string) => {
      try {
        loadExperiment(file);
      } catch (err) {
        return (err as ConfigError).problems[0];
      }
      throw new Error('expected a ConfigError');
    };
    expect(problem(t.path('nope.yaml')).message).toMatch(/file not found/);
    expect(problem(t.path('sub')).message).toMatch(/is a directory/);
    expect(problem(t.path('huge.yaml')).message).toMatch(/limited to 1 MiB/);
    const latin = problem(t.path('latin1.yaml'));
    expect(latin.message).toMatch(/not valid UTF-8/);
    expect([latin.line, latin.col]).toEqual([1, 10]);
  });
});

describe('extends', () => {
  it('deep-merges parents: maps merge, lists replace, the child wins', () => {
    const t = tempFiles({
      'base.yaml': 'name: base\nmodel:\n  projection: {dim: 32, layers: 2}\nevaluation:\n  retrieval_k: [1, 5, 10]\n',
      'child.yaml': 'extends: base.yaml\nname: child\nmodel:\n  projection: {dim: 16}\nevaluation:\n  retrieval_k: [1]\n',
    });
    const { config } = loadExperiment(t.path('child.yaml'));
    expect(config.name).toBe('child');
    expect(config.model.projection).toEqual({ dim: 16, layers: 2, normalize: true });
    expect(config.evaluation.retrieval_k).toEqual([1]);
  });

  it('locates a problem in the parent that introduced it', () => {
    const problems = problemsOf('extends: base.yaml\nname: c\n', { 'base.yaml': 'name: b\nmodel:\n  head: single\n' });
    expect(problems[0].file).toMatch(/base\.yaml$/);
    expect(problems[0].line).toBe(3);
  });
});

describe('defaults and presets', () => {
  it('fills schema defaults and the chosen preset, keeping explicit sizes', () => {
    const t = tempFiles({ 'e.yaml': 'name: x\nmodel:\n  image: {preset: medium, dense: 64}\n' });
    const { config } = loadExperiment(t.path('e.yaml'));
    expect(config.model.image).toEqual({ preset: 'medium', filters: [32, 64, 128], kernel_size: 3, batch_norm: true, dense: 64, dropout: 0.1 });
    expect(config.model.text.width).toBe(64);
    expect(config.training.joint.optimizer).toBe('adam');
    expect(config.training.retrain.enabled).toBe(false);
  });

  it('checks the augmentation rules at load time: an unknown prompt placeholder', () => {
    const p = only('name: x\naugmentation:\n  method: llm\n  llm:\n    endpoint: {prompt: "Rewrite {txt}"}\n');
    expect([p.line, p.col]).toEqual([5, 24]);
    expect(p.message).toMatch(/unknown placeholder \{txt\}/);
  });

  it('checks what the schema cannot: heads must divide the width', () => {
    const p = only('name: x\nmodel:\n  text: {width: 30, heads: 4}\n');
    expect(p.message).toBe('heads (4) must divide the text width (30)');
  });
});

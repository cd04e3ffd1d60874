// Run identity v2 (docs/contracts.md "Identity"): one test per rule.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { currentDefaults, defaultsFrom } from '../../runner/config/defaults.ts';
import { schema } from '../../runner/config/schema.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { planExperiment } from '../../runner/plan-experiment.ts';
import { INTRODUCED_DEFAULTS } from '../../runner/sweep/identity-defaults.ts';
import { datasetKey, jointKey, runId } from '../../runner/sweep/identity.ts';
import { tempFiles } from '../helpers/tmp.ts';

const cache = tempFiles();
const env = { ...process.env, MMRUN_CACHE_DIR: cache.dir };

/** Ids of `yaml` written as exp.yaml in a fresh folder (plus `extra` files). */
function idsOf(yaml: string, extra: Record<string, string> = {}): string[] {
  const t = tempFiles({ 'exp.yaml': yaml, ...extra });
  return planExperiment(t.path('exp.yaml'), { env }).plan.runs.map((r) => r.id);
}
const idOf = (yaml: string, extra: Record<string, string> = {}) => idsOf(yaml, extra)[0];

const PETS = { 'data/cat/1.png': 'cat one', 'data/cat/2.png': 'cat two', 'data/dog/1.png': 'dog one' };
const FOLDER = 'name: x\ndataset: {source: image-folder, path: data}\n';

describe('rule 1: paths are replaced by the content hash of the source files', () => {
  it('the same file and data in two folders give the same ids', () => {
    const a = tempFiles({ 'exp.yaml': FOLDER, ...PETS });
    const b = tempFiles({ 'nested/deeper/exp.yaml': FOLDER, ...Object.fromEntries(Object.entries(PETS).map(([k, v]) => [`nested/deeper/${k}`, v])) });
    const ida = planExperiment(a.path('exp.yaml'), { env }).plan.runs[0].id;
    const idb = planExperiment(b.path('nested/deeper/exp.yaml'), { env }).plan.runs[0].id;
    expect(ida).toBe(idb);
    // and the resolved config still names the real, absolute folder the worker reads
    expect(planExperiment(b.path('nested/deeper/exp.yaml'), { env }).plan.runs[0].config.dataset.path).toBe(b.path('nested/deeper/data'));
  });

  it('the same experiment pointing at an absolute data folder gives the same id from any folder', () => {
    const data = tempFiles(PETS);
    const yaml = `name: x\ndataset: {source: image-folder, path: ${data.path('data')}}\n`;
    expect(idOf(yaml)).toBe(idOf(yaml));
    expect(idOf(yaml)).toBe(idOf(FOLDER, PETS));
  });

  it('changed source data changes the id (and the dataset key)', () => {
    expect(idOf(FOLDER, { ...PETS, 'data/dog/1.png': 'another dog' })).not.toBe(idOf(FOLDER, PETS));
    const config = (dataPath: string) => ({ ...loadExperiment(tempFiles({ 'e.yaml': 'name: x\n' }).path('e.yaml')).config, dataset: { ...loadExperiment(tempFiles({ 'e.yaml': 'name: x\n' }).path('e.yaml')).config.dataset, path: dataPath } });
    expect(datasetKey(config('/a'), 'hash1')).toBe(datasetKey(config('/b'), 'hash1'));
    expect(datasetKey(config('/a'), 'hash1')).not.toBe(datasetKey(config('/a'), 'hash2'));
  });

  it('a grid over dataset.path resolves each value against the file that wrote it, and a missing folder is located', () => {
    const t = tempFiles({ 'exp.yaml': 'name: x\ndataset: {source: image-folder}\ngrid:\n  dataset.path: [data, nowhere]\n', ...PETS });
    try {
      planExperiment(t.path('exp.yaml'), { env });
      throw new Error('expected a ConfigError');
    } catch (err) {
      const p = (err as { problems: { line: number; col: number; message: string }[] }).problems;
      expect(p).toHaveLength(1);
      expect([p[0].line, p[0].col]).toEqual([4, 24]);
      expect(p[0].message).toBe(`dataset.path ${t.path('nowhere')}: folder not found`);
    }
  });
});

describe('rule 2: settings of unused alternatives are left out', () => {
  const base = 'name: x\n';
  it('the OpenAI describer block when the describer is offline', () => {
    expect(idOf('name: x\ndataset: {descriptions: {openai: {model: gpt-5, concurrency: 64, price_per_million_input: 9}}}\n')).toBe(idOf(base));
  });
  it('with the OpenAI describer: the model counts, concurrency and prices do not', () => {
    const openai = (o: string) => `name: x\ndataset: {descriptions: {describer: openai, openai: {prompt: "Describe it.", ${o}}}}\n`;
    expect(idOf(openai('concurrency: 64, price_per_million_output: 3, timeout_s: 5, max_retries: 1'))).toBe(idOf(openai('model: gpt-4o-mini')));
    expect(idOf(openai('model: other-model'))).not.toBe(idOf(openai('model: gpt-4o-mini')));
  });
  it('LLM settings for a non-LLM augmentation method, and other methods\' parameters', () => {
    const eda = 'name: x\naugmentation: {method: eda, ratio: 1}\ntraining: {retrain: {enabled: true}}\n';
    expect(idOf(eda.replace('ratio: 1', 'ratio: 1, llm: {mode: generate, endpoint: {model: m, concurrency: 9}}'))).toBe(idOf(eda));
    expect(idOf(eda.replace('ratio: 1', 'ratio: 1, eda: {synonym: 0.3}'))).not.toBe(idOf(eda));
    expect(idOf('name: x\naugmentation: {eda: {synonym: 0.3}, seed: 5}\n')).toBe(idOf(base));
  });
  it('retrain settings when retrain is off', () => {
    expect(idOf('name: x\ntraining: {retrain: {enabled: false, epochs: 9, learning_rate: 0.5}}\n')).toBe(idOf(base));
  });
});

describe('rule 3: execution details are left out', () => {
  it('model.backend, launcher (threads, jobs), tracking, names and the artifacts folder', () => {
    const yaml = 'name: other\ndescription: d\nartifacts_dir: /elsewhere\nmodel: {backend: wasm}\nlauncher: {threads_per_run: 4, jobs: 2}\ntracking: {experiment: e}\n';
    expect(idOf(yaml)).toBe(idOf('name: x\n'));
  });
  it('what trains differently still changes the id', () => {
    const base = idOf('name: x\n');
    expect(idOf('name: x\ntraining: {joint: {learning_rate: 0.01}}\n')).not.toBe(base);
    expect(idOf('name: x\nseeds: [1]\n')).not.toBe(base);
    expect(idOf('name: x\nmodel: {image: {preset: medium}}\n')).not.toBe(base);
  });
});

describe('rule 4: defaults the user did not write are pinned, so a new defaulted field keeps every id', () => {
  it('writing a default explicitly gives the same id as leaving it out', () => {
    expect(idOf('name: x\ntraining: {joint: {epochs: 3, loss_weights: {align: 0.5}}}\ndataset: {descriptions: {style: digits}}\naugmentation: {pairing: image}\n')).toBe(idOf('name: x\n'));
  });

  it('adding a field with a default to (a copy of) the schema leaves ids unchanged; setting it changes them', () => {
    const copy = structuredClone(schema) as { properties: Record<string, unknown>; $defs: Record<string, { properties: Record<string, unknown> }> };
    copy.$defs.augmentation.properties.new_knob = { type: 'integer', default: 3 };
    copy.properties.report_extra = { type: 'object', default: {}, properties: { style: { type: 'string', default: 'plain' } } };
    const validate = new Ajv2020({ useDefaults: true, strict: false }).compile(copy);
    const defaults = defaultsFrom((d) => validate(d));

    const written = loadExperiment(tempFiles({ 'e.yaml': 'name: x\naugmentation: {method: eda, ratio: 2}\ntraining: {retrain: {enabled: true}}\n' }).path('e.yaml')).config;
    const filledByNewSchema = structuredClone(written) as Experiment & { report_extra?: unknown };
    (filledByNewSchema.augmentation as unknown as Record<string, unknown>).new_knob = 3;
    filledByNewSchema.report_extra = { style: 'plain' };
    expect(runId(filledByNewSchema, 0, { defaults })).toBe(runId(written, 0));
    (filledByNewSchema.augmentation as unknown as Record<string, unknown>).new_knob = 4;
    expect(runId(filledByNewSchema, 0, { defaults })).not.toBe(runId(written, 0));
  });

  it('every default of the sections a run id covers is pinned in INTRODUCED_DEFAULTS with its introduced value', () => {
    const sections = ['dataset.', 'model.', 'augmentation.', 'training.', 'evaluation.'];
    const missing = Object.keys(currentDefaults()).filter((p) => sections.some((s) => p.startsWith(s)) && p !== 'model.backend' && !(p in INTRODUCED_DEFAULTS));
    // A new defaulted field: add `'<path>': <its default>` to runner/sweep/identity-defaults.ts.
    expect(missing).toEqual([]);
  });

  it('a default that changes later changes the ids of runs that relied on it', () => {
    const config = loadExperiment(tempFiles({ 'e.yaml': 'name: x\n' }).path('e.yaml')).config;
    const changed = structuredClone(config);
    changed.training.joint.epochs = 5; // as if the schema's default became 5
    expect(runId(changed, 0, { defaults: { ...currentDefaults(), 'training.joint.epochs': 5 } })).not.toBe(runId(config, 0));
  });
});

describe('keys of shared work', () => {
  it('the joint key ignores the backend and the retrain phase, and follows the dataset hash', () => {
    const config = loadExperiment(tempFiles({ 'e.yaml': 'name: x\n' }).path('e.yaml')).config;
    const other = structuredClone(config);
    other.model.backend = 'wasm';
    other.training.retrain.epochs = 9;
    expect(jointKey(other, 0, 'h')).toBe(jointKey(config, 0, 'h'));
    expect(jointKey(config, 0, 'h2')).not.toBe(jointKey(config, 0, 'h'));
    expect(jointKey(config, 1, 'h')).not.toBe(jointKey(config, 0, 'h'));
  });
});

describe('the source fingerprint cache', () => {
  it('is keyed by size and mtime: a rewritten file is hashed again', () => {
    const t = tempFiles({ 'exp.yaml': FOLDER, ...PETS });
    const first = planExperiment(t.path('exp.yaml'), { env }).plan.runs[0].id;
    const stored = JSON.parse(readFileSync(join(cache.dir, 'source-fingerprints.json'), 'utf8'));
    expect(Object.keys(stored)).toContain(t.path('data/cat/1.png'));
    writeFileSync(t.path('data/cat/1.png'), 'a different cat');
    expect(planExperiment(t.path('exp.yaml'), { env }).plan.runs[0].id).not.toBe(first);
    cpSync(t.path('data'), t.path('copy'), { recursive: true });
    writeFileSync(t.path('exp2.yaml'), FOLDER.replace('path: data', 'path: copy'));
    expect(planExperiment(t.path('exp2.yaml'), { env }).plan.runs[0].id).not.toBe(first);
  });
});

// The dataset a run trained on is found by what the run recorded (summary.json datasetHash, or
// for older runs its jointKey), never by matching settings, and its manifest is verified: a
// missing or damaged manifest leaves the input out with a problem naming the file, never another
// dataset's manifest in its place (MLflow dataset inputs, model/dataset.json, mmrun predict).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDirectoryChecksums } from '../../runner/files/verified.ts';
import { jointKey, augmentationKey, withAugmentationSeed } from '../../runner/sweep/identity.ts';
import { datasetInputsOf, findDatasetManifest } from '../../runner/track/dataset-inputs.ts';
import { modelInfoOf } from '../../runner/track/model-folder.ts';
import { RunStore, type RunSummary } from '../../runner/track/run-store.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';

let artifacts: string;
beforeEach(() => {
  artifacts = mkdtempSync(join(tmpdir(), 'mmrun-dsinputs-'));
});
afterEach(() => rmSync(artifacts, { recursive: true, force: true }));

const plan = quickstartPlan();
const control = plan.runs.find((r) => r.coords['augmentation.ratio'] === 0)!;
const augmented = plan.runs.find((r) => r.coords['augmentation.ratio'] === 4)!;
const OLD = 'aaaaaaaaaaaa';
const NEW = 'bbbbbbbbbbbb';

/** A built dataset folder: same settings as the run's, `classNames` telling them apart, newest last. */
function dataset(hash: string, classNames: string[], createdAt: string): string {
  const dir = join(artifacts, 'datasets', `mnist-${hash}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.labels.i32'), Buffer.alloc(8));
  const manifest = { name: 'mnist', hash, createdAt, config: control.config.dataset, classNames, shape: [28, 28, 1], splits: { train: { count: 2 }, val: { count: 1 }, test: { count: 1 } } };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  writeDirectoryChecksums(dir, ['train.labels.i32', 'manifest.json']);
  return dir;
}

function run(spec = control, recorded: Partial<RunSummary> = {}): RunStore {
  const store = RunStore.create(artifacts, spec, { sweepId: plan.sweepId, experimentFile: plan.file });
  const summary: RunSummary = { runId: spec.id, backend: 'cpu', durationS: 1, phases: { joint: { steps: 1, epochs: 1, metrics: {} } }, final: { image_acc: 0.5 }, ...recorded };
  store.writeSummary(summary);
  return store;
}

const OLD_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const NEW_CLASSES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

describe('the dataset a run trained on', () => {
  beforeEach(() => {
    dataset(OLD, OLD_CLASSES, '2026-01-01T00:00:00Z');
    dataset(NEW, NEW_CLASSES, '2026-06-01T00:00:00Z'); // same settings, newer: the source files changed since
  });

  it('is the one whose hash the run recorded, not the newest with the same settings', () => {
    const store = run(control, { datasetHash: OLD });
    const found = findDatasetManifest(artifacts, { config: control.config, seed: control.seed, datasetHash: OLD });
    expect(found).toMatchObject({ dir: join(artifacts, 'datasets', `mnist-${OLD}`), manifest: { hash: OLD, classNames: OLD_CLASSES } });
    expect(modelInfoOf(store, control.config, artifacts, control.seed)).toEqual({ classNames: OLD_CLASSES, shape: [28, 28, 1] });
    const inputs = datasetInputsOf(artifacts, control.config, control.seed, store, () => {
      throw new Error('no problem expected');
    });
    expect(inputs.map((i) => i.tags.find((t) => t.key === 'mmrun.dataset.hash')?.value)).toEqual([OLD]);
  });

  it('an older run that recorded only its joint key: the dataset whose hash gives that key', () => {
    const store = run(control, { jointKey: jointKey(control.config, control.seed, OLD) });
    expect(modelInfoOf(store, control.config, artifacts, control.seed)).toEqual({ classNames: OLD_CLASSES, shape: [28, 28, 1] });
  });

  it('deleted: loudly absent, naming where it was, never the other dataset', () => {
    const store = run(control, { datasetHash: 'cccccccccccc' });
    const problems: string[] = [];
    expect(datasetInputsOf(artifacts, control.config, control.seed, store, (p) => problems.push(p))).toEqual([]);
    expect(problems).toEqual([`dataset input left out: ${join(artifacts, 'datasets', '<name>-cccccccccccc')}: the dataset the run trained on (hash cccccccccccc, summary.json) is not there any more`]);
    expect(modelInfoOf(store, control.config, artifacts, control.seed)).toEqual({ problem: expect.stringContaining('cccccccccccc') });
  });

  it('an older run whose joint key matches no dataset: a problem, not a guess', () => {
    const store = run(control, { jointKey: 'ffffffffffff' });
    expect(modelInfoOf(store, control.config, artifacts, control.seed)).toEqual({ problem: expect.stringMatching(/no dataset under .* has the hash the run's joint key ffffffffffff/) });
  });

  it('a manifest edited by hand: left out, the problem names manifest.json', () => {
    const store = run(control, { datasetHash: OLD });
    const file = join(artifacts, 'datasets', `mnist-${OLD}`, 'manifest.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"0"', '"O"'));
    const problems: string[] = [];
    expect(datasetInputsOf(artifacts, control.config, control.seed, store, (p) => problems.push(p))).toEqual([]);
    expect(problems).toEqual([`dataset input left out: ${file} is corrupt: does not match its checksum`]);
    expect(modelInfoOf(store, control.config, artifacts, control.seed)).toEqual({ problem: `${file} is corrupt: does not match its checksum` });
  });

  it('a folder without checksums.json, or whose manifest records another hash, is not trusted', () => {
    const store = run(control, { datasetHash: OLD });
    const dir = join(artifacts, 'datasets', `mnist-${OLD}`);
    rmSync(join(dir, 'checksums.json'));
    expect(modelInfoOf(store, control.config, artifacts, control.seed)).toEqual({ problem: `${join(dir, 'manifest.json')} cannot be verified: ${join(dir, 'checksums.json')} is missing` });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, hash: NEW }));
    writeDirectoryChecksums(dir, ['train.labels.i32', 'manifest.json']);
    expect(modelInfoOf(store, control.config, artifacts, control.seed)).toEqual({ problem: expect.stringContaining(`records dataset hash ${NEW}, expected ${OLD}`) });
  });

  it('before the run recorded anything (no summary yet): no input and no problem', () => {
    const store = RunStore.create(artifacts, control, { sweepId: plan.sweepId, experimentFile: plan.file });
    expect(datasetInputsOf(artifacts, control.config, control.seed, store, () => {
      throw new Error('no problem expected');
    })).toEqual([]);
  });

  it('a damaged summary.json is a CorruptFileError naming it, not a silent fallback', () => {
    const store = run(control, { datasetHash: OLD });
    writeFileSync(store.path('summary'), readFileSync(store.path('summary'), 'utf8').replace(OLD, NEW));
    expect(() => datasetInputsOf(artifacts, control.config, control.seed, store)).toThrow(`${store.path('summary')} is corrupt`);
  });
});

describe('the augmented set of a retrained run', () => {
  function augmentedSet(hash: string): string {
    const key = augmentationKey(withAugmentationSeed(augmented.config, augmented.seed), hash);
    const dir = join(artifacts, 'augmented', key);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ key, method: 'eda', originals: 10, variantsPerText: 4, datasetHash: hash }));
    writeDirectoryChecksums(dir, ['manifest.json']);
    return dir;
  }

  it('verified like the base set; a damaged manifest leaves only that input out, named', () => {
    dataset(OLD, OLD_CLASSES, '2026-01-01T00:00:00Z');
    const dir = augmentedSet(OLD);
    const store = run(augmented, { datasetHash: OLD, phases: { joint: { steps: 1, epochs: 1, metrics: {} }, retrain: { steps: 1, epochs: 1, metrics: {} } } });
    expect(datasetInputsOf(artifacts, augmented.config, augmented.seed, store).map((i) => i.tags[0].value)).toEqual(['train', 'augmentation']);
    writeFileSync(join(dir, 'manifest.json'), readFileSync(join(dir, 'manifest.json'), 'utf8').replace('"originals":10', '"originals":99'));
    const problems: string[] = [];
    expect(datasetInputsOf(artifacts, augmented.config, augmented.seed, store, (p) => problems.push(p)).map((i) => i.tags[0].value)).toEqual(['train']);
    expect(problems).toEqual([`augmented dataset input left out: ${join(dir, 'manifest.json')} is corrupt: does not match its checksum`]);
  });

  it('missing after the retrain phase ran: a problem; before it, nothing yet', () => {
    dataset(OLD, OLD_CLASSES, '2026-01-01T00:00:00Z');
    const problems: string[] = [];
    const early = run(augmented, { datasetHash: OLD });
    expect(datasetInputsOf(artifacts, augmented.config, augmented.seed, early, (p) => problems.push(p))).toHaveLength(1);
    expect(problems).toEqual([]);
    early.writeSummary({ ...early.readSummary()!, phases: { joint: { steps: 1, epochs: 1, metrics: {} }, retrain: { steps: 1, epochs: 1, metrics: {} } } });
    expect(datasetInputsOf(artifacts, augmented.config, augmented.seed, early, (p) => problems.push(p))).toHaveLength(1);
    expect(problems).toEqual([expect.stringMatching(/^augmented dataset input left out: .*manifest\.json is missing/)]);
  });
});

// Where a run's model is, for `mmrun predict`: a run directory (or its id under artifacts/runs),
// or a model/ folder downloaded from MLflow (layout written by sync-artifacts.ts). No TensorFlow
// here: this only finds and checks the files.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Experiment } from '../config/types.gen.ts';
import { MmrunError } from '../errors.ts';
import { datasetIdentityOf, findDatasetManifest } from './dataset-inputs.ts';
import { RunStore, RUN_FILES } from './run-store.ts';
import { finalCheckpointOf } from './sync-artifacts.ts';

export interface ModelLocation {
  /** Folder holding the checkpoint folder, and the checkpoint's name in it (runner/train/checkpoint.ts). */
  checkpointDir: string;
  checkpointName: string;
  tokenizerFile: string;
  config: Experiment;
  classNames: string[];
  shape: [number, number, number];
  /** What was asked for, for messages. */
  describe: string;
}

export interface ModelInfo {
  classNames: string[];
  shape: [number, number, number];
}

/** The run dir, a run id under `artifactsDir`/runs, or a downloaded model/ folder. */
export function locateModel(target: string, artifactsDir: string): ModelLocation {
  if (existsSync(join(target, 'checkpoint', 'checksums.json'))) return fromModelFolder(resolve(target));
  let dir = resolve(target);
  if (!existsSync(join(dir, RUN_FILES.spec)) && /^[0-9a-f]{6,}$/i.test(target)) dir = join(resolve(artifactsDir), 'runs', target);
  if (!existsSync(join(dir, RUN_FILES.spec))) {
    throw new MmrunError(
      `mmrun predict: '${target}' is neither a run directory (with ${RUN_FILES.spec}), a run id under ${resolve(artifactsDir)}/runs, nor a model folder downloaded from MLflow (with checkpoint/checksums.json).`,
      'Download a model with `mlflow artifacts download -r <mlflow-run-id> -a model -d .`, or pass --artifacts-dir.',
    );
  }
  const store = RunStore.open(dir);
  const spec = store.readSpec();
  const state = store.readStatus()?.state;
  if (state !== 'finished') throw new MmrunError(`mmrun predict: run ${spec.id} (${spec.name}) is ${state ?? 'not started'}: it has no final model yet.`);
  const runsArtifacts = dirname(dirname(store.dir));
  const ckpt = finalCheckpointOf(store, spec, runsArtifacts);
  if (!ckpt || !existsSync(ckpt)) throw new MmrunError(`mmrun predict: run ${spec.id} finished, but its final checkpoint is missing (looked in ${ckpt ?? join(dir, 'checkpoints')}).`);
  const info = modelInfoOf(store, spec.config, runsArtifacts, spec.seed);
  if ('problem' in info) throw new MmrunError(`mmrun predict: run ${spec.id}: its image shape and class names are unknown: ${info.problem}`);
  return { checkpointDir: dirname(ckpt), checkpointName: basename(ckpt), tokenizerFile: store.path('tokenizer'), config: spec.config, ...info, describe: `run ${spec.id} (${spec.name})` };
}

/** Image shape and class names of the dataset the run trained on (its recorded hash, manifest verified), or why they are unknown. */
export function modelInfoOf(store: RunStore, config: Experiment, artifactsDir: string, seed: number): ModelInfo | { problem: string } {
  const found = findDatasetManifest(artifactsDir, datasetIdentityOf(store, config, seed));
  if ('unrecorded' in found) return { problem: `${store.path('summary')} does not record the dataset the run trained on` };
  if ('problem' in found) return found;
  return { classNames: found.manifest.classNames, shape: (found.manifest as unknown as { shape: [number, number, number] }).shape };
}

function fromModelFolder(dir: string): ModelLocation {
  const need = (name: string) => {
    const f = join(dir, name);
    if (!existsSync(f) || !statSync(f).isFile()) throw new MmrunError(`mmrun predict: model folder ${dir} has no ${name} (is the download complete?)`);
    return f;
  };
  const readJson = <T>(name: string): T => {
    const file = need(name);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      throw new MmrunError(`mmrun predict: ${file} is not valid JSON (is the download complete?)`);
    }
  };
  const config = readJson<Experiment>('config.json');
  const info = readJson<ModelInfo>('dataset.json');
  return { checkpointDir: dir, checkpointName: 'checkpoint', tokenizerFile: need('tokenizer.json'), config, classNames: info.classNames, shape: info.shape, describe: `model folder ${dir}` };
}

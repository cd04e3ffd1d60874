// Which files of a run directory become MLflow artifacts, and how to tell they changed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { readJsonIfExists } from '../files/atomic.ts';
import { readVerifiedJson } from '../files/verified.ts';
import type { Tracking } from '../config/types.gen.ts';
import { datasetIdentityOf, findDatasetManifest } from './dataset-inputs.ts';
import { isTerminal } from './mlflow-mapping.ts';
import { redactCredentials } from '../config/tracking-uri.ts';
import type { RunSpecFile, RunStatus, RunStore } from './run-store.ts';

export interface ArtifactSource {
  path: string; // relative path under the run's artifact root
  read: () => Buffer;
  /** Cheap change signature; by default the content hash. */
  signature?: () => string;
}

export function fileSource(path: string, file: string): ArtifactSource {
  return {
    path,
    read: () => readFileSync(file),
    signature: () => {
      const s = statSync(file);
      return `${s.size}:${Math.round(s.mtimeMs)}`;
    },
  };
}

/** A text file uploaded with any `user:password@` in URLs masked (experiment files, plans). */
export function redactedFileSource(path: string, file: string): ArtifactSource {
  return { ...fileSource(path, file), read: () => Buffer.from(redactCredentials(readFileSync(file, 'utf8'))) };
}

/** The settings that decide what is uploaded: the experiment file's current ones when the caller has them (late enabling). */
export type UploadSettings = Pick<Tracking, 'log_model' | 'log_checkpoints'>;

export function runArtifacts(store: RunStore, spec: RunSpecFile, status: RunStatus, truncated: Record<string, string>, settings: UploadSettings = spec.config.tracking, artifactsDir = dirname(dirname(store.dir))): ArtifactSource[] {
  const out: ArtifactSource[] = [
    { path: 'config.json', read: () => Buffer.from(redactCredentials(JSON.stringify(spec.config, null, 2)) + '\n') },
  ];
  if (existsSync(store.path('summary'))) out.push(fileSource('summary.json', store.path('summary')));
  if (Object.keys(truncated).length) out.push({ path: 'mmrun/truncated-values.json', read: () => Buffer.from(JSON.stringify(truncated, null, 2) + '\n') });
  for (const f of listFiles(join(store.dir, 'plots'))) out.push(fileSource(`plots/${relative(join(store.dir, 'plots'), f)}`, f));
  if (isTerminal(status.state)) {
    if (existsSync(store.path('log'))) out.push(fileSource('log.txt', store.path('log')));
    if (settings?.log_checkpoints) out.push(...checkpointArtifacts(store));
    // Older spec.json files predate log_model: absent means the default, on.
    if (status.state === 'finished' && settings?.log_model !== false) out.push(...modelArtifacts(store, spec, artifactsDir));
  }
  return out;
}

export const MODEL_ARTIFACT_PATH = 'model';

/** The checkpoint holding a finished run's final weights: its own retrain checkpoint, else the (maybe shared) joint one. */
export function finalCheckpointOf(store: RunStore, spec: RunSpecFile, artifactsDir: string): string | undefined {
  if (spec.config.training?.retrain?.enabled) {
    const name = checkpointPointer(store.path('checkpoints'));
    return name ? join(store.path('checkpoints'), basename(name)) : undefined;
  }
  const jointKey = store.readSummary()?.jointKey;
  if (!jointKey) return undefined;
  const jointDir = join(artifactsDir, 'joint', jointKey);
  let name: string | undefined;
  try {
    name = readVerifiedJson<{ checkpoint?: string }>(join(jointDir, 'result.json'))?.checkpoint;
  } catch {
    name = undefined;
  }
  name ??= checkpointPointer(join(jointDir, 'checkpoints'));
  return name ? join(jointDir, 'checkpoints', basename(name)) : undefined;
}

/**
 * model/: what `mmrun predict` needs to classify an image, and nothing to resume training with:
 * checkpoint/ (weights.bin, manifest.json, checksums.json: mmrun's verified checkpoint format),
 * tokenizer.json, config.json (resolved, credentials masked), dataset.json (class names, image
 * shape, dataset id), README.md.
 */
function modelArtifacts(store: RunStore, spec: RunSpecFile, artifactsDir: string): ArtifactSource[] {
  const ckpt = finalCheckpointOf(store, spec, artifactsDir);
  if (!ckpt || !existsSync(join(ckpt, 'checksums.json'))) return [];
  const out = listFiles(ckpt).map((f) => fileSource(`${MODEL_ARTIFACT_PATH}/checkpoint/${relative(ckpt, f)}`, f));
  if (existsSync(store.path('tokenizer'))) out.push(fileSource(`${MODEL_ARTIFACT_PATH}/tokenizer.json`, store.path('tokenizer')));
  out.push({ path: `${MODEL_ARTIFACT_PATH}/config.json`, read: () => Buffer.from(redactCredentials(JSON.stringify(spec.config, null, 2)) + '\n') });
  // The dataset the run recorded, verified; without it the model folder has no dataset.json (predict then says so).
  const found = findDatasetManifest(artifactsDir, datasetIdentityOf(store, spec.config, spec.seed));
  const dataset = 'manifest' in found ? (found.manifest as unknown as { classNames: string[]; shape: number[]; name: string; hash: string }) : undefined;
  if (dataset) {
    const info = { classNames: dataset.classNames, shape: dataset.shape, dataset: dataset.name, datasetHash: dataset.hash };
    out.push({ path: `${MODEL_ARTIFACT_PATH}/dataset.json`, read: () => Buffer.from(JSON.stringify(info, null, 1) + '\n') });
  }
  out.push({ path: `${MODEL_ARTIFACT_PATH}/README.md`, read: () => Buffer.from(modelReadme(spec, basename(ckpt))) });
  return out;
}

function modelReadme(spec: RunSpecFile, checkpoint: string): string {
  return [
    `# Model of mmrun run ${spec.id} (${spec.name})`,
    '',
    `Final weights from checkpoint \`${checkpoint}\`, with the tokenizer and the resolved config that built the network.`,
    '',
    'Classify an image with it (download this folder first, e.g. `mlflow artifacts download -r <run_id> -a model -d .`):',
    '',
    '```',
    'mmrun predict ./model digit.png',
    '```',
    '',
    'or, on the machine that ran it, `mmrun predict ' + spec.id + ' digit.png`.',
    '',
  ].join('\n');
}

function checkpointArtifacts(store: RunStore): ArtifactSource[] {
  const dir = store.path('checkpoints');
  // latest.json names the newest complete checkpoint (runner/train/checkpoint.ts).
  const name = checkpointPointer(dir);
  if (!name) return [];
  const ckpt = join(dir, basename(name));
  return listFiles(ckpt).map((f) => fileSource(`checkpoint/${basename(ckpt)}/${relative(ckpt, f)}`, f));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * The checkpoint `dir/latest.json` names (runner/train/checkpoint.ts writes it), or undefined when
 * it is missing or damaged: a damaged pointer means "no known final checkpoint", never a crash.
 */
function checkpointPointer(dir: string): string | undefined {
  try {
    const name = readJsonIfExists<{ name?: unknown }>(join(dir, 'latest.json'))?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

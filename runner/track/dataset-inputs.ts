// The datasets a run trained on, as MLflow dataset inputs (`runs/log-inputs`, what the UI's
// Datasets column and run page read): the built image/text set and, for augmented runs, the
// augmented text set. Found by the identity the run recorded (summary.json `datasetHash`, or for
// older runs its `jointKey`, which covers the dataset hash), never by matching settings: the
// same settings over changed source files are a different dataset. Each manifest is verified
// against its folder's checksums.json; a missing or damaged one leaves the input out with a
// problem naming the file, never another dataset's manifest in its place.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from '../config/types.gen.ts';
import { readDirectoryChecksums, readVerifiedFile } from '../files/verified.ts';
import { augmentationKey, jointKey, withAugmentationSeed } from '../sweep/identity.ts';
import type { RunStore, RunSummary } from './run-store.ts';

export interface DatasetInput {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
  /** mlflow.data.context and mmrun.* tags of the input. */
  tags: { key: string; value: string }[];
}

interface DatasetManifestLike {
  name: string;
  hash: string;
  createdAt: string;
  config: unknown;
  classNames: string[];
  splits: Record<string, { count: number }>;
  contentHash?: string;
}

interface AugmentManifestLike {
  key: string;
  method: string;
  originals: number;
  variantsPerText: number;
  datasetHash: string;
}

/** What a run recorded about its dataset (summary.json), with what it ran with (spec.json). */
export interface RunDatasetIdentity {
  config: Experiment;
  seed: number;
  /** summary.json `datasetHash` (runs made since it is recorded). */
  datasetHash?: string;
  /** summary.json `jointKey`: identifies the dataset of older runs (jointKey(config, seed, datasetHash)). */
  jointKey?: string;
  /** summary.json has a retrain phase: its augmented set, if any, must be there. */
  retrained?: boolean;
}

export type ManifestLookup<M> = { dir: string; manifest: M } | { problem: string } | { unrecorded: true };

/** The run's identity from its store: undefined fields when the run has not written summary.json yet. Throws CorruptFileError for a damaged summary. */
export function datasetIdentityOf(store: RunStore, config: Experiment, seed: number): RunDatasetIdentity {
  const summary: RunSummary | undefined = store.readSummary();
  return { config, seed, datasetHash: summary?.datasetHash, jointKey: summary?.jointKey, retrained: !!summary?.phases?.retrain };
}

const DATASET_DIR = /^(.+)-([0-9a-f]{12})$/;

/**
 * The built dataset the run trained on, its manifest verified. `{ unrecorded }` when the run has
 * not recorded its dataset yet (no summary.json); `{ problem }` (naming the file) when the
 * recorded dataset is not there, its manifest does not verify, or it records another hash.
 */
export function findDatasetManifest(artifactsDir: string, run: RunDatasetIdentity): ManifestLookup<DatasetManifestLike> {
  const root = join(artifactsDir, 'datasets');
  const hash = run.datasetHash ?? (run.jointKey ? hashFromJointKey(root, run) : undefined);
  if (!hash) {
    if (!run.jointKey) return { unrecorded: true };
    return { problem: `no dataset under ${root} has the hash the run's joint key ${run.jointKey} (summary.json) was made from: the dataset it trained on was deleted or rebuilt elsewhere` };
  }
  const dirs = datasetDirs(root).filter((d) => d.hash === hash);
  if (dirs.length === 0) return { problem: `${join(root, `<name>-${hash}`)}: the dataset the run trained on (hash ${hash}, summary.json) is not there any more` };
  const read = readVerifiedManifest<DatasetManifestLike>(dirs[0].dir);
  if ('problem' in read) return read;
  if (read.manifest.hash !== hash) return { problem: `${join(dirs[0].dir, 'manifest.json')} records dataset hash ${String(read.manifest.hash)}, expected ${hash} (the run's dataset, summary.json)` };
  return { dir: dirs[0].dir, manifest: read.manifest };
}

/** Older runs recorded only the joint key: the dataset is the one whose hash gives that key. */
function hashFromJointKey(root: string, run: RunDatasetIdentity): string | undefined {
  for (const d of datasetDirs(root)) if (jointKey(run.config, run.seed, d.hash) === run.jointKey) return d.hash;
  return undefined;
}

function datasetDirs(root: string): { dir: string; hash: string }[] {
  if (!existsSync(root)) return [];
  const out: { dir: string; hash: string }[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const m = e.isDirectory() && !e.name.startsWith('.') ? DATASET_DIR.exec(e.name) : null;
    if (m) out.push({ dir: join(root, e.name), hash: m[2] });
  }
  return out.sort((a, b) => (a.dir < b.dir ? -1 : 1));
}

/** manifest.json of a dataset or augmented-set folder, its bytes checked against the folder's checksums.json. */
function readVerifiedManifest<M>(dir: string): { manifest: M } | { problem: string } {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return { problem: `${file} is missing (the folder is incomplete)` };
  const list = readDirectoryChecksums(dir);
  if ('problem' in list) return { problem: `${file} cannot be verified: ${list.problem}` };
  try {
    const manifest = JSON.parse(readVerifiedFile(dir, 'manifest.json', list).toString('utf8')) as M;
    if (typeof manifest !== 'object' || manifest === null) return { problem: `${file} is corrupt: expected a JSON object` };
    return { manifest };
  } catch (err) {
    return { problem: err instanceof SyntaxError ? `${file} is corrupt: not valid JSON` : (err as Error).message };
  }
}

/** Prints each problem once per process (the sync loop asks again every pass). */
const printed = new Set<string>();
function warnOnce(message: string): void {
  if (printed.has(message)) return;
  printed.add(message);
  console.error(`warning: ${message}`);
}

/**
 * The run's dataset inputs: the base set, and the augmented set when the retrain phase used one
 * (`augmentation.seed: run` resolved with the run's seed, as the launcher does), found by what
 * the run's summary.json records. An input the run recorded but whose manifest is missing or
 * damaged is left out and `onProblem` is told why, naming the file (default: a warning line on
 * stderr, once per process). Throws CorruptFileError when summary.json itself is damaged.
 */
export function datasetInputsOf(artifactsDir: string, config: Experiment, runSeed: number, store: RunStore, onProblem: (message: string) => void = warnOnce): DatasetInput[] {
  const { inputs, problems } = datasetInputsFor(artifactsDir, datasetIdentityOf(store, config, runSeed));
  for (const p of problems) onProblem(p);
  return inputs;
}

/** datasetInputsOf from an identity already read: the inputs, and why any recorded input is left out. */
export function datasetInputsFor(artifactsDir: string, run: RunDatasetIdentity): { inputs: DatasetInput[]; problems: string[] } {
  const found = findDatasetManifest(artifactsDir, run);
  if ('unrecorded' in found) return { inputs: [], problems: [] };
  if ('problem' in found) return { inputs: [], problems: [`dataset input left out: ${found.problem}`] };
  const { config } = run;
  const { dir, manifest } = found;
  const sizes = Object.fromEntries(Object.entries(manifest.splits ?? {}).map(([k, v]) => [k, v?.count ?? 0]));
  const inputs: DatasetInput[] = [
    {
      name: manifest.name,
      digest: manifest.hash.slice(0, 36),
      source_type: 'local',
      source: JSON.stringify({ uri: dir }),
      profile: JSON.stringify({ ...sizes, classes: manifest.classNames?.length ?? 0, describer: config.dataset.descriptions?.describer }),
      tags: [
        { key: 'mlflow.data.context', value: 'train' },
        { key: 'mmrun.dataset.hash', value: manifest.hash },
      ],
    },
  ];
  const problems: string[] = [];
  const aug = config.augmentation;
  if (config.training.retrain.enabled && aug.method !== 'none' && aug.ratio > 0) {
    const key = augmentationKey(withAugmentationSeed(config, run.seed), manifest.hash);
    const augDir = join(artifactsDir, 'augmented', key);
    // Before the retrain phase ran, the set may still be being built: only then is its absence not a problem.
    const read = existsSync(augDir) || run.retrained ? readVerifiedManifest<AugmentManifestLike>(augDir) : undefined;
    if (read && 'problem' in read) problems.push(`augmented dataset input left out: ${read.problem}`);
    else if (read) {
      const m = read.manifest;
      inputs.push({
        name: `${manifest.name}-${m.method}`,
        digest: key.slice(0, 36),
        source_type: 'local',
        source: JSON.stringify({ uri: augDir }),
        profile: JSON.stringify({ originals: m.originals, variants_stored: m.originals * m.variantsPerText, ratio: aug.ratio, texts_used: Math.round(m.originals * aug.ratio) }),
        tags: [
          { key: 'mlflow.data.context', value: 'augmentation' },
          { key: 'mmrun.augmented.key', value: key },
          { key: 'mmrun.dataset.hash', value: manifest.hash },
        ],
      });
    }
  }
  return { inputs, problems };
}

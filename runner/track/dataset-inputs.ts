// The datasets a run trained on, as MLflow dataset inputs (`runs/log-inputs`, what the UI's
// Datasets column and run page read): the built image/text set and, for augmented runs, the
// augmented text set. Found on disk from the run's resolved config; nothing is sent for a
// dataset whose manifest is not there (yet).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from '../config/types.gen.ts';
import { readJsonIfExists } from '../files/atomic.ts';
import { augmentationKey, canonicalJson, withAugmentationSeed } from '../sweep/identity.ts';

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

/** The built dataset whose settings equal the run's (the newest when sources changed over time). */
export function findDatasetManifest(artifactsDir: string, config: Experiment): { dir: string; manifest: DatasetManifestLike } | undefined {
  const root = join(artifactsDir, 'datasets');
  if (!existsSync(root)) return undefined;
  const want = canonicalJson(config.dataset);
  let best: { dir: string; manifest: DatasetManifestLike } | undefined;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const dir = join(root, e.name);
    let m: DatasetManifestLike | undefined;
    try {
      m = readJsonIfExists<DatasetManifestLike>(join(dir, 'manifest.json'));
    } catch {
      continue;
    }
    if (!m || canonicalJson(m.config) !== want) continue;
    if (!best || m.createdAt > best.manifest.createdAt) best = { dir, manifest: m };
  }
  return best;
}

/** The run's dataset inputs: the base set, and the augmented set when the retrain phase used one. */
/** `runSeed`: the run's seed, which `augmentation.seed: run` stands for (as the launcher resolves it). */
export function datasetInputsOf(artifactsDir: string, config: Experiment, runSeed: number): DatasetInput[] {
  const found = findDatasetManifest(artifactsDir, config);
  if (!found) return [];
  const { dir, manifest } = found;
  const sizes = Object.fromEntries(Object.entries(manifest.splits ?? {}).map(([k, v]) => [k, v?.count ?? 0]));
  const out: DatasetInput[] = [
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
  const aug = config.augmentation;
  if (config.training.retrain.enabled && aug.method !== 'none' && aug.ratio > 0) {
    const key = augmentationKey(withAugmentationSeed(config, runSeed), manifest.hash);
    const augDir = join(artifactsDir, 'augmented', key);
    let m: AugmentManifestLike | undefined;
    try {
      m = readJsonIfExists<AugmentManifestLike>(join(augDir, 'manifest.json'));
    } catch {
      m = undefined;
    }
    if (m) {
      out.push({
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
  return out;
}

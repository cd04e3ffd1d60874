/**
 * Augmented text sets for the retrain phase. A set is identified by (method, its parameters,
 * dataset hash, augmentation seed), stored once under artifacts/augmented/<key>/ and shared by
 * every run that needs it; the ratio only selects how many of its variants a run uses.
 */
import { join } from 'node:path';
import type { Experiment } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import { writeFailure } from '../../files/fs-errors.ts';
import { createProgress } from '../../progress.ts';
import { augmentationKey, withAugmentationSeed } from '../../sweep/identity.ts';
import { version as VERSION } from '../../version.ts';
import { ATTRIBUTES_DESCRIBER_VERSION } from '../describe/attributes.ts';
import type { Dataset } from '../types.ts';
import { attributeResampleGenerator, checkAttributeResample } from './attribute-resample.ts';
import { repairGenerator } from './repair.ts';
import { Eda, edaGenerator } from './eda.ts';
import { formatEstimate, type CostEstimate } from '../llm/usage.ts';
import { estimateLlmCost, formatCounts, llmGenerator } from './llm.ts';
import { acquireLock } from './lock.ts';
import { checkRatio, variantCounts, variantsNeeded } from './selection.ts';
import { checkSet, createSet, extendSet, layerFile, readVariants, removeSet } from './store.ts';
import type { AugmentedSet, AugmentedText, AugmentManifest, AugmentOptions, AugmentProgressEvent, Original, VariantGenerator } from './types.ts';
import { checkAugmentation, llmEnvironment } from './validate.ts';
import { wordNet } from './wordnet.ts';

export type { AugmentedSet, AugmentedText, AugmentOptions, AugmentProgressEvent, AugmentManifest } from './types.ts';
export { checkAugmentation } from './validate.ts';
export { variantCounts } from './selection.ts';

/** The texts augmentation starts from: every training text, then the keep_all_texts extras. */
export function originalsOf(dataset: Dataset): Original[] {
  const out: Original[] = dataset.train.texts.map((text, i) => ({ index: i, label: dataset.train.labels[i], text }));
  const base = out.length;
  (dataset.extraTrainTexts ?? []).forEach((t, k) => out.push({ index: base + k, label: t.label, text: t.text }));
  return out;
}

export { withAugmentationSeed } from '../../sweep/identity.ts';

/** The numeric augmentation seed of a config whose seed was resolved by withAugmentationSeed. */
const augmentationSeedOf = (config: Experiment): number => {
  const seed = config.augmentation.seed;
  if (typeof seed !== 'number') throw new MmrunError("augmentation.seed 'run' was not resolved to the run's seed");
  return seed;
};

export async function ensureAugmentedSet(original: Experiment, dataset: Dataset, opts: AugmentOptions): Promise<AugmentedSet> {
  const config = withAugmentationSeed(original, opts.runSeed);
  const aug = config.augmentation;
  const augSeed = augmentationSeedOf(config);
  const ratio = opts.ratio ?? aug.ratio;
  checkAugmentation(aug, ratio);
  if (aug.method === 'none') return emptySet();
  if (aug.method === 'attribute-resample') checkAttributeResample(config);

  const originals = originalsOf(dataset);
  const key = augmentationKey(config, dataset.hash);
  const dir = join(opts.artifactsDir, 'augmented', key);
  const needed = variantsNeeded(ratio);

  const say = opts.log ?? ((line: string) => console.log(line));
  // A damaged set (a file that does not match checksums.json) is rebuilt, never served.
  let warned: string | undefined;
  const inspect = (): AugmentManifest | null => {
    const s = checkSet(dir);
    if (s.state === 'intact') return s.manifest;
    if (s.state === 'damaged' && warned !== s.problem) {
      say(`warning: augmented set damaged, rebuilding it: ${s.problem}`);
      warned = s.problem;
    }
    return null;
  };
  const found = inspect();
  if (found) warnIfStale(found, dir, opts);
  if (found && found.variantsPerText >= needed) return openSet(dir, checkMatches(found, dir, dataset, originals), originals, 'found');
  if (!found && needed === 0) return setOf(null, key, aug.method, aug.llm.mode, augSeed, originals, () => [], 0, {}, 'found');
  if (aug.method === 'llm') llmEnvironment(aug.llm); // a missing key fails here, before any work

  const lock = await acquireLock(`${dir}.lock`, {
    timeoutS: opts.lockTimeoutS ?? 6 * 3600,
    onWait: () => emit(opts, { stage: 'augment', label: `waiting for another process building augmented set ${key}`, done: 0, total: 0, unit: 'texts' }),
  }).catch((err: unknown) => {
    throw writeFailure(err, `${dir}.lock`, 'create the lock');
  });
  try {
    const current = inspect(); // it may have been built (or rebuilt) while we waited
    if (!current && checkSet(dir).state === 'damaged') removeSet(dir); // we hold the lock
    if (current) checkMatches(current, dir, dataset, originals);
    if (current && current.variantsPerText >= needed) return openSet(dir, current, originals, 'found');

    const from = current?.variantsPerText ?? 0;
    const log = opts.log ?? ((line: string) => console.log(line));
    const generator = makeGenerator(config, dataset, originals, opts.artifactsDir, log);
    if (aug.method === 'llm') {
      log(`llm augmentation ${key}, variants ${from}..${needed}: ${formatEstimate(estimateLlmCost(config, dataset, originals, from, needed, llmCacheFile(opts.artifactsDir)))}`);
    }
    const stored = current && aug.method === 'llm' ? readVariants(dir, current) : undefined;
    const total = originals.length * (needed - from);
    const label = `augment ${aug.method} ×${needed}${from > 0 ? ` (extending from ×${from})` : ''}`;
    const report = progressReporter(opts, label, total);
    const started = Date.now();
    const result = await generator.generate(originals, from, needed, report.tick, stored);
    const seconds = (Date.now() - started) / 1000;
    report.done();
    if (Object.values(result.counts).some((n) => n > 0)) log(`augmented set ${key}: dropped outputs: ${formatCounts(result.counts)}`);

    const now = new Date().toISOString();
    const layer = { file: layerFile(from, needed), from, to: needed, seconds };
    const manifest: AugmentManifest = current
      ? {
          ...current,
          variantsPerText: needed,
          layers: [...current.layers, layer],
          filtered: addCounts(current.filtered, result.counts),
          usage: result.usage ? addCounts(current.usage ?? {}, result.usage) : current.usage,
          updatedAt: now,
        }
      : {
          format: 1,
          key,
          method: aug.method,
          params: paramsOf(config),
          seed: augSeed,
          datasetHash: dataset.hash,
          originals: originals.length,
          variantsPerText: needed,
          layers: [layer],
          filtered: result.counts,
          usage: result.usage,
          createdAt: now,
          updatedAt: now,
          builder: VERSION,
        };
    if (current) extendSet(dir, manifest, result.variants);
    else if (!createSet(dir, manifest, result.variants)) {
      // Another process (one that took over a lock it thought stale) finished first: use its set.
      const winner = checkSet(dir);
      if (winner.state !== 'intact') throw new MmrunError(`augmented set ${dir} was written by another process but does not verify: ${winner.state === 'damaged' ? winner.problem : 'no manifest'}`, 'run the same command again to rebuild it');
      return openSet(dir, checkMatches(winner.manifest, dir, dataset, originals), originals, 'found');
    }
    return openSet(dir, manifest, originals, 'built');
  } finally {
    lock.release();
  }
}

export interface AugmentationPlan {
  key: string | null;
  method: string;
  /** found: nothing to do; build / extend: variants [from, to) would be generated. */
  action: 'none' | 'found' | 'build' | 'extend';
  from: number;
  to: number;
  texts: number;
  /** llm only: requests and cost upper bound (answers already cached are free). */
  llm?: CostEstimate;
}

/** What ensureAugmentedSet would do, without doing it (for plans and dry runs). Checks the settings. */
export function planAugmentedSet(original: Experiment, dataset: Dataset, opts: { artifactsDir: string; ratio?: number; runSeed?: number }): AugmentationPlan {
  const config = withAugmentationSeed(original, opts.runSeed);
  const aug = config.augmentation;
  const ratio = opts.ratio ?? aug.ratio;
  checkAugmentation(aug, ratio);
  if (aug.method === 'none') return { key: null, method: 'none', action: 'none', from: 0, to: 0, texts: 0 };
  if (aug.method === 'attribute-resample') checkAttributeResample(config);
  const originals = originalsOf(dataset);
  const key = augmentationKey(config, dataset.hash);
  const state = checkSet(join(opts.artifactsDir, 'augmented', key));
  const found = state.state === 'intact' ? state.manifest : null; // a damaged set is rebuilt
  const from = found?.variantsPerText ?? 0;
  const to = Math.max(from, variantsNeeded(ratio));
  const action = to === from ? 'found' : found ? 'extend' : 'build';
  const plan: AugmentationPlan = { key, method: aug.method, action, from, to, texts: originals.length * (to - from) };
  if (aug.method === 'llm' && action !== 'found') plan.llm = estimateLlmCost(config, dataset, originals, from, to, llmCacheFile(opts.artifactsDir));
  return plan;
}

/** One cache of LLM answers for every augmented set: its keys hold everything that shapes an answer. */
const llmCacheFile = (artifactsDir: string): string => join(artifactsDir, 'augmented', 'llm-cache.jsonl');

function makeGenerator(config: Experiment, dataset: Dataset, originals: Original[], artifactsDir: string, log: (line: string) => void): VariantGenerator {
  const aug = config.augmentation;
  switch (aug.method) {
    case 'eda':
      return edaGenerator(new Eda(wordNet(), dataset.classNames), aug.eda, augmentationSeedOf(config));
    case 'attribute-resample':
      return attributeResampleGenerator(config, dataset, originals, augmentationSeedOf(config));
    case 'repair':
      return repairGenerator(dataset, augmentationSeedOf(config));
    case 'llm':
      return llmGenerator(config, dataset, { ...llmEnvironment(aug.llm), cacheFile: llmCacheFile(artifactsDir), log });
    default:
      throw new MmrunError(`augmentation.method '${aug.method}' does not generate texts`);
  }
}

function paramsOf(config: Experiment): unknown {
  const aug = config.augmentation;
  if (aug.method === 'eda') return aug.eda;
  if (aug.method === 'llm') {
    const { model, base_url, prompt, max_tokens } = aug.llm.endpoint;
    return { mode: aug.llm.mode, model, base_url, prompt, max_tokens };
  }
  if (aug.method === 'attribute-resample') return { describerVersion: ATTRIBUTES_DESCRIBER_VERSION };
  return {};
}

/** A set rendered by an older describer still works; say that it reads unlike the current texts. */
function warnIfStale(manifest: AugmentManifest, dir: string, opts: AugmentOptions): void {
  const version = (manifest.params as { describerVersion?: number } | null)?.describerVersion;
  if (manifest.method === 'attribute-resample' && version !== ATTRIBUTES_DESCRIBER_VERSION) {
    (opts.log ?? console.log)(`warning: ${dir} was rendered by attributes describer v${version ?? 0}, this mmrun has v${ATTRIBUTES_DESCRIBER_VERSION}; delete the folder to rebuild it`);
  }
}

function checkMatches(manifest: AugmentManifest, dir: string, dataset: Dataset, originals: Original[]): AugmentManifest {
  if (manifest.datasetHash !== dataset.hash || manifest.originals !== originals.length) {
    throw new MmrunError(
      `augmented set ${dir} was built from dataset ${manifest.datasetHash} (${manifest.originals} texts), not from ${dataset.hash} (${originals.length} texts)`,
      `delete ${dir} to rebuild it`,
    );
  }
  return manifest;
}

/** The variants are read when a run first asks for texts: finding a set stays cheap. */
function openSet(dir: string, manifest: AugmentManifest, originals: Original[], status: 'found' | 'built'): AugmentedSet {
  let variants: string[][] | undefined;
  const load = () => (variants ??= readVariants(dir, manifest));
  const mode = (manifest.params as { mode?: string } | null)?.mode ?? '';
  return setOf(dir, manifest.key, manifest.method, mode, manifest.seed, originals, load, manifest.variantsPerText, manifest.filtered, status);
}

function setOf(
  dir: string | null,
  key: string,
  method: string,
  llmMode: string,
  seed: number,
  originals: Original[],
  variants: () => string[][],
  variantsPerText: number,
  filtered: Record<string, number>,
  status: AugmentedSet['status'],
): AugmentedSet {
  return {
    dir,
    key,
    method,
    variantsPerText,
    originals: originals.length,
    filtered,
    status,
    describesSource: method === 'eda' || (method === 'llm' && llmMode === 'paraphrase'),
    pairedWithSource: method === 'eda' || method === 'repair' || (method === 'llm' && llmMode === 'paraphrase'),
    textsFor(ratio: number): AugmentedText[] {
      checkRatio(ratio, 'ratio');
      if (ratio === 0) return [];
      if (variantsNeeded(ratio) > variantsPerText) {
        throw new MmrunError(
          `augmented set ${key} holds ${variantsPerText} variant(s) per text, ratio ${ratio} needs ${variantsNeeded(ratio)}`,
          'call ensureAugmentedSet with the largest ratio of the sweep (opts.ratio)',
        );
      }
      const counts = variantCounts(originals.length, ratio, seed);
      const rows = variants();
      const out: AugmentedText[] = [];
      for (const o of originals) {
        const row = rows[o.index];
        for (let j = 0; j < counts[o.index]; j++) out.push({ label: o.label, text: row[j], source: o.index });
      }
      return out;
    },
  };
}

function emptySet(): AugmentedSet {
  return {
    dir: null,
    key: null,
    method: 'none',
    variantsPerText: 0,
    originals: 0,
    filtered: {},
    status: 'none',
    describesSource: false,
    pairedWithSource: false,
    textsFor(ratio: number): AugmentedText[] {
      checkRatio(ratio, 'ratio');
      if (ratio > 0) throw new MmrunError(`augmentation.method is 'none': there are no augmented texts for ratio ${ratio}`);
      return [];
    },
  };
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function emit(opts: AugmentOptions, event: AugmentProgressEvent): void {
  opts.onProgress?.(event);
}

/** Progress to the caller's callback when given, else a bar (plain lines off a terminal). */
function progressReporter(opts: AugmentOptions, label: string, total: number): { tick: (n: number) => void; done: (extra?: string) => void } {
  if (opts.onProgress) {
    let done = 0;
    let sentAt = 0;
    const send = (extra?: string) => {
      sentAt = Date.now();
      opts.onProgress!({ stage: 'augment', label, done, total, unit: 'texts', extra });
    };
    send();
    return {
      tick: (n) => {
        done += n;
        if (Date.now() - sentAt >= 200) send();
      },
      done: (extra) => send(extra),
    };
  }
  const bar = createProgress({ label, total, unit: 'texts' });
  return { tick: (n) => bar.tick(n), done: (extra) => bar.done(extra) };
}

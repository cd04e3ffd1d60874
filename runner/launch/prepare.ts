/**
 * Shared inputs are built once, in the launcher, before any worker starts: every distinct dataset
 * of the plan, then every distinct augmented text set (at the largest ratio that uses it). Workers
 * then only find them. Without this, N workers would wait on one builder's lock, each holding a slot.
 */
import type { Experiment } from '../config/types.gen.ts';
import { createProgress, type Progress } from '../progress.ts';
import type { RunSpec } from '../sweep/index.ts';
import { datasetKey } from '../sweep/identity.ts';
import { truncationReport } from '../model/tokenizer.ts';

export interface PrepareOptions {
  artifactsDir: string;
  log: (line: string) => void;
  plain?: boolean;
}

export async function prepareSharedInputs(runs: RunSpec[], opts: PrepareOptions): Promise<void> {
  if (runs.length === 0) return;
  const data = await import('../data/index.ts');
  const byDataset = new Map<string, Experiment>();
  for (const r of runs) if (!byDataset.has(datasetKey(r.config))) byDataset.set(datasetKey(r.config), r.config);

  const datasetDirs = new Map<string, string>();
  for (const [key, config] of byDataset) {
    let bar: { label: string; progress: Progress; done: number } | undefined;
    const ref = await data.ensureDataset(config, {
      artifactsDir: opts.artifactsDir,
      log: opts.log,
      warn: opts.log,
      onProgress: (e) => {
        if (!bar || bar.label !== e.label) {
          bar?.progress.done();
          bar = { label: e.label, progress: createProgress({ label: e.label, total: e.total, unit: e.unit, plain: opts.plain, write: opts.log }), done: 0 };
        }
        bar.progress.tick(e.done - bar.done, e.extra);
        bar.done = e.done;
      },
    });
    bar?.progress.done();
    if (ref.status === 'built') opts.log(`dataset ${ref.name}-${ref.hash} built in ${ref.dir}`);
    datasetDirs.set(key, ref.dir);
  }
  warnTruncatedTexts(runs, datasetDirs, data.readTexts, opts.log);

  // Augmented sets: one per (augmentation minus ratio, dataset); the ratio only picks how many
  // variants a run uses, so build each once at the largest ratio of the plan.
  const augmentations = runs.filter((r) => r.config.training.retrain.enabled && r.config.augmentation.method !== 'none' && r.config.augmentation.ratio > 0);
  if (augmentations.length === 0) return;
  const { ensureAugmentedSet } = await import('../data/augment/index.ts');
  const { augmentationKey } = await import('../sweep/identity.ts');
  const { withAugmentationSeed } = await import('../data/augment/index.ts');
  const groups = new Map<string, { config: Experiment; ratio: number; datasetDir: string; runSeed: number }>();
  for (const r of augmentations) {
    const datasetDir = datasetDirs.get(datasetKey(r.config))!;
    const hash = datasetKey(r.config);
    // `augmentation.seed: run`: one set per run seed.
    const key = `${augmentationKey(withAugmentationSeed(r.config, r.seed), hash)}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { config: r.config, ratio: r.config.augmentation.ratio, datasetDir, runSeed: r.seed });
    else g.ratio = Math.max(g.ratio, r.config.augmentation.ratio);
  }
  const loaded = new Map<string, ReturnType<typeof data.loadDataset>>();
  for (const g of groups.values()) {
    if (!loaded.has(g.datasetDir)) loaded.set(g.datasetDir, data.loadDataset(g.datasetDir));
    const dataset = await loaded.get(g.datasetDir)!;
    let bar: Progress | undefined;
    let seen = 0;
    const set = await ensureAugmentedSet(g.config, dataset, {
      artifactsDir: opts.artifactsDir,
      ratio: g.ratio,
      runSeed: g.runSeed,
      log: opts.log,
      onProgress: (e) => {
        bar ??= createProgress({ label: e.label, total: e.total, unit: e.unit, plain: opts.plain, write: opts.log });
        bar.tick(e.done - seen, e.extra);
        seen = e.done;
      },
    });
    bar?.done();
    if (set.status === 'built') opts.log(`augmented set ${set.key} (${set.method}, ×${set.variantsPerText}) built`);
  }
}

/**
 * Says when the text branch would read only the beginning of most training texts (e.g. the
 * attribute describer's ~57-token descriptions at the small preset's 32 tokens): an easy setting
 * to miss that costs ~20 points of text accuracy. Once per (dataset, max_len, pooling).
 */
export function warnTruncatedTexts(runs: RunSpec[], datasetDirs: Map<string, string>, readTexts: (dir: string, split: 'train') => string[], log: (line: string) => void): void {
  const texts = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const r of runs) {
    const dir = datasetDirs.get(datasetKey(r.config));
    const { max_len: maxLen, pooling } = r.config.model.text;
    const key = `${dir}|${maxLen}|${pooling}`;
    if (!dir || seen.has(key)) continue;
    seen.add(key);
    if (!texts.has(dir)) texts.set(dir, readTexts(dir, 'train'));
    const t = truncationReport(texts.get(dir)!, maxLen, pooling === 'cls');
    if (t.cut <= 0.5) continue;
    log(
      `warning: model.text.max_len ${maxLen} cuts ${Math.round(t.cut * 100)}% of the training texts (median ${t.medianWords} tokens, longest ${t.longestWords}): ` +
        `the text branch reads only their first ${t.capacity} tokens. model.text.max_len: ${t.suggestedMaxLen} reads 95% of them whole.`,
    );
  }
}

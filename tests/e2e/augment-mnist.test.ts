// Augmentation on a real dataset: 1% of the embedded MNIST, described offline, then each
// offline method at ratio 4. Checks what the unit tests cannot: the stored attributes of a
// built dataset are what attribute-resample draws from, and the speed is usable.
import { beforeAll, describe, expect, it } from 'vitest';
import { validateAndFill } from '../../runner/config/schema.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { ensureAugmentedSet } from '../../runner/data/augment/index.ts';
import { ensureDataset, loadDataset, type Dataset } from '../../runner/data/index.ts';
import { tempFiles } from '../helpers/tmp.ts';

function config(method: string, ratio: number): Experiment {
  const data: Record<string, unknown> = {
    name: 'aug-mnist',
    dataset: { source: 'mnist', image_fraction: 0.02, val_fraction: 0.02, max_test: 100 },
    augmentation: { method, ratio, seed: 3 },
    training: { retrain: { enabled: true } },
  };
  const errors = validateAndFill(data);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return data as unknown as Experiment;
}

const quiet = { onProgress: () => {}, log: () => {} };
const NO_LOOP = /no closed loops|enclose no space|forms a closed loop/;
const share = (texts: string[], re: RegExp) => texts.filter((t) => re.test(t)).length / Math.max(texts.length, 1);

let artifactsDir: string;
let dataset: Dataset;

beforeAll(async () => {
  artifactsDir = tempFiles().dir;
  const ref = await ensureDataset(config('eda', 4), { artifactsDir, ...quiet });
  dataset = loadDataset(ref.dir);
}, 300_000);

describe('augmentation of a built MNIST dataset', { timeout: 300_000 }, () => {
  it('attribute-resample keeps each class’s attribute distribution (loops per digit)', async () => {
    const started = performance.now();
    const set = await ensureAugmentedSet(config('attribute-resample', 4), dataset, { artifactsDir, ...quiet });
    const seconds = (performance.now() - started) / 1000;
    const texts = set.textsFor(4);
    expect(texts).toHaveLength(dataset.train.texts.length * 4);
    expect(texts.length / seconds).toBeGreaterThan(2000); // measured ~100k texts/s
    for (const label of [0, 1, 8]) {
      const originals = dataset.train.texts.filter((_, i) => dataset.train.labels[i] === label);
      const augmented = texts.filter((t) => t.label === label).map((t) => t.text);
      expect(Math.abs(share(augmented, NO_LOOP) - share(originals, NO_LOOP))).toBeLessThan(0.12);
    }
    // digits 0 and 1 differ in loops, and the augmented texts keep that difference
    const of = (label: number) => texts.filter((t) => t.label === label).map((t) => t.text);
    expect(share(of(1), NO_LOOP) - share(of(0), NO_LOOP)).toBeGreaterThan(0.4);
    const originalsSet = new Set(dataset.train.texts);
    expect(texts.filter((t) => originalsSet.has(t.text)).length / texts.length).toBeLessThan(0.05);
  });

  it('eda edits every text and is found, not rebuilt, by the next run', async () => {
    const started = performance.now();
    const set = await ensureAugmentedSet(config('eda', 4), dataset, { artifactsDir, ...quiet });
    const seconds = (performance.now() - started) / 1000;
    const texts = set.textsFor(4);
    expect(texts.length / seconds).toBeGreaterThan(1000); // measured ~17k texts/s
    const changed = texts.filter((t) => t.text !== dataset.train.texts[t.source]).length;
    expect(changed / texts.length).toBeGreaterThan(0.99);
    const again = await ensureAugmentedSet(config('eda', 2), dataset, { artifactsDir, ...quiet });
    expect(again.status).toBe('found');
    expect(again.textsFor(2)).toEqual(set.textsFor(2));
  });
});

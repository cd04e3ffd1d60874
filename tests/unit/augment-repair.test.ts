// augmentation.method 'repair' (the re-pairing control) and augmentation.seed 'run'.
import { describe, expect, it } from 'vitest';
import { validateAndFill } from '../../runner/config/schema.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { ensureAugmentedSet, planAugmentedSet, withAugmentationSeed } from '../../runner/data/augment/index.ts';
import type { Dataset } from '../../runner/data/types.ts';
import { MmrunError } from '../../runner/errors.ts';
import { tempFiles } from '../helpers/tmp.ts';

/** 3 classes × perClass training images; val/test texts are distinct strings so a leak shows. */
function dataset(perClass = 6, extras = 0): Dataset {
  const n = perClass * 3;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const texts = Array.from(labels, (l, i) => `train text ${i} of class ${l}`);
  const split = (tag: string, m: number) => ({ images: new Uint8Array(m), labels: Int32Array.from({ length: m }, (_, i) => i % 3), texts: Array.from({ length: m }, (_, i) => `${tag} text ${i}`) });
  return {
    dir: '/nowhere',
    hash: `repair-${perClass}-${extras}`,
    classNames: ['a', 'b', 'c'],
    shape: [1, 1, 1],
    train: { images: new Uint8Array(n), labels, texts },
    val: split('val', 6),
    test: split('test', 6),
    extraTrainTexts: Array.from({ length: extras }, (_, k) => ({ label: k % 3, text: `extra text ${k}` })),
  };
}

function config(augmentation: Record<string, unknown>): Experiment {
  const data: Record<string, unknown> = { name: 'repair', augmentation, training: { retrain: { enabled: true } } };
  const errors = validateAndFill(data);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return data as unknown as Experiment;
}

const quiet = { onProgress: () => {} };

describe("augmentation.method 'repair'", () => {
  it('gives each image verbatim originals of OTHER training images of the same class, never its own, never val/test texts', async () => {
    const ds = dataset(6, 3);
    const set = await ensureAugmentedSet(config({ method: 'repair', ratio: 4, seed: 2 }), ds, { artifactsDir: tempFiles().dir, ...quiet });
    expect(set.pairedWithSource).toBe(true);
    expect(set.describesSource).toBe(false);
    const texts = set.textsFor(4);
    expect(texts).toHaveLength(4 * (18 + 3));
    const trainIndex = new Map(ds.train.texts.map((t, i) => [t, i]));
    for (const t of texts) {
      const donor = trainIndex.get(t.text);
      expect(donor, `'${t.text}' is not a training text`).toBeDefined();
      expect(ds.train.labels[donor!]).toBe(t.label);
      if (t.source < 18) {
        expect(donor).not.toBe(t.source);
        expect(ds.train.labels[t.source]).toBe(t.label);
      }
    }
    // Distinct donors within a pool while the class has enough other images (5 others, ratio 4).
    for (let i = 0; i < 18; i++) {
      const pool = texts.filter((t) => t.source === i).map((t) => t.text);
      expect(new Set(pool).size).toBe(4);
    }
  });

  it('is deterministic for a seed and differs between seeds; a smaller ratio uses a subset', async () => {
    const ds = dataset();
    const a = await ensureAugmentedSet(config({ method: 'repair', ratio: 3, seed: 1 }), ds, { artifactsDir: tempFiles().dir, ...quiet });
    const b = await ensureAugmentedSet(config({ method: 'repair', ratio: 3, seed: 1 }), ds, { artifactsDir: tempFiles().dir, ...quiet });
    const c = await ensureAugmentedSet(config({ method: 'repair', ratio: 3, seed: 7 }), ds, { artifactsDir: tempFiles().dir, ...quiet });
    expect(a.textsFor(3)).toEqual(b.textsFor(3));
    expect(a.textsFor(3)).not.toEqual(c.textsFor(3));
    const small = a.textsFor(1).map((t) => `${t.source}:${t.text}`);
    const large = new Set(a.textsFor(3).map((t) => `${t.source}:${t.text}`));
    for (const s of small) expect(large.has(s)).toBe(true);
  });

  it('fails clearly when a class has a single training image', async () => {
    const ds = dataset(1);
    const err = await ensureAugmentedSet(config({ method: 'repair', ratio: 1 }), ds, { artifactsDir: tempFiles().dir, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrunError);
    expect((err as Error).message).toMatch(/repair': class 'a' has no other training image/);
  });
});

describe("augmentation.seed 'run'", () => {
  it('the schema accepts an integer or run, and rejects other words with the field named', () => {
    expect(() => config({ method: 'eda', ratio: 1, seed: 'run' })).not.toThrow();
    expect(() => config({ method: 'eda', ratio: 1, seed: 'each' })).toThrow(/seed/);
  });

  it('resolves to the run seed: each run seed gets its own augmented set', async () => {
    const ds = dataset();
    const cfg = config({ method: 'repair', ratio: 2, seed: 'run' });
    expect(withAugmentationSeed(cfg, 4).augmentation.seed).toBe(4);
    expect(withAugmentationSeed(config({ method: 'repair', ratio: 2, seed: 3 }), 4).augmentation.seed).toBe(3);
    const dir = tempFiles().dir;
    const s0 = await ensureAugmentedSet(cfg, ds, { artifactsDir: dir, runSeed: 0, ...quiet });
    const s1 = await ensureAugmentedSet(cfg, ds, { artifactsDir: dir, runSeed: 1, ...quiet });
    const fixed1 = await ensureAugmentedSet(config({ method: 'repair', ratio: 2, seed: 1 }), ds, { artifactsDir: dir, ...quiet });
    expect(s0.key).not.toBe(s1.key);
    expect(s1.key).toBe(fixed1.key); // 'run' at run seed 1 is exactly seed 1
    expect(s0.textsFor(2)).not.toEqual(s1.textsFor(2));
    expect(planAugmentedSet(cfg, ds, { artifactsDir: dir, runSeed: 1 }).action).toBe('found');
  });

  it('without the run seed it fails instead of silently sharing one set', async () => {
    const err = await ensureAugmentedSet(config({ method: 'repair', ratio: 2, seed: 'run' }), dataset(), { artifactsDir: tempFiles().dir, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrunError);
    expect((err as Error).message).toMatch(/augmentation\.seed is 'run'/);
  });
});

/**
 * Deterministic stratified selection (pure). Within each class, one permutation by split_seed
 * decides everything: the first val_fraction goes to validation, then the training images are
 * kept in permutation order, so a smaller image_fraction keeps a subset of a larger one.
 */
import type { Dataset as DatasetConfig } from '../config/types.gen.ts';
import { createRng, seedFrom, shuffleInPlace } from '../random.ts';

export interface Selection {
  train: number[]; // indices into the source's training images, ascending
  val: number[];
  /** Training images dropped by image_fraction / max_per_class (their texts for keep_all_texts). */
  dropped: number[];
  test: number[]; // indices into the source's test images, ascending
}

function byClass(labels: Int32Array, numClasses: number): number[][] {
  const groups: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) groups[labels[i]].push(i);
  return groups;
}

function permuted(indices: number[], seed: number, what: string, cls: number): number[] {
  const out = indices.slice();
  shuffleInPlace(out, createRng(seedFrom('split', what, seed, cls)));
  return out;
}

const ascending = (a: number, b: number) => a - b;

/** Per-class quotas summing to `total`, proportional to class sizes (largest remainders). */
export function proportionalQuotas(sizes: number[], total: number): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  if (total >= n) return sizes.slice();
  const exact = sizes.map((s) => (s * total) / n);
  const quotas = exact.map(Math.floor);
  let left = total - quotas.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if (quotas[i] < sizes[i]) {
      quotas[i]++;
      left--;
    }
  }
  return quotas;
}

export function selectSplits(
  trainLabels: Int32Array,
  testLabels: Int32Array,
  numClasses: number,
  cfg: Pick<DatasetConfig, 'val_fraction' | 'split_seed' | 'image_fraction' | 'max_per_class' | 'max_test'>,
): Selection {
  const train: number[] = [];
  const val: number[] = [];
  const dropped: number[] = [];
  byClass(trainLabels, numClasses).forEach((members, cls) => {
    if (members.length === 0) return;
    const order = permuted(members, cfg.split_seed, 'train', cls);
    const nVal = Math.round(order.length * cfg.val_fraction);
    val.push(...order.slice(0, nVal));
    const pool = order.slice(nVal);
    let keep = pool.length === 0 ? 0 : Math.max(1, Math.round(pool.length * cfg.image_fraction));
    if (cfg.max_per_class != null) keep = Math.min(keep, cfg.max_per_class);
    train.push(...pool.slice(0, keep));
    dropped.push(...pool.slice(keep));
  });

  const testGroups = byClass(testLabels, numClasses);
  const quotas = cfg.max_test == null ? testGroups.map((g) => g.length) : proportionalQuotas(testGroups.map((g) => g.length), cfg.max_test);
  const test: number[] = [];
  testGroups.forEach((members, cls) => {
    test.push(...(quotas[cls] >= members.length ? members : permuted(members, cfg.split_seed, 'test', cls).slice(0, quotas[cls])));
  });

  return { train: train.sort(ascending), val: val.sort(ascending), dropped: dropped.sort(ascending), test: test.sort(ascending) };
}

/** Copies the chosen images (each `imageSize` bytes) and labels out of a source array. */
export function gather(images: Uint8Array, labels: Int32Array, indices: number[], imageSize: number): { images: Uint8Array; labels: Int32Array } {
  const outImages = new Uint8Array(indices.length * imageSize);
  const outLabels = new Int32Array(indices.length);
  indices.forEach((src, k) => {
    outImages.set(images.subarray(src * imageSize, (src + 1) * imageSize), k * imageSize);
    outLabels[k] = labels[src];
  });
  return { images: outImages, labels: outLabels };
}

import { describe, expect, it } from 'vitest';
import { proportionalQuotas, selectSplits } from '../../runner/data/split.ts';

const labels = (counts: number[]) => Int32Array.from(counts.flatMap((n, c) => Array(n).fill(c)));
const base = { val_fraction: 0.1, split_seed: 0, image_fraction: 1, max_per_class: null, max_test: null };
const perClass = (idx: number[], l: Int32Array, k: number) => Array.from({ length: k }, (_, c) => idx.filter((i) => l[i] === c).length);

describe('stratified splits', () => {
  const train = labels([100, 200, 50]);
  const test = labels([40, 40, 20]);

  it('holds out val_fraction of each class and partitions the training images', () => {
    const s = selectSplits(train, test, 3, base);
    expect(perClass(s.val, train, 3)).toEqual([10, 20, 5]);
    expect(perClass(s.train, train, 3)).toEqual([90, 180, 45]);
    expect(new Set([...s.train, ...s.val]).size).toBe(350);
    expect(s.test.length).toBe(100);
  });

  it('is deterministic by split_seed and changes with it', () => {
    expect(selectSplits(train, test, 3, base)).toEqual(selectSplits(train, test, 3, base));
    expect(selectSplits(train, test, 3, { ...base, split_seed: 1 }).val).not.toEqual(selectSplits(train, test, 3, base).val);
  });

  it('keeps image_fraction per class (at least one), nested across fractions, and keeps val fixed', () => {
    const small = selectSplits(train, test, 3, { ...base, image_fraction: 0.01 });
    const big = selectSplits(train, test, 3, { ...base, image_fraction: 0.1 });
    expect(perClass(small.train, train, 3)).toEqual([1, 2, 1]);
    expect(perClass(big.train, train, 3)).toEqual([9, 18, 5]);
    expect(small.train.every((i) => big.train.includes(i))).toBe(true);
    expect(small.val).toEqual(big.val);
    expect(small.dropped.length + small.train.length).toBe(315);
  });

  it('caps per class and stratifies max_test', () => {
    const s = selectSplits(train, test, 3, { ...base, max_per_class: 30, max_test: 10 });
    expect(perClass(s.train, train, 3)).toEqual([30, 30, 30]);
    expect(perClass(s.test, test, 3)).toEqual([4, 4, 2]);
  });

  it('splits quotas proportionally with largest remainders', () => {
    expect(proportionalQuotas([5, 5, 5], 10)).toEqual([4, 3, 3]);
    expect(proportionalQuotas([1, 99], 10)).toEqual([0, 10]);
    expect(proportionalQuotas([3, 4], 100)).toEqual([3, 4]);
  });
});

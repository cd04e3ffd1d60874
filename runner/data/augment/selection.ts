/** Which stored variants a ratio uses. Pure. */
import { MmrunError } from '../../errors.ts';
import { createRng, seedFrom } from '../../random.ts';

export const MAX_RATIO = 1000;

export function checkRatio(ratio: number, where = 'augmentation.ratio'): void {
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0 || ratio > MAX_RATIO) {
    throw new MmrunError(`${where} must be a number from 0 to ${MAX_RATIO} (augmented texts per original text), got ${String(ratio)}`);
  }
}

/** Variants each original needs stored for `ratio`. */
export const variantsNeeded = (ratio: number): number => Math.ceil(ratio - 1e-9);

/**
 * Variants used per original at `ratio`: floor(ratio) for all, one more for the first
 * round(frac × n) originals of a permutation seeded by the augmentation seed alone, so the
 * chosen subset only grows with the ratio.
 */
export function variantCounts(originals: number, ratio: number, seed: number): Uint32Array {
  checkRatio(ratio);
  const base = Math.floor(ratio + 1e-9);
  const counts = new Uint32Array(originals).fill(base);
  const extra = Math.round((ratio - base) * originals);
  if (extra > 0) {
    const order = permutation(originals, seedFrom('augment-fraction', seed));
    for (let k = 0; k < extra; k++) counts[order[k]]++;
  }
  return counts;
}

function permutation(n: number, seed: number): Uint32Array {
  const rng = createRng(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

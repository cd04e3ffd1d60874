/**
 * repair: the re-pairing control. Variant j of training text i is the verbatim original
 * description of ANOTHER training image of the same class (never its own, never a keep_all_texts
 * extra, never a val/test text). Added to image i's pool it gives the same pairing noise as
 * class-conditional new texts (the image's InfoNCE positive is often a same-class description of
 * a different image) without any text the dataset did not already have.
 */
import { MmrunError } from '../../errors.ts';
import { createRng, seedFrom } from '../../random.ts';
import type { Dataset } from '../types.ts';
import { yieldToEventLoop, type Original, type VariantGenerator } from './types.ts';

/**
 * Per original, the candidate donors: training images of the same class other than itself.
 * Extras (texts without an image) get every training image of their class.
 */
function donorsByClass(dataset: Dataset): number[][] {
  const byClass: number[][] = dataset.classNames.map(() => []);
  const labels = dataset.train.labels;
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  return byClass;
}

/**
 * Variant j of original i depends only on (seed, i, j). Within one original, variants
 * 0..k-1 use distinct donors while the class has enough other images (a seeded permutation
 * of the donors, cycled), so a ratio below the class size never repeats a text in one pool.
 */
export function repairGenerator(dataset: Dataset, seed: number): VariantGenerator {
  return {
    async generate(list: Original[], from: number, to: number, onVariants) {
      const byClass = donorsByClass(dataset);
      const texts = dataset.train.texts;
      const numImages = texts.length;
      const variants: string[][] = [];
      for (const original of list) {
        const pool = byClass[original.label] ?? [];
        const own = original.index < numImages ? original.index : -1;
        const donors = own >= 0 ? pool.filter((d) => d !== own) : pool;
        if (donors.length === 0) {
          throw new MmrunError(
            `augmentation.method 'repair': class '${dataset.classNames[original.label]}' has no other training image to borrow a description from`,
            'raise dataset.image_fraction or dataset.max_per_class so every class keeps at least two training images',
          );
        }
        const order = donors.slice();
        const rng = createRng(seedFrom('repair', seed, original.index));
        for (let k = order.length - 1; k > 0; k--) {
          const m = Math.floor(rng.next() * (k + 1));
          [order[k], order[m]] = [order[m], order[k]];
        }
        const row: string[] = [];
        for (let j = from; j < to; j++) row.push(texts[order[j % order.length]]);
        variants.push(row);
        onVariants?.(to - from);
        if (variants.length % 5000 === 0) await yieldToEventLoop();
      }
      return { variants, counts: {} };
    },
  };
}

// What training needs from a dataset (docs/contracts.md, "Datasets"), and the batches built
// from it. A step is a batch of images, each paired with one text drawn from that image's text
// pool: its own description plus any extra texts (augmented or image-less) assigned to it.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random.ts';
import type { Tokenizer } from '../model/tokenizer.ts';

export interface SplitLike {
  images: Uint8Array; // N*H*W*C
  labels: Int32Array;
  texts: string[]; // texts[i] describes image i
}

export interface DatasetLike {
  hash: string;
  classNames: string[];
  shape: [number, number, number];
  train: SplitLike;
  val: SplitLike;
  test: SplitLike;
  extraTrainTexts: { label: number; text: string }[];
}

/** An extra training text. `source` is the index of the training image/text it derives from, if any. */
export interface ExtraText {
  label: number;
  text: string;
  source?: number;
}

export function imageTensor(images: Uint8Array, shape: readonly [number, number, number], indices: ArrayLike<number>): tf.Tensor4D {
  const [h, w, c] = shape;
  const size = h * w * c;
  const out = new Float32Array(indices.length * size);
  for (let j = 0; j < indices.length; j++) {
    const from = indices[j] * size;
    for (let k = 0; k < size; k++) out[j * size + k] = images[from + k] / 255;
  }
  return tf.tensor4d(out, [indices.length, h, w, c]);
}

export function tokenTensor(tokens: Int32Array, maxLen: number, indices: ArrayLike<number>): tf.Tensor2D {
  const out = new Int32Array(indices.length * maxLen);
  for (let j = 0; j < indices.length; j++) out.set(tokens.subarray(indices[j] * maxLen, (indices[j] + 1) * maxLen), j * maxLen);
  return tf.tensor2d(out, [indices.length, maxLen], 'int32');
}

export function oneHot(labels: ArrayLike<number>, indices: ArrayLike<number>, numClasses: number): tf.Tensor2D {
  const out = new Float32Array(indices.length * numClasses);
  for (let j = 0; j < indices.length; j++) out[j * numClasses + labels[indices[j]]] = 1;
  return tf.tensor2d(out, [indices.length, numClasses]);
}

/**
 * How extra texts are used (augmentation.pairing). image: a drawn extra text is its image's
 * InfoNCE positive and a text-loss row. class: the text-loss rows are drawn the same way, but
 * each image's InfoNCE positive is always its own description (alignTexts), so no extra text is
 * ever a specific image's positive.
 */
export type Pairing = 'image' | 'class';

export class TrainSet {
  readonly numImages: number;
  readonly pairing: Pairing;
  readonly textLabels: Int32Array;
  readonly tokens: Int32Array; // tokenised texts, numTexts × maxLen
  readonly droppedTexts: number; // extra texts of a class with no image
  private readonly poolStart: Int32Array;
  private readonly poolTexts: Int32Array;

  constructor(
    readonly split: SplitLike,
    readonly shape: readonly [number, number, number],
    extra: readonly ExtraText[],
    readonly tokenizer: Tokenizer,
    seed: number,
    opts: { pairing?: Pairing } = {},
  ) {
    const n = split.labels.length;
    this.numImages = n;
    this.pairing = opts.pairing ?? 'image';
    const pools: number[][] = Array.from({ length: n }, (_, i) => [i]);
    const byLabel = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const l = split.labels[i];
      if (!byLabel.has(l)) byLabel.set(l, []);
      byLabel.get(l)!.push(i);
    }
    // Texts with no image of their own go round-robin to the images of their class, in an order
    // shuffled by seed, so every text is used and no image gets many more than another.
    const rng = Rng.derive(seed, 'text-pools');
    const order = new Map<number, { images: number[]; next: number }>();
    for (const [label, images] of byLabel) {
      const perm = rng.permutation(images.length);
      order.set(label, { images: Array.from(perm, (p) => images[p]), next: 0 });
    }
    const kept: ExtraText[] = [];
    let dropped = 0;
    for (const t of extra) {
      const id = n + kept.length;
      if (t.source !== undefined && t.source >= 0 && t.source < n) {
        pools[t.source].push(id);
        kept.push(t);
        continue;
      }
      const o = order.get(t.label);
      if (!o) {
        dropped++;
        continue;
      }
      pools[o.images[o.next % o.images.length]].push(id);
      o.next++;
      kept.push(t);
    }
    this.droppedTexts = dropped;
    const texts = [...split.texts, ...kept.map((t) => t.text)];
    this.textLabels = Int32Array.from([...split.labels, ...kept.map((t) => t.label)]);
    this.tokens = tokenizer.encodeAll(texts);
    this.poolStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.poolStart[i + 1] = this.poolStart[i] + pools[i].length;
    this.poolTexts = Int32Array.from(pools.flat());
  }

  get numTexts(): number {
    return this.textLabels.length;
  }

  /** The InfoNCE positive of each image under pairing 'class': its own description (text id = image id). */
  alignTexts(imageIndices: ArrayLike<number>): Int32Array {
    return Int32Array.from(imageIndices);
  }

  /** One text per image: its own when its pool holds only that, else a seeded draw from the pool. */
  pickTexts(imageIndices: ArrayLike<number>, rng: Rng): Int32Array {
    const out = new Int32Array(imageIndices.length);
    for (let j = 0; j < imageIndices.length; j++) {
      const i = imageIndices[j];
      const start = this.poolStart[i];
      const size = this.poolStart[i + 1] - start;
      out[j] = this.poolTexts[start + (size === 1 ? 0 : rng.int(size))];
    }
    return out;
  }
}

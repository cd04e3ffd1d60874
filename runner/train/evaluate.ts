// Evaluation of a trained network on held-out pairs: classification (both modalities, per class,
// confusion), and the shared-space measures (modality gap, retrieval, cross-modal transfer).
import type { Evaluation } from '../config/types.gen.ts';
import type { LossWeights, Network } from '../model/network.ts';
import { readAllTidy } from '../model/read.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { imageTensor, tokenTensor, type SplitLike } from './data.ts';
import { linearTransferAccuracy, modalityGap, normalizeRows, pca2, retrievalRecall } from './shared-space.ts';
import { itemResults, type ItemResults } from '../report/items.ts';
import { sha256Bytes } from '../files/checksum.ts';

const EVAL_BATCH = 256;
const TRANSFER_FIT_MAX = 5000;

export interface Embedded {
  dim: number;
  labels: Int32Array;
  image: Float32Array;
  text: Float32Array;
  imagePred: Int32Array;
  textPred: Int32Array;
  imageLoss: number; // mean cross-entropy
  textLoss: number;
}

const inference = { training: false, nextSeed: () => 0 };

/** What embedSplit reads back: `embeddings: false` reads the logits only (validation needs no embeddings). */
export interface EmbedOptions {
  /** The split's texts already encoded (row i = the text of item i of `indices`), e.g. reused across epochs. */
  tokens?: Int32Array;
  embeddings?: boolean;
}

/** Embeddings and predictions of both modalities for the given items of a split (all by default). */
export async function embedSplit(net: Network, split: SplitLike, shape: readonly [number, number, number], tokenizer: Tokenizer, indices?: Int32Array, opts: EmbedOptions = {}): Promise<Embedded> {
  const idx = indices ?? Int32Array.from({ length: split.labels.length }, (_, i) => i);
  const n = idx.length;
  const withEmbeddings = opts.embeddings ?? true;
  const dim = net.opts.model.projection.dim;
  const C = net.opts.numClasses;
  const tokens = opts.tokens ?? tokenizer.encodeAll(Array.from(idx, (i) => split.texts[i]));
  const out: Embedded = {
    dim,
    labels: Int32Array.from(idx, (i) => split.labels[i]),
    image: new Float32Array(withEmbeddings ? n * dim : 0),
    text: new Float32Array(withEmbeddings ? n * dim : 0),
    imagePred: new Int32Array(n),
    textPred: new Int32Array(n),
    imageLoss: 0,
    textLoss: 0,
  };
  let imageLoss = 0;
  let textLoss = 0;
  for (let start = 0; start < n; start += EVAL_BATCH) {
    const end = Math.min(n, start + EVAL_BATCH);
    const batchIdx = idx.subarray(start, end);
    const local = Int32Array.from({ length: end - start }, (_, j) => start + j);
    const read = readAllTidy(() => {
      const zImage = net.embedImages(imageTensor(split.images, shape, batchIdx), inference);
      const zText = net.embedTexts(tokenTensor(tokens, tokenizer.maxLen, local), inference);
      const logits = [net.imageLogits(zImage), net.textLogits(zText)];
      return withEmbeddings ? [...logits, zImage, zText] : logits;
    }) as Float32Array[];
    await new Promise((r) => setImmediate(r)); // let heartbeats and signal handlers run
    const [li, lt] = read;
    if (withEmbeddings) {
      out.image.set(read[2], start * dim);
      out.text.set(read[3], start * dim);
    }
    for (let j = 0; j < end - start; j++) {
      const label = out.labels[start + j];
      const [pi, ci] = argmaxAndCe(li, j * C, C, label);
      const [pt, ct] = argmaxAndCe(lt, j * C, C, label);
      out.imagePred[start + j] = pi;
      out.textPred[start + j] = pt;
      imageLoss += ci;
      textLoss += ct;
    }
  }
  out.imageLoss = imageLoss / Math.max(n, 1);
  out.textLoss = textLoss / Math.max(n, 1);
  return out;
}

function argmaxAndCe(logits: Float32Array, offset: number, C: number, label: number): [number, number] {
  let best = 0;
  let max = -Infinity;
  for (let c = 0; c < C; c++) {
    if (logits[offset + c] > max) {
      max = logits[offset + c];
      best = c;
    }
  }
  let sum = 0;
  for (let c = 0; c < C; c++) sum += Math.exp(logits[offset + c] - max);
  return [best, Math.log(sum) - (logits[offset + label] - max)];
}

export function accuracy(pred: Int32Array, labels: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) ok++;
  return ok / Math.max(labels.length, 1);
}

export function confusionMatrix(pred: Int32Array, labels: Int32Array, C: number): number[][] {
  const m = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][pred[i]]++;
  return m;
}

export function perClassAccuracy(confusion: number[][]): number[] {
  return confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : row[c] / total;
  });
}

/**
 * The items validated at each epoch end: the whole validation split, or `evaluation.val_items` of
 * it, evenly spaced (a fixed subset: every epoch and every run of the split scores the same items;
 * nothing is drawn). Their texts are encoded once per phase, not once per epoch.
 */
export interface ValidationSet {
  split: SplitLike;
  indices: Int32Array;
  tokens: Int32Array;
  tokenizer: Tokenizer;
}

export function validationSet(val: SplitLike, tokenizer: Tokenizer, valItems: number | null | undefined = null): ValidationSet {
  const n = val.labels.length;
  const indices = valItems === null || valItems === undefined || valItems >= n ? Int32Array.from({ length: n }, (_, i) => i) : evenSample(n, valItems);
  return { split: val, indices, tokens: tokenizer.encodeAll(Array.from(indices, (i) => val.texts[i])), tokenizer };
}

/** Validation metrics watched by early stopping. `val_loss` is the weighted classification loss. */
export async function validationMetrics(net: Network, set: ValidationSet, shape: readonly [number, number, number], weights: LossWeights): Promise<Record<string, number>> {
  if (set.indices.length === 0) return {};
  const e = await embedSplit(net, set.split, shape, set.tokenizer, set.indices, { tokens: set.tokens, embeddings: false });
  return {
    val_image_acc: accuracy(e.imagePred, e.labels),
    val_text_acc: accuracy(e.textPred, e.labels),
    val_loss: weights.image * e.imageLoss + weights.text * e.textLoss,
  };
}

export interface EmbeddingsSample {
  classes: string[];
  image: { label: number; xy: number[]; v: number[] }[];
  text: { label: number; xy: number[]; v: number[] }[];
}

export interface EvaluationResult {
  metrics: Record<string, number>;
  perClass: { image_acc: number[]; text_acc: number[] };
  confusion: { image: number[][]; text: number[][] };
  embeddings: EmbeddingsSample;
  /** Per-item correctness on the test split (items.json; per-item paired tests in the report). */
  items?: ItemResults;
}

/** Evenly spaced indices: a deterministic sample of `count` out of `n`. */
export function evenSample(n: number, count: number): Int32Array {
  const k = Math.min(n, count);
  return Int32Array.from({ length: k }, (_, i) => Math.floor((i * n) / k));
}

export async function evaluate(
  net: Network,
  data: { train: SplitLike; test: SplitLike; shape: readonly [number, number, number]; classNames: string[] },
  tokenizer: Tokenizer,
  cfg: Evaluation,
): Promise<EvaluationResult> {
  const C = data.classNames.length;
  const test = await embedSplit(net, data.test, data.shape, tokenizer);
  const fitSet = await embedSplit(net, data.train, data.shape, tokenizer, evenSample(data.train.labels.length, TRANSFER_FIT_MAX));
  const dim = test.dim;
  const confusion = { image: confusionMatrix(test.imagePred, test.labels, C), text: confusionMatrix(test.textPred, test.labels, C) };
  const metrics: Record<string, number> = {
    image_acc: accuracy(test.imagePred, test.labels),
    text_acc: accuracy(test.textPred, test.labels),
    modality_gap: modalityGap(test.image, test.text, dim),
    ...retrievalRecall(test.image, test.text, dim, cfg.retrieval_pool, cfg.retrieval_k),
    transfer_text_to_image_acc: linearTransferAccuracy({ x: fitSet.text, labels: fitSet.labels }, { x: test.image, labels: test.labels }, dim, C),
    transfer_image_to_text_acc: linearTransferAccuracy({ x: fitSet.image, labels: fitSet.labels }, { x: test.text, labels: test.labels }, dim, C),
  };
  return {
    metrics,
    perClass: { image_acc: perClassAccuracy(confusion.image), text_acc: perClassAccuracy(confusion.text) },
    confusion,
    embeddings: sampleEmbeddings(test, evenSample(test.labels.length, cfg.embeddings_sample), data.classNames),
    items: itemResults(test.labels, { image_acc: test.imagePred, text_acc: test.textPred }, testSetHash(data.test)),
  };
}

/** Identity of the test items (images, labels and the texts text_acc is scored on): runs are paired item by item only when it is the same. */
function testSetHash(split: SplitLike): string {
  const labels = new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength);
  return sha256Bytes(Buffer.concat([labels, split.images, Buffer.from(JSON.stringify(split.texts))]));
}

function sampleEmbeddings(e: Embedded, idx: Int32Array, classes: string[]): EmbeddingsSample {
  const dim = e.dim;
  const n = idx.length;
  const both = new Float32Array(2 * n * dim);
  const im = normalizeRows(e.image, dim);
  const tx = normalizeRows(e.text, dim);
  idx.forEach((i, j) => {
    both.set(im.subarray(i * dim, (i + 1) * dim), j * dim);
    both.set(tx.subarray(i * dim, (i + 1) * dim), (n + j) * dim);
  });
  // One projection for both modalities so the plot shows the gap between them.
  const xy = n > 0 ? pca2(both, dim) : new Float32Array(0);
  const round = (v: ArrayLike<number>) => Array.from(v, (a) => Math.round(a * 1e4) / 1e4);
  const row = (j: number) => ({ label: e.labels[idx[j]], xy: round(xy.subarray(j * 2, j * 2 + 2)), v: round(both.subarray(j * dim, (j + 1) * dim)) });
  return {
    classes,
    image: Array.from(idx, (_, j) => row(j)),
    text: Array.from(idx, (_, j) => ({ ...row(n + j), label: e.labels[idx[j]] })),
  };
}

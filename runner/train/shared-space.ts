// Measures of the shared image/text space, on plain arrays of embeddings (row-major n×dim).
// Pure JS except the linear probe, which trains with tfjs.
import * as tf from '@tensorflow/tfjs-core';
import { readTidy } from '../model/read.ts';
import { createOptimizer } from './optimizer.ts';

export function normalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += dim) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i + k] * x[i + k];
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < dim; k++) out[i + k] = x[i + k] * inv;
  }
  return out;
}

function centroid(x: Float32Array, dim: number): Float64Array {
  const c = new Float64Array(dim);
  const n = x.length / dim;
  for (let i = 0; i < x.length; i += dim) for (let k = 0; k < dim; k++) c[k] += x[i + k];
  for (let k = 0; k < dim; k++) c[k] /= Math.max(n, 1);
  return c;
}

/** Euclidean distance between the centroids of the L2-normalised image and text embeddings. */
export function modalityGap(image: Float32Array, text: Float32Array, dim: number): number {
  const a = centroid(normalizeRows(image, dim), dim);
  const b = centroid(normalizeRows(text, dim), dim);
  let s = 0;
  for (let k = 0; k < dim; k++) s += (a[k] - b[k]) ** 2;
  return Math.sqrt(s);
}

/**
 * Recall@K of image→text and text→image retrieval: pair i is (image i, text i); the test set is cut
 * into pools of `pool` pairs (one smaller pool when there are fewer pairs) and recall averaged.
 */
export function retrievalRecall(image: Float32Array, text: Float32Array, dim: number, pool: number, ks: readonly number[]): Record<string, number> {
  const n = image.length / dim;
  const size = Math.min(pool, n);
  const pools = Math.max(1, Math.floor(n / Math.max(size, 1)));
  const im = normalizeRows(image, dim);
  const tx = normalizeRows(text, dim);
  const hitsI2t = new Array(ks.length).fill(0);
  const hitsT2i = new Array(ks.length).fill(0);
  let queries = 0;
  for (let p = 0; p < pools; p++) {
    const start = p * size;
    const sim = readTidy(() => {
      const a = tf.tensor2d(im.subarray(start * dim, (start + size) * dim), [size, dim]);
      const b = tf.tensor2d(tx.subarray(start * dim, (start + size) * dim), [size, dim]);
      return tf.matMul(a, b, false, true);
    });
    for (let i = 0; i < size; i++) {
      const own = sim[i * size + i];
      let rankRow = 0; // texts scored above image i's own text
      let rankCol = 0; // images scored above text i's own image
      for (let j = 0; j < size; j++) {
        if (j === i) continue;
        if (sim[i * size + j] > own) rankRow++;
        if (sim[j * size + i] > own) rankCol++;
      }
      ks.forEach((k, q) => {
        if (rankRow < k) hitsI2t[q]++;
        if (rankCol < k) hitsT2i[q]++;
      });
    }
    queries += size;
  }
  const out: Record<string, number> = {};
  ks.forEach((k, q) => {
    out[`retrieval_i2t_r${k}`] = hitsI2t[q] / Math.max(queries, 1);
    out[`retrieval_t2i_r${k}`] = hitsT2i[q] / Math.max(queries, 1);
  });
  return out;
}

/**
 * Cross-modal transfer: multinomial logistic regression fit on one modality's embeddings
 * (full-batch Adam, zero init, so deterministic) and scored on the other's.
 */
export function linearTransferAccuracy(
  fit: { x: Float32Array; labels: Int32Array },
  score: { x: Float32Array; labels: Int32Array },
  dim: number,
  numClasses: number,
  steps = 300,
): number {
  const n = fit.labels.length;
  const m = score.labels.length;
  if (n === 0 || m === 0) return 0;
  const w = tf.variable(tf.zeros([dim, numClasses]), true);
  const b = tf.variable(tf.zeros([numClasses]), true);
  const optimizer = createOptimizer('adam', 0.05);
  const x = tf.tensor2d(normalizeRows(fit.x, dim), [n, dim]);
  const y = tf.oneHot(tf.tensor1d(fit.labels, 'int32'), numClasses);
  try {
    for (let s = 0; s < steps; s++) {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar, false, [w, b]);
    }
    const pred = readTidy(() => tf.argMax(tf.add(tf.matMul(tf.tensor2d(normalizeRows(score.x, dim), [m, dim]), w), b), 1));
    let correct = 0;
    for (let i = 0; i < m; i++) if (pred[i] === score.labels[i]) correct++;
    return correct / m;
  } finally {
    optimizer.dispose();
    tf.dispose([w, b, x, y]);
  }
}

/** First two principal components of the rows of x (power iteration), for the report's 2-D plot. */
export function pca2(x: Float32Array, dim: number): Float32Array {
  const n = x.length / dim;
  const mean = centroid(x, dim);
  const centered = new Float64Array(x.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) centered[i * dim + k] = x[i * dim + k] - mean[k];
  const components: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = new Float64Array(dim).map((_, k) => Math.sin(k + 1 + c)); // fixed start: deterministic
    for (let iter = 0; iter < 100; iter++) {
      const next = new Float64Array(dim);
      for (let i = 0; i < n; i++) {
        let dot = 0;
        for (let k = 0; k < dim; k++) dot += centered[i * dim + k] * v[k];
        for (let k = 0; k < dim; k++) next[k] += dot * centered[i * dim + k];
      }
      for (const prev of components) {
        let dot = 0;
        for (let k = 0; k < dim; k++) dot += next[k] * prev[k];
        for (let k = 0; k < dim; k++) next[k] -= dot * prev[k];
      }
      const norm = Math.sqrt(next.reduce((s, a) => s + a * a, 0)) || 1;
      v = next.map((a) => a / norm);
    }
    components.push(v);
  }
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += centered[i * dim + k] * components[c][k];
      out[i * 2 + c] = dot;
    }
  }
  return out;
}

// MmrunBatchNorm / MmrunBatchNormGrad: training-mode batch norm (+ ReLU) over the last axis of
// channels-last activations, one kernel each way; MmrunBatchNormReluPool (+ Grad): the same with
// the 2×2 max-pool that follows it in the image branch, which saves its argmax (the normalised
// activations are never stored, and the gradient needs neither them nor a full-size dy). tfjs's composite (moments, batchNorm, relu) runs
// ~20 kernels, and its gradient tiles every [C] vector to the activation's full shape with the
// wasm backend's scalar Tile: 0.5 s of a 0.6 s step of the medium CNN. Native (native/batch-norm.c)
// when the native kernels run; the same passes in JavaScript on the wasm heap otherwise.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeKernels } from '../native/index.ts';
import { ptr, type WasmBackendLike } from '../simd/module.ts';
import { sizeOf, type KernelFn } from './registry.ts';

export const BATCH_NORM = 'MmrunBatchNorm';
export const BATCH_NORM_GRAD = 'MmrunBatchNormGrad';
export const BATCH_NORM_RELU_POOL = 'MmrunBatchNormReluPool';
export const BATCH_NORM_RELU_POOL_GRAD = 'MmrunBatchNormReluPoolGrad';

export interface BatchNormAttrs {
  epsilon: number;
  relu: boolean;
}

/** Rows of sums accumulated in one block before they go into the double totals (as batch-norm.c). */
const BLOCK = 64;

function rowsOf(x: tf.TensorInfo): [rows: number, channels: number] {
  const channels = x.shape[x.shape.length - 1];
  return [channels ? sizeOf(x.shape) / channels : 0, channels];
}

function native() {
  const n = loadNativeKernels();
  return n.ok ? n.kernels : undefined;
}

function check(name: string, status: number): void {
  if (status !== 0) throw new Error(`native ${name}: out of memory for its buffers`);
}

/** Float32 view of a tensor on the heap (re-read on every call: the heap can grow and move). */
function view(b: WasmBackendLike, t: tf.TensorInfo, n: number): Float32Array {
  return new Float32Array(b.wasm.HEAPU8.buffer, ptr(b, t), n);
}

/** Mean and biased variance of X [rows, C] into M and V; returns the scale and shift that normalise it. */
function batchStats(X: Float32Array, rows: number, C: number, G: Float32Array, Bt: Float32Array, epsilon: number, M: Float32Array, V: Float32Array): [Float32Array, Float32Array] {
  const part = new Float32Array(C); // float32 partial sums per block of rows, as batch-norm.c
  const sum = new Float64Array(C);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    part.fill(0);
    for (let i = r0 * C, end = Math.min(rows, r0 + BLOCK) * C; i < end; i += C) for (let c = 0; c < C; c++) part[c] += X[i + c];
    for (let c = 0; c < C; c++) sum[c] += part[c];
  }
  for (let c = 0; c < C; c++) M[c] = rows ? sum[c] / rows : 0;
  sum.fill(0);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    part.fill(0);
    for (let i = r0 * C, end = Math.min(rows, r0 + BLOCK) * C; i < end; i += C) {
      for (let c = 0; c < C; c++) {
        const d = Math.fround(X[i + c] - M[c]);
        part[c] += d * d;
      }
    }
    for (let c = 0; c < C; c++) sum[c] += part[c];
  }
  const s = new Float32Array(C);
  const t = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    V[c] = rows ? sum[c] / rows : 0;
    s[c] = G[c] / Math.sqrt(V[c] + Math.fround(epsilon));
    t[c] = Bt[c] - Math.fround(M[c] * s[c]);
  }
  return [s, t];
}

/** Per-channel coefficients of the gradient (dx = a*dn + b*(x - mean) + k), and dgamma, dbeta into DG, DB. */
function gradCoefficients(rows: number, C: number, sn: Float64Array, snx: Float64Array, G: Float32Array, V: Float32Array, DM: Float32Array, DV: Float32Array, epsilon: number, DG: Float32Array, DB: Float32Array) {
  const a = new Float32Array(C);
  const b = new Float32Array(C);
  const k = new Float32Array(C);
  const count = rows || 1;
  for (let c = 0; c < C; c++) {
    const rstd = 1 / Math.sqrt(V[c] + Math.fround(epsilon));
    const dg = snx[c] * rstd;
    const ga = G[c] * rstd;
    DB[c] = sn[c];
    DG[c] = dg;
    a[c] = ga;
    b[c] = (-ga * rstd * dg) / count + (2 * DV[c]) / count;
    k[c] = (-ga * sn[c]) / count + DM[c] / count;
  }
  return { a, b, k };
}

/** Inputs x, gamma, beta; outputs y, mean and variance (biased, as tf.moments) over every axis but the last. */
export const batchNorm: KernelFn = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const { epsilon, relu } = attrs as unknown as BatchNormAttrs;
  const b = backend as WasmBackendLike;
  const [rows, C] = rowsOf(x);
  const y = b.makeOutput(x.shape, 'float32');
  const mean = b.makeOutput([C], 'float32');
  const variance = b.makeOutput([C], 'float32');
  const n = native();
  if (n) {
    check(BATCH_NORM, n.batchNormTrain(b.wasm.HEAPU8, ptr(b, x), rows, C, ptr(b, gamma), ptr(b, beta), epsilon, relu ? 1 : 0, ptr(b, y), ptr(b, mean), ptr(b, variance)));
    return [y, mean, variance];
  }
  const X = view(b, x, rows * C);
  const Y = view(b, y, rows * C);
  const [s, t] = batchStats(X, rows, C, view(b, gamma, C), view(b, beta, C), epsilon, view(b, mean, C), view(b, variance, C));
  for (let r = 0; r < rows; r++) {
    const base = r * C;
    for (let c = 0; c < C; c++) {
      const v = Math.fround(X[base + c] * s[c]) + t[c];
      Y[base + c] = relu && !(v > 0) ? 0 : v;
    }
  }
  return [y, mean, variance];
};

/**
 * Inputs dy, y, x, gamma, mean, variance (the forward's), dmean and dvar (the gradients reaching
 * the batch statistics); outputs dx, dgamma, dbeta. See native/batch-norm.c for the formula.
 */
export const batchNormGrad: KernelFn = ({ inputs, backend, attrs }) => {
  const { dy, y, x, gamma, mean, variance, dmean, dvar } = inputs as Record<'dy' | 'y' | 'x' | 'gamma' | 'mean' | 'variance' | 'dmean' | 'dvar', tf.TensorInfo>;
  const { epsilon, relu } = attrs as unknown as BatchNormAttrs;
  const b = backend as WasmBackendLike;
  const [rows, C] = rowsOf(x);
  const dx = b.makeOutput(x.shape, 'float32');
  const dgamma = b.makeOutput([C], 'float32');
  const dbeta = b.makeOutput([C], 'float32');
  const n = native();
  if (n) {
    check(
      BATCH_NORM_GRAD,
      n.batchNormGrad(
        b.wasm.HEAPU8, ptr(b, dy), ptr(b, y), ptr(b, x), rows, C, ptr(b, gamma), ptr(b, mean), ptr(b, variance), ptr(b, dmean), ptr(b, dvar),
        epsilon, relu ? 1 : 0, ptr(b, dx), ptr(b, dgamma), ptr(b, dbeta),
      ),
    );
    return [dx, dgamma, dbeta];
  }
  const [DY, Y, X, DX] = [view(b, dy, rows * C), view(b, y, rows * C), view(b, x, rows * C), view(b, dx, rows * C)];
  const [G, M, V, DM, DV, DG, DB] = [gamma, mean, variance, dmean, dvar, dgamma, dbeta].map((t) => view(b, t, C));
  const sn = new Float64Array(C);
  const snx = new Float64Array(C);
  const pn = new Float32Array(C);
  const pnx = new Float32Array(C);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    pn.fill(0);
    pnx.fill(0);
    for (let base = r0 * C, end = Math.min(rows, r0 + BLOCK) * C; base < end; base += C) {
      for (let c = 0; c < C; c++) {
        const d = relu && !(Y[base + c] > 0) ? 0 : DY[base + c];
        pn[c] += d;
        pnx[c] += Math.fround(d * Math.fround(X[base + c] - M[c]));
      }
    }
    for (let c = 0; c < C; c++) {
      sn[c] += pn[c];
      snx[c] += pnx[c];
    }
  }
  const { a, b: bx, k } = gradCoefficients(rows, C, sn, snx, G, V, DM, DV, epsilon, DG, DB);
  for (let r = 0; r < rows; r++) {
    const base = r * C;
    for (let c = 0; c < C; c++) {
      const d = relu && !(Y[base + c] > 0) ? 0 : DY[base + c];
      DX[base + c] = a[c] * d + bx[c] * Math.fround(X[base + c] - M[c]) + k[c];
    }
  }
  return [dx, dgamma, dbeta];
};

/** [B, H, W, C] → the pooled shape of a 2×2 max-pool of stride 2 with 'same' padding. */
function pooledShape(x: tf.TensorInfo): [number, number, number, number] {
  const [B, H, W, C] = x.shape;
  return [B, Math.ceil(H / 2), Math.ceil(W / 2), C];
}

/**
 * Every input pixel of every pooling window, in window order, as triples (q = dh*2 + dw, input
 * offset, output offset), with the index of the first triple of each row of windows in rowStarts.
 */
function windowPixels(shape: readonly number[]): { pixels: Int32Array; count: number; rowStarts: Int32Array } {
  const [B, H, W, C] = shape;
  const [OH, OW] = [Math.ceil(H / 2), Math.ceil(W / 2)];
  const pixels = new Int32Array(3 * B * H * W);
  const rowStarts = new Int32Array(B * OH + 1);
  let n = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      rowStarts[b * OH + oh] = n;
      for (let ow = 0; ow < OW; ow++) {
        for (let q = 0; q < 4; q++) {
          const ih = 2 * oh + (q >> 1);
          const iw = 2 * ow + (q & 1);
          if (ih >= H || iw >= W) continue;
          pixels[3 * n] = q;
          pixels[3 * n + 1] = ((b * H + ih) * W + iw) * C;
          pixels[3 * n + 2] = ((b * OH + oh) * OW + ow) * C;
          n++;
        }
      }
    }
  }
  rowStarts[B * OH] = n;
  return { pixels, count: n, rowStarts };
}

/**
 * Batch norm, ReLU and a 2×2 max-pool of stride 2 ('same' padding) in one kernel, for x [B, H, W, C]
 * with inputs x, gamma, beta: outputs the pooled activations, argmax (int32, each output's position
 * in its window, dh*2 + dw, the first of equal values; -1 where the output is 0), mean and variance.
 * The normalised activations are never stored: the gradient recomputes what it needs from x.
 */
export const batchNormReluPool: KernelFn = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const { epsilon } = attrs as unknown as BatchNormAttrs;
  const b = backend as WasmBackendLike;
  const [B, H, W, C] = x.shape;
  const shape = pooledShape(x);
  const out = b.makeOutput(shape, 'float32');
  const argmax = b.makeOutput(shape, 'int32');
  const mean = b.makeOutput([C], 'float32');
  const variance = b.makeOutput([C], 'float32');
  const n = native();
  if (n) {
    check(BATCH_NORM_RELU_POOL, n.batchNormReluPool(b.wasm.HEAPU8, ptr(b, x), B, H, W, C, ptr(b, gamma), ptr(b, beta), epsilon, ptr(b, out), ptr(b, argmax), ptr(b, mean), ptr(b, variance)));
    return [out, argmax, mean, variance];
  }
  const X = view(b, x, B * H * W * C);
  const O = view(b, out, sizeOf(shape));
  const A = new Int32Array(b.wasm.HEAPU8.buffer, ptr(b, argmax), sizeOf(shape));
  const [s, t] = batchStats(X, B * H * W, C, view(b, gamma, C), view(b, beta, C), epsilon, view(b, mean, C), view(b, variance, C));
  O.fill(0);
  A.fill(-1);
  const { pixels, count } = windowPixels(x.shape);
  for (let j = 0; j < count; j++) {
    const [q, i, o] = [pixels[3 * j], pixels[3 * j + 1], pixels[3 * j + 2]];
    for (let c = 0; c < C; c++) {
      const v = Math.fround(Math.fround(X[i + c] * s[c]) + t[c]);
      if (v > O[o + c]) {
        O[o + c] = v;
        A[o + c] = q;
      }
    }
  }
  return [out, argmax, mean, variance];
};

/** Inputs dy (pooled), argmax, x, gamma, mean, variance, dmean, dvar; outputs dx, dgamma, dbeta. */
export const batchNormReluPoolGrad: KernelFn = ({ inputs, backend, attrs }) => {
  const { dy, argmax, x, gamma, mean, variance, dmean, dvar } = inputs as Record<'dy' | 'argmax' | 'x' | 'gamma' | 'mean' | 'variance' | 'dmean' | 'dvar', tf.TensorInfo>;
  const { epsilon } = attrs as unknown as BatchNormAttrs;
  const b = backend as WasmBackendLike;
  const [B, H, W, C] = x.shape;
  const dx = b.makeOutput(x.shape, 'float32');
  const dgamma = b.makeOutput([C], 'float32');
  const dbeta = b.makeOutput([C], 'float32');
  const n = native();
  if (n) {
    check(
      BATCH_NORM_RELU_POOL_GRAD,
      n.batchNormReluPoolGrad(
        b.wasm.HEAPU8, ptr(b, dy), ptr(b, argmax), ptr(b, x), B, H, W, C, ptr(b, gamma), ptr(b, mean), ptr(b, variance), ptr(b, dmean), ptr(b, dvar),
        epsilon, ptr(b, dx), ptr(b, dgamma), ptr(b, dbeta),
      ),
    );
    return [dx, dgamma, dbeta];
  }
  const pooled = sizeOf(dy.shape);
  const [DY, X, DX] = [view(b, dy, pooled), view(b, x, B * H * W * C), view(b, dx, B * H * W * C)];
  const A = new Int32Array(b.wasm.HEAPU8.buffer, ptr(b, argmax), pooled);
  const [G, M, V, DM, DV, DG, DB] = [gamma, mean, variance, dmean, dvar, dgamma, dbeta].map((t) => view(b, t, C));
  const sn = new Float64Array(C);
  const snx = new Float64Array(C);
  const pn = new Float32Array(C);
  const pnx = new Float32Array(C);
  const { pixels, count, rowStarts } = windowPixels(x.shape);
  for (let row = 0; row + 1 < rowStarts.length; row++) {
    pn.fill(0);
    pnx.fill(0);
    for (let j = rowStarts[row]; j < rowStarts[row + 1]; j++) {
      const [q, i, o] = [pixels[3 * j], pixels[3 * j + 1], pixels[3 * j + 2]];
      for (let c = 0; c < C; c++) {
        if (A[o + c] !== q) continue;
        pn[c] += DY[o + c];
        pnx[c] += Math.fround(DY[o + c] * Math.fround(X[i + c] - M[c]));
      }
    }
    for (let c = 0; c < C; c++) {
      sn[c] += pn[c];
      snx[c] += pnx[c];
    }
  }
  const { a, b: bx, k } = gradCoefficients(B * H * W, C, sn, snx, G, V, DM, DV, epsilon, DG, DB);
  for (let j = 0; j < count; j++) {
    const [q, i, o] = [pixels[3 * j], pixels[3 * j + 1], pixels[3 * j + 2]];
    for (let c = 0; c < C; c++) {
      const d = A[o + c] === q ? DY[o + c] : 0;
      DX[i + c] = a[c] * d + bx[c] * Math.fround(X[i + c] - M[c]) + k[c];
    }
  }
  return [dx, dgamma, dbeta];
};

let gradientRegistered = false;

/** The gradients of MmrunBatchNorm and MmrunBatchNormReluPool (global registry; the kernel exists on wasm only). Idempotent. */
export function registerBatchNormGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvar] = dys as tf.Tensor[];
      const [x, gamma, y, mean, variance] = saved;
      // All three come from one pass, so they are made here, not lazily (the engine disposes what
      // one input's closure makes before calling the next).
      const [dx, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_GRAD, { dy, y, x, gamma, mean, variance, dmean, dvar }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
  tf.registerGradient({
    kernelName: BATCH_NORM_RELU_POOL,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, , dmean, dvar] = dys as tf.Tensor[];
      const [x, gamma, argmax, mean, variance] = saved;
      const [dx, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_RELU_POOL_GRAD, { dy, argmax, x, gamma, mean, variance, dmean, dvar }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}

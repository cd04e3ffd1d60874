// MmrunLayerNorm / MmrunLayerNormGrad: layer norm over the last axis in one pass each way
// (tf.moments + affine is ~10 kernels forward and ~25 backward). Width must be a multiple of 4.
import type * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import { sizeOf, type KernelFn } from './registry.ts';

export const LAYER_NORM = 'MmrunLayerNorm';
export const LAYER_NORM_GRAD = 'MmrunLayerNormGrad';

function rowsOf(x: tf.TensorInfo): [rows: number, width: number] {
  const width = x.shape[x.shape.length - 1];
  return [sizeOf(x.shape) / width, width];
}

/** Outputs y (shape of x), mean and rstd ([rows]). */
export const layerNorm: KernelFn = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const [rows, width] = rowsOf(x);
  const b = backend as WasmBackendLike;
  const y = b.makeOutput(x.shape, 'float32');
  const mean = b.makeOutput([rows], 'float32');
  const rstd = b.makeOutput([rows], 'float32');
  simdOf(b).layer_norm(ptr(b, x), ptr(b, gamma), ptr(b, beta), ptr(b, y), ptr(b, mean), ptr(b, rstd), rows, width, (attrs as { epsilon: number }).epsilon);
  return [y, mean, rstd];
};

/** Outputs dx, dgamma, dbeta. */
export const layerNormGrad: KernelFn = ({ inputs, backend }) => {
  const { dy, x, gamma, mean, rstd } = inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'rstd', tf.TensorInfo>;
  const [rows, width] = rowsOf(x);
  const b = backend as WasmBackendLike;
  const dx = b.makeOutput(x.shape, 'float32');
  const dgamma = b.makeOutput([width], 'float32');
  const dbeta = b.makeOutput([width], 'float32');
  simdOf(b).layer_norm_grad(ptr(b, dy), ptr(b, x), ptr(b, gamma), ptr(b, mean), ptr(b, rstd), ptr(b, dx), ptr(b, dgamma), ptr(b, dbeta), rows, width);
  return [dx, dgamma, dbeta];
};

// MaxPoolGrad: the built-in one routes gradients wrongly when a whole window is negative.
// Ours sends each dy to the first maximum of its window, as the cpu backend does.
import * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import type { KernelFn } from './registry.ts';

interface Attrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export const maxPoolGrad: KernelFn = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as unknown as Attrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const dx = (backend as WasmBackendLike).makeOutput(input.shape, 'float32');
  const tiles2x2 =
    info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    info.inHeight === 2 * info.outHeight && info.inWidth === 2 * info.outWidth && info.padInfo.top === 0 && info.padInfo.left === 0 && info.inChannels % 4 === 0;
  if (tiles2x2) {
    simdOf(backend).max_pool_grad_2x2(ptr(backend, input), ptr(backend, dy), ptr(backend, dx), info.batchSize, info.outHeight, info.outWidth, info.inChannels);
    return dx;
  }
  simdOf(backend).max_pool_grad(
    ptr(backend, input), ptr(backend, dy), ptr(backend, dx), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
  );
  return dx;
};

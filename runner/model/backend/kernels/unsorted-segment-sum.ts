// UnsortedSegmentSum (missing in wasm): the gradient of gather, i.e. of embedding tables.
import type * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import { sizeOf, type KernelFn } from './registry.ts';

export const unsortedSegmentSum: KernelFn = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum on wasm supports float32, got ${x.dtype}`);
  const n = sizeOf(segmentIds.shape);
  const inner = sizeOf(x.shape.slice(segmentIds.shape.length));
  const out = (backend as WasmBackendLike).makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32');
  simdOf(backend).segment_sum(ptr(backend, x), ptr(backend, segmentIds), n, inner, numSegments, ptr(backend, out));
  return out;
};

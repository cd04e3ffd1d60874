// Sum over a contiguous block of axes with SIMD (bias gradients and broadcast reductions sum over
// leading axes, which the built-in does through a slow transpose). Other cases use the built-in.
import * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import { callBuiltin, sizeOf, type KernelFn } from './registry.ts';

export const sum: KernelFn = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32') return callBuiltin('Sum', args);
  const rank = x.shape.length;
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  if (axes.length > 0 && axes[axes.length - 1] - axes[0] !== axes.length - 1) return callBuiltin('Sum', args);
  const first = axes.length ? axes[0] : rank;
  const last = axes.length ? axes[axes.length - 1] + 1 : rank;
  const outer = sizeOf(x.shape.slice(0, first));
  const red = sizeOf(x.shape.slice(first, last));
  const inner = sizeOf(x.shape.slice(last));
  const outShape = keepDims ? x.shape.map((d, i) => (i >= first && i < last ? 1 : d)) : x.shape.filter((_, i) => i < first || i >= last);
  const out = (args.backend as WasmBackendLike).makeOutput(outShape, 'float32');
  if (outer * inner > 0) simdOf(args.backend).reduce_sum(ptr(args.backend, x), outer, red, inner, ptr(args.backend, out));
  return out;
};

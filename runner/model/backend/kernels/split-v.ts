// SplitV: strided block copies (memory.copy) on the heap. The built-in slices element by element when the
// split axis is not the first (an attention qkv split took ~18 ms).
import * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import { callBuiltin, sizeOf, type KernelFn } from './registry.ts';

export const splitV: KernelFn = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  if (x.dtype === 'bool' || x.dtype === 'string') return callBuiltin('SplitV', args);
  const backend = args.backend as WasmBackendLike;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
  const outer = sizeOf(x.shape.slice(0, ax));
  const inner = sizeOf(x.shape.slice(ax + 1));
  const rowBytes = x.shape[ax] * inner * 4;
  const px = ptr(backend, x);
  let offset = 0;
  return sizes.map((s) => {
    const shape = x.shape.slice();
    shape[ax] = s;
    const out = backend.makeOutput(shape, x.dtype);
    const chunk = s * inner * 4;
    if (chunk > 0) simdOf(backend).copy_rows(px + offset, rowBytes, ptr(backend, out), chunk, outer, chunk);
    offset += chunk;
    return out;
  });
};

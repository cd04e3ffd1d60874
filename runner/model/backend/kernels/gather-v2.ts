// GatherV2 (embedding lookups): row copies (memory.copy) on the heap. The built-in took ~30 ms for a
// [2000,64] table and 2048 ids, more than the whole rest of a text-branch forward pass.
import * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import { callBuiltin, sizeOf, type KernelFn } from './registry.ts';

export const gatherV2: KernelFn = (args) => {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
  if ((batchDims ?? 0) !== 0 || x.dtype === 'bool' || x.dtype === 'string' || indices.dtype !== 'int32') return callBuiltin('GatherV2', args);
  const backend = args.backend as WasmBackendLike;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const outer = sizeOf(x.shape.slice(0, ax));
  const n = x.shape[ax];
  const inner = sizeOf(x.shape.slice(ax + 1));
  const count = sizeOf(indices.shape);
  const out = backend.makeOutput([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
  if (outer * count * inner === 0) return out;
  const bad = simdOf(backend).gather_rows(ptr(backend, x), n, outer, ptr(backend, indices), count, inner * 4, ptr(backend, out));
  if (bad >= 0) {
    backend.disposeData(out.dataId);
    const id = new Int32Array(backend.wasm.HEAPU8.buffer, ptr(backend, indices), count)[bad];
    throw new Error(`GatherV2: index ${id} is not in [0, ${n - 1}]`);
  }
  return out;
};

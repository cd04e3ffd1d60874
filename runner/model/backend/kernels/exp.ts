// Exp through a vectorised native exp (tfjs's wasm Exp is a scalar loop, ~6 ns per value: it made
// up half of the cross-modal transfer probe in evaluation). Built-in without native kernels.
import type * as tf from '@tensorflow/tfjs-core';
import { nativeOf, ptr, type WasmBackendLike } from '../simd/module.ts';
import { callBuiltin, sizeOf, type KernelFn } from './registry.ts';

export const exp: KernelFn = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const native = nativeOf(args.backend);
  if (!native || x.dtype !== 'float32') return callBuiltin('Exp', args);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(x.shape, 'float32');
  native.exp(ptr(backend, x), sizeOf(x.shape), ptr(backend, out));
  return out;
};

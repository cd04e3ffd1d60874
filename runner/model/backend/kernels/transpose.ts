// Transpose: an identity permutation (tfjs's gradients of gather and of the embedding sum ask for
// [0, 1] on [2048, 64] and [2000, 64] every text step) shares the buffer, as Identity does, instead
// of the built-in's copy. Real permutations use the built-in.
import type * as tf from '@tensorflow/tfjs-core';
import { callBuiltin, type KernelFn } from './registry.ts';

export const transpose: KernelFn = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { perm } = args.attrs as unknown as { perm: number[] };
  if (x.dtype === 'string' || !perm.every((p, i) => p === i)) return callBuiltin('Transpose', args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

// Identity (tf.clone, and many gradients): share the data, as the cpu backend does, instead of the
// wasm built-in's copy. tfjs tensors are immutable, so sharing is safe; the one kernel of ours that
// writes in place (the fused Adam moments) first checks that nothing shares its buffers.
import type * as tf from '@tensorflow/tfjs-core';
import { callBuiltin, type KernelFn } from './registry.ts';

export const identity: KernelFn = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return callBuiltin('Identity', args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

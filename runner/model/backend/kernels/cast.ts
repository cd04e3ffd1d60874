// Cast to the tensor's own dtype (tf.moments and the gradients of several ops cast float32 to
// float32): share the data like Identity instead of the built-in's copy.
import type * as tf from '@tensorflow/tfjs-core';
import { callBuiltin, type KernelFn } from './registry.ts';

export const cast: KernelFn = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = args.attrs as { dtype: tf.DataType };
  if (dtype !== x.dtype) return callBuiltin('Cast', args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

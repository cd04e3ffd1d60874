// MmrunReluBiasGrad: the backward of y = relu(z + bias) in one native pass, returning dz and the
// bias gradient (tfjs would run a ReLU gradient and a Sum over all leading axes). Native only: the
// op that uses it (ops/conv-bias-relu.ts) is offered only when the native kernels are active.
import type * as tf from '@tensorflow/tfjs-core';
import { nativeOf, ptr, type WasmBackendLike } from '../simd/module.ts';
import { sizeOf, type KernelFn } from './registry.ts';

export const RELU_BIAS_GRAD = 'MmrunReluBiasGrad';

export const reluBiasGrad: KernelFn = ({ inputs, backend }) => {
  const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
  const native = nativeOf(backend);
  if (!native) throw new Error(`${RELU_BIAS_GRAD} needs mmrun's native kernels`);
  const cols = y.shape[y.shape.length - 1];
  const b = backend as WasmBackendLike;
  const dz = b.makeOutput(y.shape, 'float32');
  const db = b.makeOutput([cols], 'float32');
  native.reluBiasGrad(ptr(b, dy), ptr(b, y), sizeOf(y.shape) / cols, cols, ptr(b, dz), ptr(b, db));
  return [dz, db];
};

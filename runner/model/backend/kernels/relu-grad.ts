// MmrunReluGrad: dx = x > 0 ? dy : 0 in one pass (tfjs's ReLU gradient is dy·cast(step(x)):
// two kernels and two passes over every activation of a CNN).
import * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import { sizeOf, type KernelFn } from './registry.ts';

export const RELU_GRAD = 'MmrunReluGrad';

export const reluGrad: KernelFn = ({ inputs, backend }) => {
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const out = (backend as WasmBackendLike).makeOutput(x.shape, 'float32');
  simdOf(backend).relu_grad(ptr(backend, dy), ptr(backend, x), ptr(backend, out), sizeOf(x.shape));
  return out;
};

/**
 * The ReLU gradient for every backend: mmrun's kernel on wasm, tfjs's own formula elsewhere
 * (the gradient registry is global, so this must keep the other backends' behaviour).
 */
export function registerReluGradient(): void {
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const g = dy as tf.Tensor;
      if (tf.getBackend() === 'wasm' && x.dtype === 'float32' && g.dtype === 'float32' && tf.getKernel(RELU_GRAD, 'wasm')) {
        return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }, {}) as tf.Tensor };
      }
      return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
    },
  });
}

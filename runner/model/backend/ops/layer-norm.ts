// Layer norm as one op with its own gradient when the wasm backend runs mmrun's kernels; any other
// backend (or a width that is not a multiple of 4) gets the composite the caller passes.
import * as tf from '@tensorflow/tfjs-core';
import { LAYER_NORM, LAYER_NORM_GRAD } from '../kernels/layer-norm.ts';
import { wasmKernelReady } from './available.ts';

export function fusedLayerNormAvailable(width: number): boolean {
  return width % 4 === 0 && wasmKernelReady(LAYER_NORM);
}

/** Layer norm over the last axis of x (biased variance), gamma and beta of shape [width]. */
export function fusedLayerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): T {
  const forward = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM, { x: xx, gamma: g, beta: b }, { epsilon }) as tf.Tensor[];
    save([xx, g, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sm, sr] = saved;
        return tf.engine().runKernel(LAYER_NORM_GRAD, { dy, x: sx, gamma: sg, mean: sm, rstd: sr }, {}) as tf.Tensor[];
      },
    };
  };
  const f = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as T;
}

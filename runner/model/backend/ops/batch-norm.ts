// Training-mode batch norm (+ ReLU) as one op with its own gradient when the wasm backend runs
// mmrun's kernels (kernels/batch-norm.ts); callers use tfjs's composite on other backends.
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM, BATCH_NORM_RELU_POOL, registerBatchNormGradient } from '../kernels/batch-norm.ts';
import { wasmKernelReady } from './available.ts';

export function fusedBatchNormAvailable(): boolean {
  return wasmKernelReady(BATCH_NORM);
}

/**
 * relu?(gamma * (x - mean) / sqrt(variance + epsilon) + beta) with the batch's mean and biased
 * variance over every axis but the last (channels-last x; gamma and beta [C]), which it returns
 * too (for the running statistics). Gradients flow to x, gamma and beta, and through the statistics.
 */
export function fusedBatchNormTrain<T extends tf.Tensor>(
  x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, relu: boolean,
): { y: T; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  registerBatchNormGradient();
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM, { x, gamma, beta }, { epsilon, relu }) as tf.Tensor[];
  return { y: y as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * maxPool(relu(batch norm of x), 2, 2, 'same') for x [B, H, W, C] in training, with the batch's
 * statistics as fusedBatchNormTrain, in one kernel each way.
 */
export function fusedBatchNormReluPoolTrain(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  registerBatchNormGradient();
  const [y, argmax, mean, variance] = tf.engine().runKernel(BATCH_NORM_RELU_POOL, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  argmax.dispose();
  return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

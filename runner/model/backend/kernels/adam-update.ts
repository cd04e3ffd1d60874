// MmrunAdamUpdate: one fused Adam step for one variable (tfjs's Adam runs ~12 kernels per
// variable). Updates the moments m and v in place (they belong to the optimizer alone) and
// returns the new value of the variable.
import type * as tf from '@tensorflow/tfjs-core';
import { ptr, simdOf, type WasmBackendLike } from '../simd/module.ts';
import { sizeOf, type KernelFn } from './registry.ts';

export const ADAM_UPDATE = 'MmrunAdamUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  /** 1 / (1 − beta1^t) and 1 / (1 − beta2^t). */
  c1: number;
  c2: number;
  learningRate: number;
  epsilon: number;
}

export const adamUpdate: KernelFn = ({ inputs, backend, attrs }) => {
  const { x, g, m, v } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
  const a = attrs as unknown as AdamUpdateAttrs;
  const out = (backend as WasmBackendLike).makeOutput(x.shape, 'float32');
  simdOf(backend).adam(ptr(backend, x), ptr(backend, g), ptr(backend, m), ptr(backend, v), ptr(backend, out), sizeOf(x.shape), a.beta1, a.beta2, a.c1, a.c2, a.learningRate, a.epsilon);
  return out;
};

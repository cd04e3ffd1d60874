// Small building blocks shared by the branches. Each is a plain function over tensors.
import * as tf from '@tensorflow/tfjs-core';
import { nativeDense, nativeDenseAvailable } from './backend/ops/dense.ts';
import { fusedLayerNorm, fusedLayerNormAvailable } from './backend/ops/layer-norm.ts';
import type { ParamStore, Part } from './params.ts';

export interface ForwardContext {
  training: boolean;
  /** A fresh seed for each random op of the step (dropout); deterministic by run seed and step. */
  nextSeed(): number;
  /** Batch statistics of batch-norm layers, collected in training to update the running ones. */
  batchStats?: { mean: tf.Variable; variance: tf.Variable; batchMean: tf.Tensor; batchVariance: tf.Tensor }[];
}

export interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

export function createDense(ps: ParamStore, part: Part, name: string, inDim: number, outDim: number, relu: boolean): Dense {
  return {
    w: ps.create(part, `${name}/w`, [inDim, outDim], relu ? { kind: 'he', fanIn: inDim } : { kind: 'glorot', fanIn: inDim, fanOut: outDim }),
    b: ps.create(part, `${name}/b`, [outDim], { kind: 'zeros' }),
  };
}

/** x·w + b (+ ReLU) as one fused kernel. x: [N, in]. */
export function dense(x: tf.Tensor2D, d: Dense, relu = false): tf.Tensor2D {
  if (nativeDenseAvailable()) return nativeDense(x, d.w as tf.Tensor2D, d.b as tf.Tensor1D, relu);
  return tf.fused.matMul({ a: x, b: d.w as tf.Tensor2D, bias: d.b, activation: relu ? 'relu' : 'linear' }) as tf.Tensor2D;
}

export function dropout<T extends tf.Tensor>(x: T, rate: number, ctx: ForwardContext): T {
  if (!ctx.training || rate <= 0) return x;
  return tf.dropout(x, rate, undefined, ctx.nextSeed()) as T;
}

export interface LayerNorm {
  gamma: tf.Variable;
  beta: tf.Variable;
}

export function createLayerNorm(ps: ParamStore, part: Part, name: string, dim: number): LayerNorm {
  return {
    gamma: ps.create(part, `${name}/gamma`, [dim], { kind: 'ones' }),
    beta: ps.create(part, `${name}/beta`, [dim], { kind: 'zeros' }),
  };
}

/** Layer norm over the last axis of x: [N, dim]. */
export function layerNorm(x: tf.Tensor2D, ln: LayerNorm, eps = 1e-5): tf.Tensor2D {
  // One kernel each way on mmrun's wasm path (same arithmetic); the composite elsewhere.
  if (fusedLayerNormAvailable(x.shape[x.shape.length - 1])) return fusedLayerNorm(x, ln.gamma, ln.beta, eps);
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), ln.gamma), ln.beta) as tf.Tensor2D;
}

export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12)));
}

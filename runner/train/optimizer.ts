// tfjs-core optimizers behind one small interface: create by name, change the learning rate
// every step (for the schedule), and save / restore their state for checkpoints.
import * as tf from '@tensorflow/tfjs-core';
import type { Phase } from '../config/types.gen.ts';
import { FusedAdamOptimizer } from '../model/backend/fused-adam.ts';

export function createOptimizer(kind: Phase['optimizer'], learningRate: number): tf.Optimizer {
  switch (kind) {
    case 'adam':
      // tfjs's Adam on other backends; one fused kernel per variable on wasm (same state).
      return new FusedAdamOptimizer(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
  }
}

export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  // SGD and momentum keep the rate as a cached scalar that setLearningRate rebuilds; Adam and
  // RMSProp read the plain field on every update.
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.learningRate === learningRate) return;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(learningRate);
  else o.learningRate = learningRate;
}

type WithBetaPowers = { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
const BETA_POWERS = ['accBeta1', 'accBeta2'] as const;

/**
 * Optimizer state that getWeights() leaves out: Adam's running powers of beta1/beta2 (the bias
 * correction). setWeights() recomputes them as pow(beta, t + 1), which differs in float32's last
 * bits from the running product an uninterrupted run has, and a resumed run would then drift away
 * from it. Saved with the checkpoint and put back after setWeights.
 */
export function optimizerScalars(optimizer: tf.Optimizer): Record<string, number> {
  const o = optimizer as unknown as WithBetaPowers;
  const out: Record<string, number> = {};
  for (const k of BETA_POWERS) if (o[k] instanceof tf.Variable) out[k] = o[k].dataSync()[0];
  return out;
}

/** Restores an optimizer's state: its weights, then the scalars optimizerScalars saved. */
export async function restoreOptimizer(optimizer: tf.Optimizer, weights: { name: string; tensor: tf.Tensor }[], scalars: Record<string, number>): Promise<void> {
  if (weights.length > 0) await optimizer.setWeights(weights);
  const o = optimizer as unknown as WithBetaPowers;
  for (const k of BETA_POWERS) {
    const v = o[k];
    const saved = scalars[k];
    if (v instanceof tf.Variable && saved !== undefined) tf.tidy(() => v.assign(tf.scalar(saved, 'float32')));
  }
}

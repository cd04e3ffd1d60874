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

// Loss terms of a training step.
import * as tf from '@tensorflow/tfjs-core';

/** Mean softmax cross-entropy of logits [N, C] against one-hot labels [N, C]. */
export function crossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
}

/** CLIP caps the logit scale at 100 so the temperature cannot collapse to 0. */
export const MAX_LOG_SCALE = Math.log(100);

/**
 * CLIP-style symmetric InfoNCE on paired, L2-normalised embeddings: row i of `image` and row i
 * of `text` are a positive pair, every other row a negative. Temperature T = exp(-logScale).
 */
export function infoNce(image: tf.Tensor2D, text: tf.Tensor2D, logScale: tf.Tensor): tf.Scalar {
  const n = image.shape[0];
  const scale = tf.exp(tf.minimum(logScale, MAX_LOG_SCALE));
  const logits = tf.mul(tf.matMul(image, text, false, true), scale) as tf.Tensor2D;
  const targets = tf.eye(n);
  return tf.mul(tf.add(crossEntropy(logits, targets as tf.Tensor2D), crossEntropy(tf.transpose(logits), targets as tf.Tensor2D)), 0.5);
}

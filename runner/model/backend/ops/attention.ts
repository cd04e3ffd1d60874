// Multi-head self-attention as one op with its own gradient when the wasm backend runs mmrun's
// native kernels; otherwise the caller keeps its composite (tfjs ops, any backend).
import * as tf from '@tensorflow/tfjs-core';
import { ATTENTION, ATTENTION_GRAD, type AttentionAttrs } from '../kernels/attention.ts';
import { nativeKernelReady } from './available.ts';

export function fusedAttentionAvailable(): boolean {
  return nativeKernelReady(ATTENTION);
}

/**
 * softmax(scale·q·kᵀ + keyBias)·v for each of the H heads, on qkv [B*L, 3W] (W = H*D; columns
 * [q | k | v], head h at h*D within each) → [B*L, W] (head h in columns h*D..h*D+D-1). keyBias
 * [B, L] is added to every query's score of each key (e.g. -1e9 on padding); it is a constant:
 * the gradient flows to qkv only.
 */
export function fusedAttention(qkv: tf.Tensor2D, keyBias: tf.Tensor2D, B: number, L: number, H: number, D: number, scale: number): tf.Tensor2D {
  const attrs: AttentionAttrs = { B, L, H, D, scale };
  const forward = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, probs] = tf.engine().runKernel(ATTENTION, { qkv: x, keyBias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    save([x, probs]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sp] = saved;
        return tf.engine().runKernel(ATTENTION_GRAD, { dy, qkv: sx, probs: sp }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      },
    };
  };
  const f = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(qkv) as tf.Tensor2D;
}

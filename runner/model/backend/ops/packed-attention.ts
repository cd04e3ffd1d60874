// Self-attention over sequences packed without padding rows (kernels/attention-packed.ts), as one
// op with its own gradient, when the wasm backend runs mmrun's native kernels and the head width
// is a multiple of 8. The text branch then computes no row for a padding token.
import * as tf from '@tensorflow/tfjs-core';
import { ATTENTION_PACKED, ATTENTION_PACKED_GRAD, type PackedAttentionAttrs } from '../kernels/attention-packed.ts';
import { nativeKernelReady } from './available.ts';

export function packedAttentionAvailable(headWidth: number): boolean {
  return headWidth % 8 === 0 && nativeKernelReady(ATTENTION_PACKED);
}

/**
 * softmax(scale·q·kᵀ)·v for each of the H heads within each sequence, on qkv [rows, 3W] (W = H*D;
 * columns [q | k | v], head h at h*D within each) where sequence b is rows offsets[b] ..
 * offsets[b+1]-1 (offsets: int32 [B+1], `lengths` the same sequence lengths on the host) → [rows, W].
 * The gradient flows to qkv only.
 */
export function packedAttention(qkv: tf.Tensor2D, offsets: tf.Tensor1D, lengths: readonly number[], H: number, D: number, scale: number): tf.Tensor2D {
  const probsSize = H * lengths.reduce((s, n) => s + n * n, 0);
  const attrs: PackedAttentionAttrs = { H, D, scale, probsSize };
  const forward = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, probs] = tf.engine().runKernel(ATTENTION_PACKED, { qkv: x, offsets }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    save([x, probs, offsets]); // offsets too: the engine disposes the forward's other tensors before the backward
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sp, so] = saved;
        return tf.engine().runKernel(ATTENTION_PACKED_GRAD, { dy, qkv: sx, offsets: so, probs: sp }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      },
    };
  };
  const f = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(qkv) as tf.Tensor2D;
}

// MmrunAttention / MmrunAttentionGrad: multi-head self-attention on the packed projection
// qkv [B*L, 3W] in one native call each way (native/attention.c), instead of ~40 tfjs kernels
// (transposes, split/concat, six batched matmuls, softmax and its gradient). Native only: the op
// (ops/attention.ts) never calls them without the native kernels.
import type * as tf from '@tensorflow/tfjs-core';
import { nativeOf, ptr, type WasmBackendLike } from '../simd/module.ts';
import type { KernelFn } from './registry.ts';

export const ATTENTION = 'MmrunAttention';
export const ATTENTION_GRAD = 'MmrunAttentionGrad';

export interface AttentionAttrs {
  B: number;
  L: number;
  H: number;
  D: number;
  scale: number;
}

function nativeFor(name: string, backend: tf.KernelBackend) {
  const native = nativeOf(backend);
  if (!native) throw new Error(`${name} needs mmrun's native kernels, which are not in use (see fusedAttentionAvailable())`);
  return native;
}

function checkShape(name: string, what: string, t: tf.TensorInfo, expected: number[]): void {
  if (t.dtype !== 'float32' || t.shape.join() !== expected.join()) {
    throw new Error(`${name}: ${what} must be float32 [${expected.join(', ')}], got ${t.dtype} [${t.shape.join(', ')}]`);
  }
}

/** Inputs qkv [B*L, 3W] and keyBias [B, L] (additive, per key); outputs out [B*L, W] and probs [B, H, L, L]. */
export const attention: KernelFn = ({ inputs, backend, attrs }) => {
  const { qkv, keyBias } = inputs as { qkv: tf.TensorInfo; keyBias: tf.TensorInfo };
  const { B, L, H, D, scale } = attrs as unknown as AttentionAttrs;
  const native = nativeFor(ATTENTION, backend);
  const W = H * D;
  checkShape(ATTENTION, 'qkv', qkv, [B * L, 3 * W]);
  checkShape(ATTENTION, 'keyBias', keyBias, [B, L]);
  const b = backend as WasmBackendLike;
  const out = b.makeOutput([B * L, W], 'float32');
  const probs = b.makeOutput([B, H, L, L], 'float32');
  native.attentionForward(ptr(b, qkv), ptr(b, keyBias), B, L, H, D, scale, ptr(b, out), ptr(b, probs));
  return [out, probs];
};

/** Inputs dy [B*L, W], qkv and probs (the forward's); output dqkv [B*L, 3W]. */
export const attentionGrad: KernelFn = ({ inputs, backend, attrs }) => {
  const { dy, qkv, probs } = inputs as Record<'dy' | 'qkv' | 'probs', tf.TensorInfo>;
  const { B, L, H, D, scale } = attrs as unknown as AttentionAttrs;
  const native = nativeFor(ATTENTION_GRAD, backend);
  const W = H * D;
  checkShape(ATTENTION_GRAD, 'dy', dy, [B * L, W]);
  checkShape(ATTENTION_GRAD, 'qkv', qkv, [B * L, 3 * W]);
  checkShape(ATTENTION_GRAD, 'probs', probs, [B, H, L, L]);
  const b = backend as WasmBackendLike;
  const dqkv = b.makeOutput([B * L, 3 * W], 'float32');
  native.attentionBackward(ptr(b, dy), ptr(b, qkv), ptr(b, probs), B, L, H, D, scale, ptr(b, dqkv));
  return dqkv;
};

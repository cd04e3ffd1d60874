// MmrunAttentionPacked / MmrunAttentionPackedGrad: multi-head self-attention over sequences packed
// without padding rows (native/attention.c): sequence b is rows offsets[b]..offsets[b+1]-1 of
// qkv [rows, 3W]. Every key is a real token, so there is no key bias, and no row is computed for
// padding. Native only, head width a multiple of 8 (ops/packed-attention.ts checks both).
import type * as tf from '@tensorflow/tfjs-core';
import { loadNativeKernels, type NativeKernels } from '../native/index.ts';
import { nativeOf, ptr, type WasmBackendLike } from '../simd/module.ts';
import type { KernelFn } from './registry.ts';

export const ATTENTION_PACKED = 'MmrunAttentionPacked';
export const ATTENTION_PACKED_GRAD = 'MmrunAttentionPackedGrad';

export interface PackedAttentionAttrs {
  H: number;
  D: number;
  scale: number;
  /** Floats of the saved probabilities: H × the sum of the squared sequence lengths. */
  probsSize: number;
}

function nativeFor(name: string, backend: tf.KernelBackend): NativeKernels {
  const loaded = loadNativeKernels();
  if (!nativeOf(backend) || !loaded.ok) throw new Error(`${name} needs mmrun's native kernels, which are not in use (see packedAttentionAvailable())`);
  return loaded.kernels;
}

function check(name: string, code: number): void {
  if (code === -2) throw new Error(`${name}: the head width must be a multiple of 8`);
  if (code !== 0) throw new Error(`${name}: the native kernel could not allocate its scratch memory`);
}

function checkInputs(name: string, qkv: tf.TensorInfo, offsets: tf.TensorInfo, W: number): number {
  if (qkv.dtype !== 'float32' || qkv.shape.length !== 2 || qkv.shape[1] !== 3 * W) throw new Error(`${name}: qkv must be float32 [rows, ${3 * W}], got ${qkv.dtype} [${qkv.shape.join(', ')}]`);
  if (offsets.dtype !== 'int32' || offsets.shape.length !== 1 || offsets.shape[0] < 2) throw new Error(`${name}: offsets must be int32 [sequences + 1], got ${offsets.dtype} [${offsets.shape.join(', ')}]`);
  return offsets.shape[0] - 1;
}

/** Inputs qkv [rows, 3W], offsets int32 [B+1] (offsets[B] = rows); outputs out [rows, W] and probs [probsSize]. */
export const attentionPacked: KernelFn = ({ inputs, backend, attrs }) => {
  const { qkv, offsets } = inputs as { qkv: tf.TensorInfo; offsets: tf.TensorInfo };
  const { H, D, scale, probsSize } = attrs as unknown as PackedAttentionAttrs;
  const native = nativeFor(ATTENTION_PACKED, backend);
  const B = checkInputs(ATTENTION_PACKED, qkv, offsets, H * D);
  const b = backend as WasmBackendLike;
  const out = b.makeOutput([qkv.shape[0], H * D], 'float32');
  const probs = b.makeOutput([probsSize], 'float32');
  check(ATTENTION_PACKED, native.attentionPackedForward(b.wasm.HEAPU8, ptr(b, qkv), ptr(b, offsets), B, H, D, scale, ptr(b, out), ptr(b, probs)));
  return [out, probs];
};

/** Inputs dy [rows, W], qkv, offsets and probs (the forward's); output dqkv [rows, 3W]. */
export const attentionPackedGrad: KernelFn = ({ inputs, backend, attrs }) => {
  const { dy, qkv, offsets, probs } = inputs as Record<'dy' | 'qkv' | 'offsets' | 'probs', tf.TensorInfo>;
  const { H, D, scale } = attrs as unknown as PackedAttentionAttrs;
  const native = nativeFor(ATTENTION_PACKED_GRAD, backend);
  const B = checkInputs(ATTENTION_PACKED_GRAD, qkv, offsets, H * D);
  const b = backend as WasmBackendLike;
  const dqkv = b.makeOutput(qkv.shape, 'float32');
  check(ATTENTION_PACKED_GRAD, native.attentionPackedBackward(b.wasm.HEAPU8, ptr(b, dy), ptr(b, qkv), ptr(b, offsets), ptr(b, probs), B, H, D, scale, ptr(b, dqkv)));
  return dqkv;
};

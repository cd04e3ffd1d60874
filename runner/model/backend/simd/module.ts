// mmrun's SIMD kernels instantiated on the tfjs wasm backend's own memory: kernels read and
// write tensors where the backend keeps them (no copies). One instance per backend.
import type * as tf from '@tensorflow/tfjs-core';
import v8 from 'node:v8';
import { loadNativeKernels } from '../native/index.ts';
import { KERNELS_FMA_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels.generated.ts';

/** (a, aRowBytes, aVec, b, bRowBytes, bVec, out, M, N): see wat.ts `binary`. */
export type BinaryFn = (a: number, aRowBytes: number, aVec: number, b: number, bRowBytes: number, bVec: number, out: number, M: number, N: number) => void;

export interface SimdKernels {
  gemm(M: number, N: number, K: number, A: number, ars: number, acs: number, B: number, ldb: number, C: number, ldc: number, acc: number): void;
  transpose2d(src: number, rows: number, cols: number, dst: number, count: number): void;
  im2col(x: number, B: number, H: number, W: number, C: number, KH: number, KW: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, OH: number, OW: number, col: number): void;
  max_pool_grad(x: number, dy: number, dx: number, B: number, H: number, W: number, C: number, OH: number, OW: number, FH: number, FW: number, sh: number, sw: number, pt: number, pl: number): void;
  segment_sum(data: number, ids: number, n: number, inner: number, segments: number, out: number): void;
  reduce_sum(x: number, outer: number, red: number, inner: number, out: number): void;
  layer_norm(x: number, gamma: number, beta: number, y: number, mean: number, rstd: number, rows: number, N: number, eps: number): void;
  layer_norm_grad(dy: number, x: number, gamma: number, mean: number, rstd: number, dx: number, dgamma: number, dbeta: number, rows: number, N: number): void;
  binary_add: BinaryFn;
  binary_sub: BinaryFn;
  binary_mul: BinaryFn;
  binary_div: BinaryFn;
  bias_relu(p: number, rows: number, cols: number, bias: number, relu: number): void;
  copy_rows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, rowBytes: number): void;
  gather_rows(table: number, n: number, outer: number, ids: number, count: number, rowBytes: number, out: number): number;
  max_pool_grad_2x2(x: number, dy: number, dx: number, B: number, OH: number, OW: number, C: number): void;
  im2col_t1(x: number, B: number, H: number, W: number, KH: number, KW: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, OH: number, OW: number, colT: number): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  adam(x: number, g: number, m: number, v: number, out: number, n: number, b1: number, b2: number, c1: number, c2: number, lr: number, eps: number): void;
}

/** The parts of tfjs's BackendWasm our kernels use (not in its public typings). */
export interface WasmBackendLike extends tf.KernelBackend {
  wasm: { _malloc(n: number): number; _free(p: number): void; HEAPU8: Uint8Array; HEAPF32: Float32Array; asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(id: object): { memoryOffset: number; shape: number[]; dtype: string } };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
}

const instances = new WeakMap<object, SimdKernels>();
let compiled: WebAssembly.Module | undefined;
let variant: 'fma' | 'simd128' = 'simd128';

/**
 * Relaxed SIMD (fused multiply-add) is standard WebAssembly, on by default from V8 11.4 and behind
 * a flag in Node 20's V8 11.3; the flag only gates validation of new modules, so it is safe to
 * turn on here. Falls back to plain SIMD128 when the engine refuses it (MMRUN_WASM_FMA=0 forces).
 */
function compile(): WebAssembly.Module {
  const fma = Buffer.from(KERNELS_FMA_WASM_BASE64, 'base64');
  if (process.env.MMRUN_WASM_FMA !== '0') {
    if (!WebAssembly.validate(fma)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (WebAssembly.validate(fma)) {
      variant = 'fma';
      return new WebAssembly.Module(fma);
    }
  }
  variant = 'simd128';
  return new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
}

/** Which build of the kernels runs: 'fma' (relaxed SIMD) or 'simd128'. */
export function simdVariant(): 'fma' | 'simd128' {
  return variant;
}

/** Whether the native kernels replace some of the WebAssembly ones (see ../native). */
export function nativeActive(): boolean {
  const n = loadNativeKernels();
  return n.ok;
}

/** The native kernels bound to a backend's heap (tensor offsets in bytes, strides in elements). */
export interface NativeOps {
  /** C_b = op(A_b)·op(B_b) (+ bias, ReLU): see native/matmul.c `mmrun_matmul`; bias 0 = none. */
  matmul(batch: number, M: number, N: number, K: number, A: number, ars: number, acs: number, sa: number, B: number, brs: number, bcs: number, sb: number, C: number, bias: number, relu: boolean): void;
  /** Forward convolution (NHWC, any stride/dilation/padding) (+ bias, ReLU): native/conv.c `mmrun_conv2d`. */
  conv2d(x: number, info: tf.backend_util.Conv2DInfo, filter: number, out: number, bias: number, relu: boolean): void;
  /** Filter gradient: native/conv.c `mmrun_conv2d_backprop_filter`. */
  conv2dBackpropFilter(x: number, info: tf.backend_util.Conv2DInfo, dy: number, out: number): void;
  /** Input gradient of a stride-1, undilated convolution: native/conv.c `mmrun_conv2d_backprop_input`. */
  conv2dBackpropInput(dy: number, info: tf.backend_util.Conv2DInfo, filter: number, out: number): void;
  /** out = exp(x) over n floats, vectorised: native/elementwise.c `mmrun_exp`. */
  exp(x: number, n: number, out: number): void;
  /** Backward of relu(z + bias) in one pass: native/elementwise.c `mmrun_relu_bias_grad`. */
  reluBiasGrad(dy: number, y: number, rows: number, cols: number, dz: number, dbias: number): void;
  /** Multi-head self-attention on qkv [B*L, 3W] → out [B*L, W] and probs [B, H, L, L]: native/attention.c `mmrun_attention_forward`; keyBias [B, L] or 0. */
  attentionForward(qkv: number, keyBias: number, B: number, L: number, H: number, D: number, scale: number, out: number, probs: number): void;
  /** Its gradient w.r.t. qkv (dqkv [B*L, 3W], fully written): native/attention.c `mmrun_attention_backward`. */
  attentionBackward(dout: number, qkv: number, probs: number, B: number, L: number, H: number, D: number, scale: number, dqkv: number): void;
}

function check(name: string, status: number): void {
  if (status !== 0) throw new Error(`native ${name}: out of memory for its buffers`);
}

const nativeOps = new WeakMap<object, NativeOps>();

/** The native-only kernels for this backend, or undefined when the native kernels are not in use. */
export function nativeOf(backend: tf.KernelBackend): NativeOps | undefined {
  const b = backend as WasmBackendLike;
  let ops = nativeOps.get(b);
  if (ops) return ops;
  const native = loadNativeKernels();
  if (!native.ok) return undefined;
  const k = native.kernels;
  const geometry = (i: tf.backend_util.Conv2DInfo) =>
    [i.strideHeight, i.strideWidth, i.padInfo.top, i.padInfo.left, i.dilationHeight, i.dilationWidth, i.outHeight, i.outWidth] as const;
  ops = {
    matmul(batch, M, N, K, A, ars, acs, sa, B, brs, bcs, sb, C, bias, relu) {
      check('matmul', k.matmul(b.wasm.HEAPU8, batch, M, N, K, A, ars, acs, sa, B, brs, bcs, sb, C, bias, relu ? 1 : 0));
    },
    conv2d(x, i, filter, out, bias, relu) {
      check('conv2d', k.conv2d(b.wasm.HEAPU8, x, i.batchSize, i.inHeight, i.inWidth, i.inChannels, filter, i.filterHeight, i.filterWidth, i.outChannels, ...geometry(i), out, bias, relu ? 1 : 0));
    },
    conv2dBackpropFilter(x, i, dy, out) {
      check('conv2dBackpropFilter', k.conv2dBackpropFilter(b.wasm.HEAPU8, x, i.batchSize, i.inHeight, i.inWidth, i.inChannels, dy, i.filterHeight, i.filterWidth, i.outChannels, ...geometry(i), out));
    },
    exp(x, n, out) {
      k.exp(b.wasm.HEAPU8, x, n, out);
    },
    reluBiasGrad(dy, y, rows, cols, dz, dbias) {
      k.reluBiasGrad(b.wasm.HEAPU8, dy, y, rows, cols, dz, dbias);
    },
    conv2dBackpropInput(dy, i, filter, out) {
      check('conv2dBackpropInput', k.conv2dBackpropInput(b.wasm.HEAPU8, dy, i.batchSize, i.outHeight, i.outWidth, i.outChannels, filter, i.filterHeight, i.filterWidth, i.inChannels, i.padInfo.top, i.padInfo.left, i.inHeight, i.inWidth, out));
    },
    attentionForward(qkv, keyBias, B, L, H, D, scale, out, probs) {
      check('attentionForward', k.attentionForward(b.wasm.HEAPU8, qkv, keyBias, B, L, H, D, scale, out, probs));
    },
    attentionBackward(dout, qkv, probs, B, L, H, D, scale, dqkv) {
      check('attentionBackward', k.attentionBackward(b.wasm.HEAPU8, dout, qkv, probs, B, L, H, D, scale, dqkv));
    },
  };
  nativeOps.set(b, ops);
  return ops;
}

export function attachSimd(backend: tf.KernelBackend): SimdKernels {
  const b = backend as WasmBackendLike;
  let k = instances.get(b);
  if (!k) {
    compiled ??= compile();
    const inst = new WebAssembly.Instance(compiled, { env: { memory: b.wasm.asm.memory } });
    k = inst.exports as unknown as SimdKernels;
    instances.set(b, k);
  }
  return k;
}

export function simdOf(backend: tf.KernelBackend): SimdKernels {
  return instances.get(backend) ?? attachSimd(backend);
}

/** Byte offset of a tensor's data in the backend heap. */
export function ptr(backend: tf.KernelBackend, t: tf.TensorInfo): number {
  return (backend as WasmBackendLike).dataIdMap.get(t.dataId).memoryOffset;
}

/** Scratch memory on the backend heap for the duration of fn. */
export function withScratch<T>(backend: tf.KernelBackend, bytes: number, fn: (p: number) => T): T {
  const w = (backend as WasmBackendLike).wasm;
  const p = w._malloc(Math.max(16, bytes)) >>> 0;
  try {
    return fn(p);
  } finally {
    w._free(p);
  }
}

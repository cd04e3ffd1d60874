// mmrun's SIMD kernels instantiated on the tfjs wasm backend's own memory: kernels read and
// write tensors where the backend keeps them (no copies). One instance per backend.
import type * as tf from '@tensorflow/tfjs-core';
import v8 from 'node:v8';
import { loadNativeKernels, type NativeKernels } from '../native/index.ts';
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

/** The WebAssembly kernels with the native ones swapped in where they exist. */
function withNative(b: WasmBackendLike, wasm: SimdKernels, native: NativeKernels): SimdKernels {
  return {
    ...wasm,
    gemm(M, N, K, A, ars, acs, B, ldb, C, ldc, acc) {
      if (native.gemm(b.wasm.HEAPU8, M, N, K, A, ars, acs, B, ldb, C, ldc, acc) !== 0) throw new Error('native gemm: out of memory for packing buffers');
    },
  };
}

export function attachSimd(backend: tf.KernelBackend): SimdKernels {
  const b = backend as WasmBackendLike;
  let k = instances.get(b);
  if (!k) {
    compiled ??= compile();
    const inst = new WebAssembly.Instance(compiled, { env: { memory: b.wasm.asm.memory } });
    k = inst.exports as unknown as SimdKernels;
    const native = loadNativeKernels();
    if (native.ok) k = withNative(b, k, native.kernels);
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

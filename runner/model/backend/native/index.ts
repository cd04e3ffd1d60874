// Loads the native kernels (build.ts) through koffi, an FFI whose prebuilt binaries come from npm.
// Optional by design: when there is no compiler, no koffi binary for the platform, or
// MMRUN_NATIVE_KERNELS=0, mmrun keeps its WebAssembly kernels and says why.
import { createRequire } from 'node:module';
import { buildNativeLibrary } from './build.ts';

/** The C entry points (native/*.c) as koffi binds them: the wasm heap first, then byte offsets and sizes (heap.h). */
export interface NativeKernels {
  matmul(heap: Uint8Array, batch: number, M: number, N: number, K: number, A: number, ars: number, acs: number, sa: number, B: number, brs: number, bcs: number, sb: number, C: number, bias: number, relu: number): number;
  conv2d(heap: Uint8Array, ...args: number[]): number;
  conv2dBackpropFilter(heap: Uint8Array, ...args: number[]): number;
  conv2dBackpropInput(heap: Uint8Array, ...args: number[]): number;
  reluBiasGrad(heap: Uint8Array, dy: number, y: number, rows: number, cols: number, dz: number, dbias: number): void;
  exp(heap: Uint8Array, x: number, n: number, out: number): void;
  attentionForward(heap: Uint8Array, qkv: number, keyBias: number, B: number, L: number, H: number, D: number, scale: number, out: number, probs: number): number;
  attentionBackward(heap: Uint8Array, dout: number, qkv: number, probs: number, B: number, L: number, H: number, D: number, scale: number, dqkv: number): number;
  attentionPackedForward(heap: Uint8Array, qkv: number, offsets: number, B: number, H: number, D: number, scale: number, out: number, probs: number): number;
  attentionPackedBackward(heap: Uint8Array, dout: number, qkv: number, offsets: number, probs: number, B: number, H: number, D: number, scale: number, dqkv: number): number;
  batchNormTrain(heap: Uint8Array, x: number, rows: number, C: number, gamma: number, beta: number, eps: number, relu: number, y: number, mean: number, variance: number): number;
  batchNormGrad(heap: Uint8Array, dy: number, y: number, x: number, rows: number, C: number, gamma: number, mean: number, variance: number, dmean: number, dvar: number, eps: number, relu: number, dx: number, dgamma: number, dbeta: number): number;
  batchNormReluPool(heap: Uint8Array, x: number, B: number, H: number, W: number, C: number, gamma: number, beta: number, eps: number, out: number, argmax: number, mean: number, variance: number): number;
  batchNormReluPoolGrad(heap: Uint8Array, dout: number, argmax: number, x: number, B: number, H: number, W: number, C: number, gamma: number, mean: number, variance: number, dmean: number, dvar: number, eps: number, dx: number, dgamma: number, dbeta: number): number;
}

export type NativeLoad = { ok: true; kernels: NativeKernels; detail: string } | { ok: false; reason: string };

/** The C prototypes koffi binds (exported for bench/gemm.ts, which loads a second build of the library). */
export const SIGNATURES: Record<keyof NativeKernels, string> = {
  matmul:
    'int mmrun_matmul(uint8_t *heap, int batch, int M, int N, int K, uint32_t A, int ars, int acs, int sa, uint32_t B, int brs, int bcs, int sb, uint32_t C, uint32_t bias, int relu)',
  conv2d:
    'int mmrun_conv2d(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t f, int KH, int KW, int CO, int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW, uint32_t out, uint32_t bias, int relu)',
  conv2dBackpropFilter:
    'int mmrun_conv2d_backprop_filter(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t dy, int KH, int KW, int CO, int sh, int sw, int pt, int pl, int dh, int dw, int OH, int OW, uint32_t dw_out)',
  exp: 'void mmrun_exp(uint8_t *heap, uint32_t x, int n, uint32_t out)',
  reluBiasGrad: 'void mmrun_relu_bias_grad(uint8_t *heap, uint32_t dy, uint32_t y, int rows, int cols, uint32_t dz, uint32_t dbias)',
  conv2dBackpropInput:
    'int mmrun_conv2d_backprop_input(uint8_t *heap, uint32_t dy, int B, int OH, int OW, int CO, uint32_t f, int KH, int KW, int C, int pt, int pl, int H, int W, uint32_t dx)',
  attentionForward:
    'int mmrun_attention_forward(uint8_t *heap, uint32_t qkv, uint32_t keyBias, int B, int L, int H, int D, float scale, uint32_t out, uint32_t probs)',
  attentionBackward:
    'int mmrun_attention_backward(uint8_t *heap, uint32_t dout, uint32_t qkv, uint32_t probs, int B, int L, int H, int D, float scale, uint32_t dqkv)',
  attentionPackedForward:
    'int mmrun_attention_packed_forward(uint8_t *heap, uint32_t qkv, uint32_t offsets, int B, int H, int D, float scale, uint32_t out, uint32_t probs)',
  attentionPackedBackward:
    'int mmrun_attention_packed_backward(uint8_t *heap, uint32_t dout, uint32_t qkv, uint32_t offsets, uint32_t probs, int B, int H, int D, float scale, uint32_t dqkv)',
  batchNormTrain:
    'int mmrun_batch_norm_train(uint8_t *heap, uint32_t x, int rows, int C, uint32_t gamma, uint32_t beta, float eps, int relu, uint32_t y, uint32_t mean, uint32_t variance)',
  batchNormGrad:
    'int mmrun_batch_norm_grad(uint8_t *heap, uint32_t dy, uint32_t y, uint32_t x, int rows, int C, uint32_t gamma, uint32_t mean, uint32_t variance, uint32_t dmean, uint32_t dvar, float eps, int relu, uint32_t dx, uint32_t dgamma, uint32_t dbeta)',
  batchNormReluPool:
    'int mmrun_batch_norm_relu_pool(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t gamma, uint32_t beta, float eps, uint32_t out, uint32_t argmax, uint32_t mean, uint32_t variance)',
  batchNormReluPoolGrad:
    'int mmrun_batch_norm_relu_pool_grad(uint8_t *heap, uint32_t dout, uint32_t argmax, uint32_t x, int B, int H, int W, int C, uint32_t gamma, uint32_t mean, uint32_t variance, uint32_t dmean, uint32_t dvar, float eps, uint32_t dx, uint32_t dgamma, uint32_t dbeta)',
};

let loaded: NativeLoad | undefined;

export function nativeKernelsDisabled(): boolean {
  return process.env.MMRUN_NATIVE_KERNELS === '0';
}

/**
 * A product with odd sizes (every tile edge, a transposed operand, a bias) computed natively on a
 * scratch heap and in plain JavaScript: a miscompiled or mismatched library is refused before any
 * run uses it. Returns why it failed, or undefined.
 */
export function selfCheck(kernels: Pick<NativeKernels, 'matmul'>): string | undefined {
  const [M, N, K] = [19, 37, 300];
  const heap = new Uint8Array(4 * (16 + M * K + K * N + M * N + N));
  const f = new Float32Array(heap.buffer);
  const [A, B, C, bias] = [16, 16 + M * K, 16 + M * K + K * N, 16 + M * K + K * N + M * N];
  for (let i = 0; i < M * K + K * N + N; i++) f[A + i] = Math.sin(i * 0.37);
  // A read transposed (stored K×M), B row-major, then bias and ReLU
  if (kernels.matmul(heap, 1, M, N, K, A * 4, 1, M, 0, B * 4, N, 1, 0, C * 4, bias * 4, 1) !== 0) return 'the self-check product returned an error';
  let worst = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = f[bias + j];
      for (let k = 0; k < K; k++) sum += f[A + k * M + i] * f[B + k * N + j];
      worst = Math.max(worst, Math.abs(Math.max(0, sum) - f[C + i * N + j]));
    }
  }
  return worst <= 1e-3 ? undefined : `the native kernels failed their self-check (max error ${worst.toExponential(2)} on a ${M}×${K}·${K}×${N} product)`;
}

/** Builds (or finds in the cache), loads and checks the native kernels; never throws. */
export function loadNativeKernels(): NativeLoad {
  if (loaded) return loaded;
  if (nativeKernelsDisabled()) return (loaded = { ok: false, reason: 'MMRUN_NATIVE_KERNELS=0' });
  const built = buildNativeLibrary();
  if (!built.ok) return (loaded = built);
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load(built.library);
    const kernels = Object.fromEntries(Object.entries(SIGNATURES).map(([name, sig]) => [name, lib.func(sig)])) as unknown as NativeKernels;
    const failed = selfCheck(kernels);
    if (failed) return (loaded = { ok: false, reason: `${failed}; library ${built.library}` });
    return (loaded = { ok: true, kernels, detail: `native kernels (${built.compiler}, -march=native)` });
  } catch (err) {
    return (loaded = { ok: false, reason: `loading the native kernels failed: ${err instanceof Error ? err.message : String(err)}` });
  }
}

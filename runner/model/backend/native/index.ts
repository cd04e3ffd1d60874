// Loads the native kernels (build.ts) through koffi, an FFI whose prebuilt binaries come from npm.
// Optional by design: when there is no compiler, no koffi binary for the platform, or
// MMRUN_NATIVE_KERNELS=0, mmrun keeps its WebAssembly kernels and says why.
import { createRequire } from 'node:module';
import { buildNativeLibrary } from './build.ts';

/** Native versions of some SimdKernels functions: the same arguments, plus the heap first. */
export interface NativeKernels {
  gemm(heap: Uint8Array, M: number, N: number, K: number, A: number, ars: number, acs: number, B: number, ldb: number, C: number, ldc: number, acc: number): number;
}

export type NativeLoad = { ok: true; kernels: NativeKernels; detail: string } | { ok: false; reason: string };

const SIGNATURES: Record<keyof NativeKernels, string> = {
  gemm: 'int mmrun_gemm(uint8_t *heap, int M, int N, int K, int A, int ars, int acs, int B, int ldb, int C, int ldc, int acc)',
};

let loaded: NativeLoad | undefined;

export function nativeKernelsDisabled(): boolean {
  return process.env.MMRUN_NATIVE_KERNELS === '0';
}

/** Builds (or finds in the cache) and loads the native kernels; never throws. */
export function loadNativeKernels(): NativeLoad {
  if (loaded) return loaded;
  if (nativeKernelsDisabled()) return (loaded = { ok: false, reason: 'MMRUN_NATIVE_KERNELS=0' });
  const built = buildNativeLibrary();
  if (!built.ok) return (loaded = built);
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load(built.library);
    const kernels = Object.fromEntries(Object.entries(SIGNATURES).map(([name, sig]) => [name, lib.func(sig)])) as unknown as NativeKernels;
    return (loaded = { ok: true, kernels, detail: `native kernels (${built.compiler}, -march=native)` });
  } catch (err) {
    return (loaded = { ok: false, reason: `loading the native kernels failed: ${err instanceof Error ? err.message : String(err)}` });
  }
}

/*
 * mmrun's native CPU kernels, the entry points called from JavaScript through koffi. Compiled on
 * the user's machine by its C compiler with -march=native (build.ts) and run on the tfjs wasm
 * backend's own heap: every tensor argument is a byte offset into `heap` (the backend's
 * WebAssembly memory), so nothing is copied. Offset 0 means "none" (the wasm heap never places a
 * tensor there). The WebAssembly kernels in ../simd remain the fallback with the same contracts.
 */
#include <stdint.h>
#include "gemm.h"

#define F32(off) ((float *)(heap + (off)))

/* C[M x N] (+)= A.B with a(i,k) = A[i*ars + k*acs] and B row-major with row stride ldb (as the
 * WebAssembly `gemm`). */
int mmrun_gemm(uint8_t *heap, int M, int N, int K, uint32_t A, int ars, int acs, uint32_t B, int ldb, uint32_t C, int ldc, int acc) {
  mmrun_strided a = {F32(A), ars, acs};
  return mmrun_gemm_core(M, N, K, mmrun_pack_strided, &a, F32(B), ldb, 1, F32(C), ldc, acc, NULL);
}

/*
 * Batched product C_b = op(A_b).op(B_b) (+ bias, ReLU) for b < batch, C contiguous M x N per batch:
 * a(i,k) = A[b*sa + i*ars + k*acs], b(k,j) = B[b*sb + k*brs + j*bcs] (element strides; sa or sb 0
 * broadcasts one matrix over the batch). Any transpose is a choice of strides: nothing is
 * transposed in memory.
 */
int mmrun_matmul(uint8_t *heap, int batch, int M, int N, int K, uint32_t A, int ars, int acs, int sa, uint32_t B, int brs, int bcs, int sb,
                 uint32_t C, uint32_t bias, int relu) {
  mmrun_epilogue epi = {bias ? F32(bias) : NULL, relu};
  for (int b = 0; b < batch; b++) {
    mmrun_strided a = {F32(A) + (ptrdiff_t)b * sa, ars, acs};
    int r = mmrun_gemm_core(M, N, K, mmrun_pack_strided, &a, F32(B) + (ptrdiff_t)b * sb, brs, bcs, F32(C) + (ptrdiff_t)b * M * N, N, 0,
                            bias || relu ? &epi : NULL);
    if (r) return r;
  }
  return 0;
}

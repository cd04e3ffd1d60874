/* Matrix products for BatchMatMul and _FusedMatMul (see heap.h for the calling convention). */
#include "gemm.h"
#include "heap.h"

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

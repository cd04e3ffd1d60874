/* The GEMM core shared by mmrun's native kernels (gemm.c): C (+)= A.B (+ bias, ReLU), where A is
 * never read directly but packed by a callback, so a convolution can feed its input as an
 * implicit im2col matrix without materialising it. */
#ifndef MMRUN_GEMM_H
#define MMRUN_GEMM_H
#include <stddef.h>

#define MMRUN_MR 8   /* rows of A per packed micro-panel */
#define MMRUN_KC 256 /* depth of a K block: pack_a is never asked for more */

/* Writes a(i0+i, k0+k) to dst[k*MMRUN_MR + i] for i < mr, k < kc, and 0 for mr <= i < MMRUN_MR. */
typedef void (*mmrun_pack_a)(const void *ctx, int i0, int mr, int k0, int kc, float *dst);

typedef struct {
  const float *bias; /* added to each row at the end (length N), or NULL */
  int relu;          /* max(0, .) at the end */
} mmrun_epilogue;

/* C[M x N] (+)= A.B with b(k, j) = B[k*brs + j*bcs] and C row stride ldc; acc != 0 adds to C.
 * Returns 0, or -1 when the packing buffers cannot be allocated. */
int mmrun_gemm_core(int M, int N, int K, mmrun_pack_a pack_a, const void *actx, const float *B, ptrdiff_t brs, ptrdiff_t bcs,
                    float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi);

/* A packer for a plain strided matrix: a(i, k) = A[i*rs + k*cs]. */
typedef struct { const float *A; ptrdiff_t rs, cs; } mmrun_strided;
void mmrun_pack_strided(const void *ctx, int i0, int mr, int k0, int kc, float *dst);

#endif

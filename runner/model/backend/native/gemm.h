/* The GEMM core shared by mmrun's native kernels (gemm.c): C (+)= A.B (+ bias, ReLU), where A is
 * never read directly but packed by a callback, so a convolution can feed its input as an
 * implicit im2col matrix without materialising it. */
#ifndef MMRUN_GEMM_H
#define MMRUN_GEMM_H
#include <stddef.h>

/* Rows of A per packed micro-panel, set by the register tiles gemm.c compiles: with AVX-512's 32
 * vector registers, 8 (tiles 8x32, 16x16, 8x16 of 16-float vectors); elsewhere (AVX2 has 16 ymm
 * registers), 6, for a 6x16 tile of 8-float vectors whose 12 accumulators, two B vectors and one
 * broadcast fit in 16 registers. MMRUN_FORCE_WIDE_TILES builds the AVX-512 tiles anyway
 * (bench/gemm.ts compares both on one machine). */
#if defined(__AVX512F__) || defined(MMRUN_FORCE_WIDE_TILES)
#define MMRUN_WIDE_TILES 1
#define MMRUN_MR 8
#else
#define MMRUN_MR 6
#endif
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

/* A stretch [k, k+len) of a K block within which each row of A is contiguous in memory. */
typedef struct { int k, len; } mmrun_run;

/* Indirect A, for convolutions: for rows i0..i0+mr-1 (mr <= 2*MMRUN_MR) and the K block [k0, k0+kc),
 * writes the runs and, for run r, rows[r*2*MMRUN_MR + i] = address of a(i0+i, k0+runs[r].k) (or of
 * zeros, e.g. padding; rows past mr may be anything readable). Returns the number of runs
 * (at most MMRUN_KC). Nothing is copied: the micro-kernels read A through these pointers. */
typedef int (*mmrun_rows_a)(const void *ctx, int i0, int mr, int k0, int kc, mmrun_run *runs, const float **rows);

/* Writes b(k0+k, j0+j) to dst[k*width + j] for k < kc, j < nr, and 0 for nr <= j < width. */
typedef void (*mmrun_pack_b)(const void *ctx, int k0, int kc, int j0, int nr, int width, float *dst);

/* Same as mmrun_gemm_core with B packed by a callback (e.g. an implicit im2col matrix). */
int mmrun_gemm_packed_b(int M, int N, int K, mmrun_pack_a pack_a, const void *actx, mmrun_pack_b pack_b, const void *bctx, float *C,
                        ptrdiff_t ldc, int acc, const mmrun_epilogue *epi);

/* Same as mmrun_gemm_core with A given by row pointers. */
int mmrun_gemm_rows(int M, int N, int K, mmrun_rows_a rows_a, const void *actx, const float *B, ptrdiff_t brs, ptrdiff_t bcs,
                    float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi);

/* MMRUN_KC zeros, for row pointers into padding. */
extern const float mmrun_zeros[MMRUN_KC];

/* A packer for a plain strided matrix: a(i, k) = A[i*rs + k*cs]. */
typedef struct { const float *A; ptrdiff_t rs, cs; } mmrun_strided;
void mmrun_pack_strided(const void *ctx, int i0, int mr, int k0, int kc, float *dst);

#endif

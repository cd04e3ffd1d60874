/* mmrun's native GEMM (see gemm.h). Blocked over K (KC deep); A packed into MMRUN_MR-row
 * micro-panels, or read in place through row pointers (row-major matrices, convolution inputs).
 * Register tiles in GCC vector extensions (vec.h), chosen by the instruction set at compile time:
 * - AVX-512 (MMRUN_WIDE_TILES): B in 32- or 16-wide zero-padded panels, tiles 8x32 and 16x16
 *   (packed A) and 8x16 (row pointers) of 16-float vectors, 32 accumulators in 32 zmm registers;
 * - otherwise (AVX2, other CPUs): B in 16-wide panels, one 6x16 tile of 8-float vectors for both
 *   sources of A: 12 accumulators + 2 B vectors + 1 broadcast = 15 of AVX2's 16 ymm registers
 *   (the wide tiles would need 32 and spill every accumulator to the stack).
 * Not reentrant: the packing buffers and row tables are static, as a training process runs one
 * kernel at a time. */
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "vec.h"

#define KC MMRUN_KC
#define MR MMRUN_MR

/* Packing buffers, grown on demand and kept (a training process runs one kernel at a time). */
static float *bufA, *bufB;
static size_t capA, capB;
static float *grow(float **p, size_t *cap, size_t n) {
  if (n > *cap) {
    free(*p);
    *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
    *cap = *p ? n : 0;
  }
  return *p;
}

/* Stores an mr x nr corner of tile t (row stride ts) into C, adding C when load, then the epilogue when last. */
static inline void store_tile(const float *t, int ts, float *C, ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  for (int i = 0; i < mr; i++) {
    float *c = C + i * ldc;
    for (int j = 0; j < nr; j++) {
      float v = t[i * ts + j] + (load ? c[j] : 0.0f);
      if (last && epi) {
        if (epi->bias) v += epi->bias[j0 + j];
        if (epi->relu && v < 0) v = 0;
      }
      c[j] = v;
    }
  }
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#ifdef MMRUN_WIDE_TILES
static inline v16 finish(v16 v, const v16u *cv, int load, int last, const mmrun_epilogue *epi, const float *bias) {
  if (load) v += *cv;
  if (last && epi) {
    if (epi->bias) v += *(const v16u *)bias;
    if (epi->relu) v = (v16)((v16i)v & ~(v < (v16){0})); /* zeroes negative lanes; NaN stays NaN, as in tfjs */
  }
  return v;
}

/* The micro-kernels read a(i, k) for run r either from packed panels (packed: rows[r*2*MR] is the
 * panel of rows 0..7, rows[r*2*MR + MR] that of rows 8..15, a(i, k) at [k*MR + i]) or through one
 * pointer per row (a(i, k) at rows[r*2*MR + i][k - run.k]). `packed` is a compile-time constant in
 * each instantiation below, so the packed kernels address one base pointer and the row kernels
 * keep eight. */

ALWAYS_INLINE void kernel_8x32(int nruns, const mmrun_run *runs, const float *const *rows, int packed, const float *pb, float *C, ptrdiff_t ldc,
                               int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  v16 c[MR][2];
  for (int i = 0; i < MR; i++) c[i][0] = c[i][1] = (v16){0};
  for (int r = 0; r < nruns; r++) {
    const float *a[MR];
    for (int i = 0; i < MR; i++) a[i] = packed ? rows[r * 2 * MR] + i : rows[r * 2 * MR + i];
    const float *b = pb + runs[r].k * 32;
    for (int j = 0; j < runs[r].len; j++, b += 32) {
      v16 b0 = *(const v16 *)b, b1 = *(const v16 *)(b + 16);
      for (int i = 0; i < MR; i++) {
        v16 av = splat(packed ? rows[r * 2 * MR][j * MR + i] : a[i][j]);
        c[i][0] += av * b0;
        c[i][1] += av * b1;
      }
    }
  }
  if (mr == MR && nr == 32) {
    const float *bias = epi && epi->bias ? epi->bias + j0 : NULL;
    for (int i = 0; i < MR; i++) {
      v16u *p0 = (v16u *)(C + i * ldc), *p1 = (v16u *)(C + i * ldc + 16);
      v16 r0 = finish(c[i][0], p0, load, last, epi, bias), r1 = finish(c[i][1], p1, load, last, epi, bias ? bias + 16 : NULL);
      *p0 = r0;
      *p1 = r1;
    }
  } else {
    float t[MR][32] __attribute__((aligned(64)));
    for (int i = 0; i < MR; i++) {
      *(v16 *)t[i] = c[i][0];
      *(v16 *)(t[i] + 16) = c[i][1];
    }
    store_tile(&t[0][0], 32, C, ldc, mr, nr, load, last, epi, j0);
  }
}

/* Packed panels: 16 rows (two panels) against a 16-wide B panel. */
static void k16x16_packed(int nruns, const mmrun_run *runs, const float *const *rows, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr,
                          int load, int last, const mmrun_epilogue *epi, int j0) {
  v16 c[16];
  for (int i = 0; i < 16; i++) c[i] = (v16){0};
  for (int r = 0; r < nruns; r++) {
    const float *pa0 = rows[r * 2 * MR], *pa1 = rows[r * 2 * MR + MR];
    const float *b = pb + runs[r].k * 16;
    for (int j = 0; j < runs[r].len; j++, b += 16) {
      v16 bv = *(const v16 *)b;
      for (int i = 0; i < MR; i++) {
        c[i] += splat(pa0[j * MR + i]) * bv;
        c[i + MR] += splat(pa1[j * MR + i]) * bv;
      }
    }
  }
  float t[16][16] __attribute__((aligned(64)));
  for (int i = 0; i < 16; i++) *(v16 *)t[i] = c[i];
  store_tile(&t[0][0], 16, C, ldc, mr, nr, load, last, epi, j0);
}

/* Row pointers: 8 rows against a 16-wide B panel, even and odd k in separate accumulators (16
 * independent FMA chains, eight row pointers: no register spills). */
static void k8x16_rows(int nruns, const mmrun_run *runs, const float *const *rows, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr,
                       int load, int last, const mmrun_epilogue *epi, int j0) {
  v16 c0[MR], c1[MR];
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = (v16){0};
  for (int r = 0; r < nruns; r++) {
    const float *a[MR];
    for (int i = 0; i < MR; i++) a[i] = rows[r * 2 * MR + i];
    const float *b = pb + runs[r].k * 16;
    int len = runs[r].len, j = 0;
    for (; j + 1 < len; j += 2) {
      v16 b0 = *(const v16 *)(b + j * 16), b1 = *(const v16 *)(b + j * 16 + 16);
      for (int i = 0; i < MR; i++) {
        c0[i] += splat(a[i][j]) * b0;
        c1[i] += splat(a[i][j + 1]) * b1;
      }
    }
    if (j < len) {
      v16 b0 = *(const v16 *)(b + j * 16);
      for (int i = 0; i < MR; i++) c0[i] += splat(a[i][j]) * b0;
    }
  }
  float t[MR][16] __attribute__((aligned(64)));
  for (int i = 0; i < MR; i++) *(v16 *)t[i] = c0[i] + c1[i];
  store_tile(&t[0][0], 16, C, ldc, mr, nr, load, last, epi, j0);
}

static void k8x32_packed(int nruns, const mmrun_run *runs, const float *const *rows, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  kernel_8x32(nruns, runs, rows, 1, pb, C, ldc, mr, nr, load, last, epi, j0);
}
static void k8x32_rows(int nruns, const mmrun_run *runs, const float *const *rows, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  kernel_8x32(nruns, runs, rows, 0, pb, C, ldc, mr, nr, load, last, epi, j0);
}

#else
/* Bias and ReLU on one 8-float vector of a finished tile, adding C when load (as finish above). */
ALWAYS_INLINE v8 finish8(v8 v, const v8u *cv, int load, int last, const mmrun_epilogue *epi, const float *bias) {
  if (load) v += *cv;
  if (last && epi) {
    if (epi->bias) v += *(const v8u *)bias;
    if (epi->relu) v = (v8)((v8i)v & ~(v < (v8){0})); /* zeroes negative lanes; NaN stays NaN, as in tfjs */
  }
  return v;
}

#define NR 16 /* width of a B panel and of the tile: two 8-float vectors */

/* MR (6) rows against a 16-wide B panel. a(i, k) for run r comes from a packed panel (packed:
 * rows[r*2*MR], a(i, k) at [k*as + i]: as = MR for panels packed into the buffer, or the row stride
 * of a transposed A read in place) or through one pointer per row (rows[r*2*MR + i][k - run.k]);
 * `packed` is a compile-time constant in each instantiation below. */
ALWAYS_INLINE void kernel_6x16(int nruns, const mmrun_run *runs, const float *const *rows, int packed, ptrdiff_t as, const float *pb, float *C,
                               ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  v8 c[MR][2];
  for (int i = 0; i < MR; i++) c[i][0] = c[i][1] = (v8){0};
  for (int r = 0; r < nruns; r++) {
    const float *pa = rows[r * 2 * MR];
    const float *a[MR];
    if (!packed)
      for (int i = 0; i < MR; i++) a[i] = rows[r * 2 * MR + i];
    const float *b = pb + runs[r].k * NR;
    for (int j = 0; j < runs[r].len; j++, b += NR) {
      v8 b0 = *(const v8 *)b, b1 = *(const v8 *)(b + 8);
      for (int i = 0; i < MR; i++) {
        v8 av = splat8(packed ? pa[j * as + i] : a[i][j]);
        c[i][0] += av * b0;
        c[i][1] += av * b1;
      }
    }
  }
  if (mr == MR && nr == NR) {
    const float *bias = epi && epi->bias ? epi->bias + j0 : NULL;
    for (int i = 0; i < MR; i++) {
      v8u *p0 = (v8u *)(C + i * ldc), *p1 = (v8u *)(C + i * ldc + 8);
      v8 r0 = finish8(c[i][0], p0, load, last, epi, bias), r1 = finish8(c[i][1], p1, load, last, epi, bias ? bias + 8 : NULL);
      *p0 = r0;
      *p1 = r1;
    }
  } else {
    float t[MR][NR] __attribute__((aligned(32)));
    for (int i = 0; i < MR; i++) {
      *(v8 *)t[i] = c[i][0];
      *(v8 *)(t[i] + 8) = c[i][1];
    }
    store_tile(&t[0][0], NR, C, ldc, mr, nr, load, last, epi, j0);
  }
}

static void k6x16_packed(int nruns, const mmrun_run *runs, const float *const *rows, ptrdiff_t as, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  kernel_6x16(nruns, runs, rows, 1, as, pb, C, ldc, mr, nr, load, last, epi, j0);
}
static void k6x16_rows(int nruns, const mmrun_run *runs, const float *const *rows, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  kernel_6x16(nruns, runs, rows, 0, MR, pb, C, ldc, mr, nr, load, last, epi, j0);
}
#endif

const float mmrun_zeros[MMRUN_KC];

void mmrun_pack_strided(const void *ctx, int i0, int mr, int k0, int kc, float *dst) {
  const mmrun_strided *s = ctx;
  for (int k = 0; k < kc; k++) {
    const float *src = s->A + (ptrdiff_t)(k0 + k) * s->cs + (ptrdiff_t)i0 * s->rs;
    float *d = dst + k * MR;
    int i = 0;
    if (s->rs == 1 && mr == MR) {
      memcpy(d, src, MR * sizeof(float)); /* constant size: inlined as two vector moves */
      continue;
    }
    if (s->rs == 1)
      for (; i < mr; i++) d[i] = src[i];
    else
      for (; i < mr; i++) d[i] = src[(ptrdiff_t)i * s->rs];
    for (; i < MR; i++) d[i] = 0;
  }
}

/* B as a plain strided matrix: b(k, j) = B[k*rs + j*cs]. */
typedef struct { const float *B; ptrdiff_t rs, cs; } strided_b;

static void pack_b_strided(const void *ctx, int k0, int kc, int j0, int nr, int width, float *dst) {
  const strided_b *sb = ctx;
  const float *B = sb->B;
  ptrdiff_t brs = sb->rs, bcs = sb->cs;
  for (int k = 0; k < kc; k++) {
    const float *s = B + (ptrdiff_t)(k0 + k) * brs + (ptrdiff_t)j0 * bcs;
    float *d = dst + k * width;
    int j = 0;
    if (bcs == 1 && nr == 16) {
      /* the common full panel: two 8-float copies instead of a memcpy call per row */
      *(v8u *)d = *(const v8u *)s;
      *(v8u *)(d + 8) = *(const v8u *)(s + 8);
      j = 16;
    } else if (bcs == 1) {
      memcpy(d, s, (size_t)nr * 4);
      j = nr;
    } else {
      for (; j < nr; j++) d[j] = s[(ptrdiff_t)j * bcs];
    }
    for (; j < width; j++) d[j] = 0;
  }
}

/* Where A comes from: packed by a callback, or read through row pointers. A transposed A
 * (a(i, k) = panel[k*ps + i]) is already laid out as packed panels of stride ps: the 6x16 tile reads
 * its full 6-row blocks in place (panel != NULL) and packs only the last, partial one. */
typedef struct {
  mmrun_pack_a pack;
  mmrun_rows_a rows;
  const void *ctx;
  const float *panel;
  ptrdiff_t ps;
} a_source;

typedef struct {
  mmrun_pack_b pack;
  const void *ctx;
} b_source;

/* Row pointers straight into a row-major matrix (a(i,k) = A[i*rs + k], rs = row stride). */
typedef struct { const float *A; ptrdiff_t rs; } direct_rows;
static int rows_direct(const void *ctx, int i0, int mr, int k0, int kc, mmrun_run *runs, const float **rows) {
  const direct_rows *d = ctx;
  runs[0] = (mmrun_run){0, kc};
  for (int i = 0; i < 2 * MR; i++) rows[i] = i < mr ? d->A + (ptrdiff_t)(i0 + i) * d->rs + k0 : mmrun_zeros;
  return 1;
}

#ifdef MMRUN_WIDE_TILES
static int gemm_impl(int M, int N, int K, a_source src, b_source bsrc, float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi) {
  if (M <= 0 || N <= 0) return 0;
  if (K <= 0) {
    /* no products: C keeps (acc) or becomes 0, then the epilogue */
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        float v = acc ? C[i * ldc + j] : 0.0f;
        if (epi && epi->bias) v += epi->bias[j];
        if (epi && epi->relu && v < 0) v = 0;
        C[i * ldc + j] = v;
      }
    return 0;
  }
  int full32 = N / 32, rem = N - full32 * 32;
  int p16 = rem > 0 && rem <= 16, p32 = rem > 16;
  int panels = full32 + p32;
  float *pb = grow(&bufB, &capB, (size_t)KC * (32 * panels + 16 * p16) + 16);
  float *pa = src.pack ? grow(&bufA, &capA, (size_t)KC * MR * 2 + 16) : NULL;
  if (!pb || (src.pack && !pa)) return -1;
  float *pb16 = pb + (size_t)panels * KC * 32;
  static mmrun_run runs[MMRUN_KC];
  static const float *rows[MMRUN_KC * 2 * MR];
  for (int k0 = 0; k0 < K; k0 += KC) {
    int kc = K - k0 < KC ? K - k0 : KC;
    int load = acc || k0 > 0, last = k0 + kc >= K;
    for (int p = 0; p < panels; p++) {
      int j0 = p * 32;
      bsrc.pack(bsrc.ctx, k0, kc, j0, N - j0 < 32 ? N - j0 : 32, 32, pb + (size_t)p * KC * 32);
    }
    if (p16) bsrc.pack(bsrc.ctx, k0, kc, full32 * 32, rem, 16, pb16);
    for (int i0 = 0; i0 < M; i0 += 2 * MR) {
      int mr0 = M - i0 < MR ? M - i0 : MR;
      int mr1 = M - i0 - MR;
      mr1 = mr1 < 0 ? 0 : (mr1 > MR ? MR : mr1);
      int nruns;
      if (src.pack) {
        src.pack(src.ctx, i0, mr0, k0, kc, pa);
        if (mr1) src.pack(src.ctx, i0 + MR, mr1, k0, kc, pa + (size_t)kc * MR);
        else memset(pa + (size_t)kc * MR, 0, (size_t)kc * MR * 4);
        nruns = 1;
        runs[0] = (mmrun_run){0, kc};
        rows[0] = pa;
        rows[MR] = pa + (size_t)kc * MR;
      } else {
        nruns = src.rows(src.ctx, i0, mr0 + mr1, k0, kc, runs, rows);
      }
      for (int p = 0; p < panels; p++) {
        int j0 = p * 32, nr = N - j0 < 32 ? N - j0 : 32;
        const float *panel = pb + (size_t)p * KC * 32;
        float *c = C + (ptrdiff_t)i0 * ldc + j0;
        if (src.pack) {
          k8x32_packed(nruns, runs, rows, panel, c, ldc, mr0, nr, load, last, epi, j0);
          if (mr1) k8x32_packed(nruns, runs, rows + MR, panel, c + MR * ldc, ldc, mr1, nr, load, last, epi, j0);
        } else {
          k8x32_rows(nruns, runs, rows, panel, c, ldc, mr0, nr, load, last, epi, j0);
          if (mr1) k8x32_rows(nruns, runs, rows + MR, panel, c + MR * ldc, ldc, mr1, nr, load, last, epi, j0);
        }
      }
      if (p16) {
        float *c = C + (ptrdiff_t)i0 * ldc + full32 * 32;
        if (src.pack) {
          k16x16_packed(nruns, runs, rows, pb16, c, ldc, mr0 + mr1, rem, load, last, epi, full32 * 32);
        } else {
          k8x16_rows(nruns, runs, rows, pb16, c, ldc, mr0, rem, load, last, epi, full32 * 32);
          if (mr1) k8x16_rows(nruns, runs, rows + MR, pb16, c + MR * ldc, ldc, mr1, rem, load, last, epi, full32 * 32);
        }
      }
    }
  }
  return 0;
}
#else
/* C with no products (K <= 0): kept (acc) or zeroed, then the epilogue. */
static void no_products(int M, int N, float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float v = acc ? C[i * ldc + j] : 0.0f;
      if (epi && epi->bias) v += epi->bias[j];
      if (epi && epi->relu && v < 0) v = 0;
      C[i * ldc + j] = v;
    }
}

static int gemm_impl(int M, int N, int K, a_source src, b_source bsrc, float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi) {
  if (M <= 0 || N <= 0) return 0;
  if (K <= 0) {
    no_products(M, N, C, ldc, acc, epi);
    return 0;
  }
  int panels = (N + NR - 1) / NR;
  float *pb = grow(&bufB, &capB, (size_t)KC * NR * panels + 16);
  float *pa = src.pack ? grow(&bufA, &capA, (size_t)KC * MR * 2 + 16) : NULL;
  if (!pb || (src.pack && !pa)) return -1;
  static mmrun_run runs[MMRUN_KC];
  static const float *rows[MMRUN_KC * 2 * MR];
  for (int k0 = 0; k0 < K; k0 += KC) {
    int kc = K - k0 < KC ? K - k0 : KC;
    int load = acc || k0 > 0, last = k0 + kc >= K;
    for (int p = 0; p < panels; p++) {
      int j0 = p * NR;
      bsrc.pack(bsrc.ctx, k0, kc, j0, N - j0 < NR ? N - j0 : NR, NR, pb + (size_t)p * KC * NR);
    }
    for (int i0 = 0; i0 < M; i0 += 2 * MR) {
      int mr0 = M - i0 < MR ? M - i0 : MR;
      int mr1 = M - i0 - MR;
      mr1 = mr1 < 0 ? 0 : (mr1 > MR ? MR : mr1);
      int nruns;
      ptrdiff_t as0 = MR, as1 = MR;
      if (src.pack) {
        if (src.panel && mr0 == MR) {
          rows[0] = src.panel + (ptrdiff_t)k0 * src.ps + i0;
          as0 = src.ps;
        } else {
          src.pack(src.ctx, i0, mr0, k0, kc, pa);
          rows[0] = pa;
        }
        if (src.panel && mr1 == MR) {
          rows[MR] = src.panel + (ptrdiff_t)k0 * src.ps + i0 + MR;
          as1 = src.ps;
        } else {
          if (mr1) src.pack(src.ctx, i0 + MR, mr1, k0, kc, pa + (size_t)kc * MR);
          rows[MR] = pa + (size_t)kc * MR;
        }
        nruns = 1;
        runs[0] = (mmrun_run){0, kc};
      } else {
        nruns = src.rows(src.ctx, i0, mr0 + mr1, k0, kc, runs, rows);
      }
      for (int p = 0; p < panels; p++) {
        int j0 = p * NR, nr = N - j0 < NR ? N - j0 : NR;
        const float *panel = pb + (size_t)p * KC * NR;
        float *c = C + (ptrdiff_t)i0 * ldc + j0;
        if (src.pack) {
          k6x16_packed(nruns, runs, rows, as0, panel, c, ldc, mr0, nr, load, last, epi, j0);
          if (mr1) k6x16_packed(nruns, runs, rows + MR, as1, panel, c + MR * ldc, ldc, mr1, nr, load, last, epi, j0);
        } else {
          k6x16_rows(nruns, runs, rows, panel, c, ldc, mr0, nr, load, last, epi, j0);
          if (mr1) k6x16_rows(nruns, runs, rows + MR, panel, c + MR * ldc, ldc, mr1, nr, load, last, epi, j0);
        }
      }
    }
  }
  return 0;
}
#endif

int mmrun_gemm_core(int M, int N, int K, mmrun_pack_a pack_a, const void *actx, const float *B, ptrdiff_t brs, ptrdiff_t bcs,
                    float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi) {
  strided_b b = {B, brs, bcs};
  return mmrun_gemm_packed_b(M, N, K, pack_a, actx, pack_b_strided, &b, C, ldc, acc, epi);
}

int mmrun_gemm_packed_b(int M, int N, int K, mmrun_pack_a pack_a, const void *actx, mmrun_pack_b pack_b, const void *bctx, float *C,
                        ptrdiff_t ldc, int acc, const mmrun_epilogue *epi) {
  b_source b = {pack_b, bctx};
  if (pack_a == mmrun_pack_strided && ((const mmrun_strided *)actx)->cs == 1) {
    /* a row-major A needs no packing: the kernels read its rows in place */
    const mmrun_strided *s = actx;
    direct_rows d = {s->A, s->rs};
    return gemm_impl(M, N, K, (a_source){NULL, rows_direct, &d, NULL, 0}, b, C, ldc, acc, epi);
  }
  if (pack_a == mmrun_pack_strided && ((const mmrun_strided *)actx)->rs == 1) {
    const mmrun_strided *s = actx;
    return gemm_impl(M, N, K, (a_source){pack_a, NULL, actx, s->A, s->cs}, b, C, ldc, acc, epi);
  }
  return gemm_impl(M, N, K, (a_source){pack_a, NULL, actx, NULL, 0}, b, C, ldc, acc, epi);
}

int mmrun_gemm_rows(int M, int N, int K, mmrun_rows_a rows_a, const void *actx, const float *B, ptrdiff_t brs, ptrdiff_t bcs,
                    float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi) {
  strided_b b = {B, brs, bcs};
  return gemm_impl(M, N, K, (a_source){NULL, rows_a, actx, NULL, 0}, (b_source){pack_b_strided, &b}, C, ldc, acc, epi);
}

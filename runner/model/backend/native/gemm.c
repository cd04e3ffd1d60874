/* mmrun's native GEMM (see gemm.h). Blocked over K (KC deep), B packed into 32- or 16-wide
 * zero-padded panels, A into MMRUN_MR-row micro-panels; an 8x32 and a 16x16 register tile written
 * with GCC vector extensions, which -march=native turns into AVX-512 (or AVX2, NEON) FMAs. */
#include <stdlib.h>
#include <string.h>
#include "gemm.h"

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef int v16i __attribute__((vector_size(64)));

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

static inline v16 finish(v16 v, const v16u *cv, int load, int last, const mmrun_epilogue *epi, const float *bias) {
  if (load) v += *cv;
  if (last && epi) {
    if (epi->bias) v += *(const v16u *)bias;
    if (epi->relu) v = (v16)((v16i)v & ~(v < (v16){0})); /* zeroes negative lanes; NaN stays NaN, as in tfjs */
  }
  return v;
}

static inline void kernel_8x32(int kc, const float *pa, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  v16 c[MR][2];
  for (int i = 0; i < MR; i++) c[i][0] = c[i][1] = (v16){0};
  for (int k = 0; k < kc; k++) {
    v16 b0 = *(const v16 *)(pb + k * 32), b1 = *(const v16 *)(pb + k * 32 + 16);
    for (int i = 0; i < MR; i++) {
      v16 a = (v16){0} + pa[k * MR + i];
      c[i][0] += a * b0;
      c[i][1] += a * b1;
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

/* Two A micro-panels (rows 0..7 at pa, 8..15 at pa + kc*MR) against a 16-wide B panel. */
static inline void kernel_16x16(int kc, const float *pa, const float *pb, float *C, ptrdiff_t ldc, int mr, int nr, int load, int last, const mmrun_epilogue *epi, int j0) {
  v16 c[16];
  for (int i = 0; i < 16; i++) c[i] = (v16){0};
  const float *pa1 = pa + kc * MR;
  for (int k = 0; k < kc; k++) {
    v16 b = *(const v16 *)(pb + k * 16);
    for (int i = 0; i < MR; i++) {
      c[i] += ((v16){0} + pa[k * MR + i]) * b;
      c[i + 8] += ((v16){0} + pa1[k * MR + i]) * b;
    }
  }
  if (mr == 16 && nr == 16) {
    const float *bias = epi && epi->bias ? epi->bias + j0 : NULL;
    for (int i = 0; i < 16; i++) {
      v16u *p = (v16u *)(C + i * ldc);
      *p = finish(c[i], p, load, last, epi, bias);
    }
  } else {
    float t[16][16] __attribute__((aligned(64)));
    for (int i = 0; i < 16; i++) *(v16 *)t[i] = c[i];
    store_tile(&t[0][0], 16, C, ldc, mr, nr, load, last, epi, j0);
  }
}

void mmrun_pack_strided(const void *ctx, int i0, int mr, int k0, int kc, float *dst) {
  const mmrun_strided *s = ctx;
  for (int k = 0; k < kc; k++) {
    const float *src = s->A + (ptrdiff_t)(k0 + k) * s->cs + (ptrdiff_t)i0 * s->rs;
    float *d = dst + k * MR;
    int i = 0;
    if (s->rs == 1)
      for (; i < mr; i++) d[i] = src[i];
    else
      for (; i < mr; i++) d[i] = src[(ptrdiff_t)i * s->rs];
    for (; i < MR; i++) d[i] = 0;
  }
}

static void pack_b(const float *B, ptrdiff_t brs, ptrdiff_t bcs, int k0, int kc, int j0, int nr, int width, float *dst) {
  for (int k = 0; k < kc; k++) {
    const float *s = B + (ptrdiff_t)(k0 + k) * brs + (ptrdiff_t)j0 * bcs;
    float *d = dst + k * width;
    int j = 0;
    if (bcs == 1) {
      memcpy(d, s, (size_t)nr * 4);
      j = nr;
    } else {
      for (; j < nr; j++) d[j] = s[(ptrdiff_t)j * bcs];
    }
    for (; j < width; j++) d[j] = 0;
  }
}

int mmrun_gemm_core(int M, int N, int K, mmrun_pack_a pack_a, const void *actx, const float *B, ptrdiff_t brs, ptrdiff_t bcs,
                    float *C, ptrdiff_t ldc, int acc, const mmrun_epilogue *epi) {
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
  float *pa = grow(&bufA, &capA, (size_t)KC * MR * 2 + 16);
  if (!pb || !pa) return -1;
  float *pb16 = pb + (size_t)panels * KC * 32;
  for (int k0 = 0; k0 < K; k0 += KC) {
    int kc = K - k0 < KC ? K - k0 : KC;
    int load = acc || k0 > 0, last = k0 + kc >= K;
    for (int p = 0; p < panels; p++) {
      int j0 = p * 32;
      pack_b(B, brs, bcs, k0, kc, j0, N - j0 < 32 ? N - j0 : 32, 32, pb + (size_t)p * KC * 32);
    }
    if (p16) pack_b(B, brs, bcs, k0, kc, full32 * 32, rem, 16, pb16);
    for (int i0 = 0; i0 < M; i0 += 2 * MR) {
      int mr0 = M - i0 < MR ? M - i0 : MR;
      int mr1 = M - i0 - MR;
      mr1 = mr1 < 0 ? 0 : (mr1 > MR ? MR : mr1);
      pack_a(actx, i0, mr0, k0, kc, pa);
      if (mr1) pack_a(actx, i0 + MR, mr1, k0, kc, pa + (size_t)kc * MR);
      else memset(pa + (size_t)kc * MR, 0, (size_t)kc * MR * 4);
      for (int p = 0; p < panels; p++) {
        int j0 = p * 32, nr = N - j0 < 32 ? N - j0 : 32;
        const float *panel = pb + (size_t)p * KC * 32;
        kernel_8x32(kc, pa, panel, C + (ptrdiff_t)i0 * ldc + j0, ldc, mr0, nr, load, last, epi, j0);
        if (mr1) kernel_8x32(kc, pa + (size_t)kc * MR, panel, C + (ptrdiff_t)(i0 + MR) * ldc + j0, ldc, mr1, nr, load, last, epi, j0);
      }
      if (p16) kernel_16x16(kc, pa, pb16, C + (ptrdiff_t)i0 * ldc + full32 * 32, ldc, mr0 + mr1, rem, load, last, epi, full32 * 32);
    }
  }
  return 0;
}

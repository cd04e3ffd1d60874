/* 16-float vectors through GCC vector extensions: -march=native turns them into one AVX-512
 * register (two AVX2 ones, four NEON ones). */
#ifndef MMRUN_VEC_H
#define MMRUN_VEC_H

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4))); /* for loads and stores at any float */
typedef int v16i __attribute__((vector_size(64)));

/* A float in every lane. (Written as (v16){0} + x, GCC would emit a real addition of 0, since
 * -0.0 + 0 is not -0.0, before the broadcast.) */
static inline v16 splat(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

/* 8-float vectors: one AVX2 register (two NEON ones), for the GEMM tiles of machines without
 * AVX-512 (gemm.c). */
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32)));
static inline v8 splat8(float x) { return (v8){x, x, x, x, x, x, x, x}; }

/* exp over 16 lanes: x = n*ln2 + r with |r| <= ln2/2, exp(r) by its Taylor series to r^7
 * (truncation < 1e-8 relative), then 2^n added into the exponent bits. Results below the smallest
 * normal float (x < -87.34) are computed 2^24 larger and scaled down, so they round to the same
 * subnormals as a float conversion of exp; above 88.72 it gives +inf; NaN stays NaN. */
static inline v16 exp16(v16 x) {
  const v16 round = splat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
  v16i nan = x != x, over = x > splat(88.7228f), zero = x < splat(-104.0f);
  v16i sub = (x < splat(-87.3365f)) & ~zero;
  v16i special = over | zero | nan;
  v16 c = (v16)((v16i)x & ~special) + (v16)((v16i)splat(16.6355324f) & sub); /* + 24 ln 2 */
  v16 t = c * 1.44269504f + round;
  v16 n = t - round;
  v16 r = c - n * 0.693145752f - n * 1.42860677e-06f; /* ln 2 in two parts: n * hi is exact */
  v16 p = splat(1.0f / 5040);
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  v16 y = (v16)((v16i)p + (((v16i)t - (v16i)round) << 23));
  y = y * (v16)(((v16i)splat(5.96046448e-8f) & sub) | ((v16i)splat(1.0f) & ~sub)); /* 2^-24 */
  v16i bits = ((v16i)y & ~special) | ((v16i)splat(__builtin_inff()) & over) | ((v16i)x & nan);
  return (v16)bits;
}


/* exp over 8 lanes: exactly exp16's arithmetic (so the same result in every lane), in one AVX2
 * register: the attention fast path (attention.c) keeps its softmax rows in 8-float vectors. */
static inline v8 exp8(v8 x) {
  const v8 round = splat8(12582912.0f);
  v8i nan = x != x, over = x > splat8(88.7228f), zero = x < splat8(-104.0f);
  v8i sub = (x < splat8(-87.3365f)) & ~zero;
  v8i special = over | zero | nan;
  v8 c = (v8)((v8i)x & ~special) + (v8)((v8i)splat8(16.6355324f) & sub);
  v8 t = c * 1.44269504f + round;
  v8 n = t - round;
  v8 r = c - n * 0.693145752f - n * 1.42860677e-06f;
  v8 p = splat8(1.0f / 5040);
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  v8 y = (v8)((v8i)p + (((v8i)t - (v8i)round) << 23));
  y = y * (v8)(((v8i)splat8(5.96046448e-8f) & sub) | ((v8i)splat8(1.0f) & ~sub));
  v8i bits = ((v8i)y & ~special) | ((v8i)splat8(__builtin_inff()) & over) | ((v8i)x & nan);
  return (v8)bits;
}

#endif

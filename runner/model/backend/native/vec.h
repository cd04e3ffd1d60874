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

#endif

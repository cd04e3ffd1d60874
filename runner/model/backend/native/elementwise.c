/* Element-wise passes that fuse what tfjs would run as several kernels (see heap.h for the calling
 * convention). */
#include <stdint.h>
#include "heap.h"
#include "vec.h"

#define MAX_VEC_COLS 1024

/* Backward of y = relu(z + bias) over rows x cols: dz = dy where y > 0 (else 0) and
 * dbias[j] = sum over rows of dz[., j], in one pass. */
void mmrun_relu_bias_grad(uint8_t *heap, uint32_t dy, uint32_t y, int rows, int cols, uint32_t dz, uint32_t dbias) {
  const float *restrict g = F32(dy), *restrict out = F32(y);
  float *restrict d = F32(dz), *restrict db = F32(dbias);
  if (cols % 16 == 0 && cols <= MAX_VEC_COLS) {
    v16 acc[MAX_VEC_COLS / 16];
    int nv = cols / 16;
    for (int v = 0; v < nv; v++) acc[v] = (v16){0};
    for (int r = 0; r < rows; r++) {
      const float *gr = g + (int64_t)r * cols, *yr = out + (int64_t)r * cols;
      float *dr = d + (int64_t)r * cols;
      for (int v = 0; v < nv; v++) {
        v16 gv = *(const v16u *)(gr + 16 * v), yv = *(const v16u *)(yr + 16 * v);
        v16 dv = (v16)((v16i)gv & (yv > (v16){0}));
        *(v16u *)(dr + 16 * v) = dv;
        acc[v] += dv;
      }
    }
    for (int v = 0; v < nv; v++) *(v16u *)(db + 16 * v) = acc[v];
    return;
  }
  for (int j = 0; j < cols; j++) db[j] = 0;
  for (int r = 0; r < rows; r++) {
    const float *gr = g + (int64_t)r * cols, *yr = out + (int64_t)r * cols;
    float *dr = d + (int64_t)r * cols;
    for (int j = 0; j < cols; j++) {
      float v = yr[j] > 0 ? gr[j] : 0.0f;
      dr[j] = v;
      db[j] += v;
    }
  }
}

/* out[i] = exp(x[i]) for n floats (tfjs's wasm Exp is a scalar loop: ~6 ns per value). */
void mmrun_exp(uint8_t *heap, uint32_t x, int n, uint32_t out) {
  const float *restrict in = F32(x);
  float *restrict o = F32(out);
  int i = 0;
  for (; i + 16 <= n; i += 16) *(v16u *)(o + i) = exp16(*(const v16u *)(in + i));
  if (i < n) {
    float tail[16] = {0};
    for (int j = 0; i + j < n; j++) tail[j] = in[i + j];
    v16 r = exp16(*(const v16u *)tail);
    for (int j = 0; i + j < n; j++) o[i + j] = r[j];
  }
}

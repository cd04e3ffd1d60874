/* Batch norm (+ ReLU) over the channels of channels-last activations, x viewed as rows x C: the
 * training forward (batch statistics, normalise, scale/shift, ReLU) and its gradient, each a few
 * streaming passes instead of tfjs's ~20 kernels (whose gradient tiles [C] to the full shape).
 * Sums over rows go into float partials per block of rows and double totals: accurate over
 * 50,000 rows and independent of C's tiling, so results are the same on every run. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "heap.h"
#include "vec.h"

typedef int v8i_u __attribute__((vector_size(32), aligned(4)));

#define BN_BLOCK 64

/* y = max(x*s + t, 0) (or without the max), row by row. */
static void scale_shift(const float *restrict x, int rows, int C, const float *restrict s, const float *restrict t, int relu, float *restrict y) {
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * C;
    float *restrict yr = y + r * C;
    if (relu)
      for (int c = 0; c < C; c++) {
        float v = xr[c] * s[c] + t[c];
        yr[c] = v > 0 ? v : 0.0f;
      }
    else
      for (int c = 0; c < C; c++) yr[c] = xr[c] * s[c] + t[c];
  }
}

/* mean[c] and variance[c] (biased: divided by rows, as tf.moments) of x over its rows, and the
 * scale s = gamma / sqrt(variance + eps) and shift t = beta - mean * s that normalise it. tot: C
 * doubles of scratch. */
static void batch_stats(const float *restrict X, int rows, int C, const float *G, const float *Bt, float eps, float *M, float *V, float *restrict s,
                        float *restrict t, double *restrict tot, float *restrict p) {
  for (int c = 0; c < C; c++) tot[c] = 0;
  for (int r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    int r1 = r0 + BN_BLOCK < rows ? r0 + BN_BLOCK : rows;
    for (int c = 0; c < C; c++) p[c] = 0;
    for (int64_t r = r0; r < r1; r++) {
      const float *restrict xr = X + r * C;
      for (int c = 0; c < C; c++) p[c] += xr[c];
    }
    for (int c = 0; c < C; c++) tot[c] += p[c];
  }
  for (int c = 0; c < C; c++) s[c] = M[c] = rows ? (float)(tot[c] / rows) : 0.0f;
  /* variance: the mean of squared deviations (two passes: no cancellation) */
  for (int c = 0; c < C; c++) tot[c] = 0;
  for (int r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    int r1 = r0 + BN_BLOCK < rows ? r0 + BN_BLOCK : rows;
    for (int c = 0; c < C; c++) p[c] = 0;
    for (int64_t r = r0; r < r1; r++) {
      const float *restrict xr = X + r * C;
      for (int c = 0; c < C; c++) {
        float d = xr[c] - s[c];
        p[c] += d * d;
      }
    }
    for (int c = 0; c < C; c++) tot[c] += p[c];
  }
  for (int c = 0; c < C; c++) {
    V[c] = rows ? (float)(tot[c] / rows) : 0.0f;
    double rstd = 1.0 / sqrt((double)V[c] + (double)eps);
    float sc = (float)(G[c] * rstd);
    s[c] = sc;
    t[c] = Bt[c] - M[c] * sc;
  }
}

/* Training forward: the batch statistics (batch_stats), then y = relu?(x * s + t).
 * Returns -1 when out of memory. */
int mmrun_batch_norm_train(uint8_t *heap, uint32_t x, int rows, int C, uint32_t gamma, uint32_t beta, float eps, int relu, uint32_t y,
                           uint32_t mean, uint32_t variance) {
  double *tot = malloc((size_t)C * sizeof(double));
  float *part = malloc((size_t)C * 3 * sizeof(float));
  if (!tot || !part) {
    free(tot);
    free(part);
    return -1;
  }
  float *s = part + C, *t = part + 2 * C;
  batch_stats(F32(x), rows, C, F32(gamma), F32(beta), eps, F32(mean), F32(variance), s, t, tot, part);
  scale_shift(F32(x), rows, C, s, t, relu, F32(y));
  free(tot);
  free(part);
  return 0;
}

/* Per-channel coefficients of the gradient: dx = a*dn + b*(x - mean) + k (see below), and dgamma,
 * dbeta, from the sums of dn and dn * (x - mean). */
static void grad_coefficients(int rows, int C, const double *tn, const double *tnx, const float *G, const float *V, const float *DM, const float *DV,
                              float eps, float *DG, float *DB, float *a, float *b, float *k) {
  for (int c = 0; c < C; c++) {
    double rstd = 1.0 / sqrt((double)V[c] + (double)eps);
    double db = tn[c], dg = tnx[c] * rstd, n = rows ? rows : 1;
    double ga = G[c] * rstd;
    DB[c] = (float)db;
    DG[c] = (float)dg;
    a[c] = (float)ga;
    b[c] = (float)(-ga * rstd * dg / n + 2.0 * DV[c] / n);
    k[c] = (float)(-ga * db / n + DM[c] / n);
  }
}

/* Gradient of the training forward above, given y (for the ReLU mask), x, gamma and the batch
 * statistics it returned, and the gradients reaching those statistics (dmean, dvar; zeros when
 * only y feeds the loss). With xhat = (x - mean) * rstd and dn = dy where y > 0 (all of dy
 * without ReLU):
 *   dbeta = sum dn, dgamma = sum dn * xhat,
 *   dx = gamma*rstd * (dn - dbeta/rows - xhat * dgamma/rows) + dmean/rows + dvar * 2 (x - mean)/rows.
 * Two passes: the sums, then dx. Returns -1 when out of memory. */
int mmrun_batch_norm_grad(uint8_t *heap, uint32_t dy, uint32_t y, uint32_t x, int rows, int C, uint32_t gamma, uint32_t mean, uint32_t variance,
                          uint32_t dmean, uint32_t dvar, float eps, int relu, uint32_t dx, uint32_t dgamma, uint32_t dbeta) {
  const float *restrict DY = F32(dy), *restrict Y = F32(y), *restrict X = F32(x);
  const float *G = F32(gamma), *M = F32(mean), *V = F32(variance), *DM = F32(dmean), *DV = F32(dvar);
  double *tot = malloc((size_t)C * 2 * sizeof(double));
  float *part = malloc((size_t)C * 6 * sizeof(float));
  if (!tot || !part) {
    free(tot);
    free(part);
    return -1;
  }
  double *restrict tn = tot, *restrict tnx = tot + C;
  float *restrict pn = part, *restrict pnx = part + C, *restrict m = part + 2 * C;
  for (int c = 0; c < C; c++) {
    tn[c] = tnx[c] = 0;
    m[c] = M[c];
  }
  /* sums of dn and dn * (x - mean) */
  for (int r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    int r1 = r0 + BN_BLOCK < rows ? r0 + BN_BLOCK : rows;
    for (int c = 0; c < C; c++) pn[c] = pnx[c] = 0;
    for (int64_t r = r0; r < r1; r++) {
      const float *restrict gr = DY + r * C, *restrict yr = Y + r * C, *restrict xr = X + r * C;
      if (relu)
        for (int c = 0; c < C; c++) {
          float d = yr[c] > 0 ? gr[c] : 0.0f;
          pn[c] += d;
          pnx[c] += d * (xr[c] - m[c]);
        }
      else
        for (int c = 0; c < C; c++) {
          pn[c] += gr[c];
          pnx[c] += gr[c] * (xr[c] - m[c]);
        }
    }
    for (int c = 0; c < C; c++) {
      tn[c] += pn[c];
      tnx[c] += pnx[c];
    }
  }
  /* dx = a*dn + b*(x - mean) + k per channel */
  float *restrict a = part + 3 * C, *restrict b = part + 4 * C, *restrict k = part + 5 * C;
  grad_coefficients(rows, C, tn, tnx, G, V, DM, DV, eps, F32(dgamma), F32(dbeta), a, b, k);
  float *restrict DX = F32(dx);
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict gr = DY + r * C, *restrict yr = Y + r * C, *restrict xr = X + r * C;
    float *restrict o = DX + r * C;
    if (relu)
      for (int c = 0; c < C; c++) {
        float d = yr[c] > 0 ? gr[c] : 0.0f;
        o[c] = a[c] * d + b[c] * (xr[c] - m[c]) + k[c];
      }
    else
      for (int c = 0; c < C; c++) o[c] = a[c] * gr[c] + b[c] * (xr[c] - m[c]) + k[c];
  }
  free(tot);
  free(part);
  return 0;
}

/* Training forward of batch norm, ReLU and a 2x2 max-pool of stride 2 with 'same' padding (an odd
 * last row or column pools alone) on x [B, H, W, C], in one kernel: the statistics (batch_stats),
 * then one pass that normalises each window and keeps its maximum. out [B, OH, OW, C]
 * (OH = ceil(H/2), OW = ceil(W/2)); argmax the maximum's position in its window (dh*2 + dw, the
 * first of equal values, as tfjs), or -1 where the output is 0 (the ReLU lets no gradient through).
 * The normalised activations are never stored. Returns -1 when out of memory. */
int mmrun_batch_norm_relu_pool(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t gamma, uint32_t beta, float eps, uint32_t out,
                               uint32_t argmax, uint32_t mean, uint32_t variance) {
  double *tot = malloc((size_t)C * sizeof(double));
  float *part = malloc((size_t)C * 4 * sizeof(float));
  if (!tot || !part) {
    free(tot);
    free(part);
    return -1;
  }
  float *restrict s = part + C, *restrict t = part + 2 * C, *restrict best = part + 3 * C;
  const float *restrict X = F32(x);
  batch_stats(X, B * H * W, C, F32(gamma), F32(beta), eps, F32(mean), F32(variance), s, t, tot, part);
  int OH = (H + 1) / 2, OW = (W + 1) / 2;
  float *restrict O = F32(out);
  int32_t *restrict A = (int32_t *)(heap + argmax);
  for (int b = 0; b < B; b++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        int64_t o = (((int64_t)b * OH + oh) * OW + ow) * C;
        float *restrict po = O + o;
        int32_t *restrict pa = A + o;
        const float *restrict x0 = X + (((int64_t)b * H + 2 * oh) * W + 2 * ow) * C;
        if (2 * oh + 1 < H && 2 * ow + 1 < W) {
          /* a whole window: all four values in registers, no state in memory */
          const float *restrict x1 = x0 + C, *restrict x2 = x0 + (int64_t)W * C, *restrict x3 = x2 + C;
          int c = 0;
          for (; c + 8 <= C; c += 8) {
            v8 sv = *(const v8u *)(s + c), tv = *(const v8u *)(t + c);
            v8 v[4] = {*(const v8u *)(x0 + c) * sv + tv, *(const v8u *)(x1 + c) * sv + tv, *(const v8u *)(x2 + c) * sv + tv,
                       *(const v8u *)(x3 + c) * sv + tv};
            v8 m = {0};
            v8i a = {-1, -1, -1, -1, -1, -1, -1, -1};
            for (int k = 0; k < 4; k++) {
              v8i gt = v[k] > m;
              m = (v8)(((v8i)v[k] & gt) | ((v8i)m & ~gt));
              a = ((v8i){k, k, k, k, k, k, k, k} & gt) | (a & ~gt);
            }
            *(v8u *)(po + c) = m;
            *(v8i_u *)(pa + c) = a;
          }
          for (; c < C; c++) {
            float m = 0;
            int32_t a = -1;
            const float v[4] = {x0[c] * s[c] + t[c], x1[c] * s[c] + t[c], x2[c] * s[c] + t[c], x3[c] * s[c] + t[c]};
            for (int k = 0; k < 4; k++)
              if (v[k] > m) {
                m = v[k];
                a = k;
              }
            po[c] = m;
            pa[c] = a;
          }
          continue;
        }
        for (int c = 0; c < C; c++) {
          best[c] = 0;
          pa[c] = -1;
        }
        for (int k = 0; k < 4; k++) {
          int ih = 2 * oh + (k >> 1), iw = 2 * ow + (k & 1);
          if (ih >= H || iw >= W) continue;
          const float *restrict xr = X + (((int64_t)b * H + ih) * W + iw) * C;
          for (int c = 0; c < C; c++) {
            float v = xr[c] * s[c] + t[c];
            int better = v > best[c];
            best[c] = better ? v : best[c];
            pa[c] = better ? k : pa[c];
          }
        }
        for (int c = 0; c < C; c++) po[c] = best[c];
      }
  free(tot);
  free(part);
  return 0;
}

/* Gradient of mmrun_batch_norm_relu_pool: dn is dout at each window's argmax (nothing elsewhere),
 * then as mmrun_batch_norm_grad. Two passes over x. Returns -1 when out of memory. */
int mmrun_batch_norm_relu_pool_grad(uint8_t *heap, uint32_t dout, uint32_t argmax, uint32_t x, int B, int H, int W, int C, uint32_t gamma,
                                    uint32_t mean, uint32_t variance, uint32_t dmean, uint32_t dvar, float eps, uint32_t dx, uint32_t dgamma,
                                    uint32_t dbeta) {
  const float *restrict DO = F32(dout), *restrict X = F32(x);
  const int32_t *restrict A = (const int32_t *)(heap + argmax);
  double *tot = malloc((size_t)C * 2 * sizeof(double));
  float *part = malloc((size_t)C * 6 * sizeof(float));
  if (!tot || !part) {
    free(tot);
    free(part);
    return -1;
  }
  double *restrict tn = tot, *restrict tnx = tot + C;
  float *restrict pn = part, *restrict pnx = part + C, *restrict m = part + 2 * C;
  float *restrict a = part + 3 * C, *restrict bx = part + 4 * C, *restrict k = part + 5 * C;
  const float *M = F32(mean);
  for (int c = 0; c < C; c++) {
    tn[c] = tnx[c] = 0;
    m[c] = M[c];
  }
  int OH = (H + 1) / 2, OW = (W + 1) / 2;
  /* sums of dn and dn * (x - mean), in float per output row of windows, then double */
  for (int b = 0; b < B; b++)
    for (int oh = 0; oh < OH; oh++) {
      for (int c = 0; c < C; c++) pn[c] = pnx[c] = 0;
      for (int ow = 0; ow < OW; ow++) {
        int64_t o = (((int64_t)b * OH + oh) * OW + ow) * C;
        const float *restrict g = DO + o;
        const int32_t *restrict pa = A + o;
        int c0 = 0;
        if (2 * oh + 1 < H && 2 * ow + 1 < W) {
          /* a whole window: dy and argmax loaded once for its four pixels */
          const float *restrict x0 = X + (((int64_t)b * H + 2 * oh) * W + 2 * ow) * C, *restrict x2 = x0 + (int64_t)W * C;
          const float *xs[4] = {x0, x0 + C, x2, x2 + C};
          for (; c0 + 8 <= C; c0 += 8) {
            v8 gv = *(const v8u *)(g + c0), mv = *(const v8u *)(m + c0), sn = {0}, snx = {0};
            v8i av = *(const v8i_u *)(pa + c0);
            for (int q = 0; q < 4; q++) {
              v8 d = (v8)((v8i)gv & (av == (v8i){q, q, q, q, q, q, q, q}));
              sn += d;
              snx += d * (*(const v8u *)(xs[q] + c0) - mv);
            }
            *(v8u *)(pn + c0) += sn;
            *(v8u *)(pnx + c0) += snx;
          }
        }
        for (int q = 0; q < 4; q++) {
          int ih = 2 * oh + (q >> 1), iw = 2 * ow + (q & 1);
          if (ih >= H || iw >= W) continue;
          const float *restrict xr = X + (((int64_t)b * H + ih) * W + iw) * C;
          for (int c = c0; c < C; c++) {
            float d = pa[c] == q ? g[c] : 0.0f;
            pn[c] += d;
            pnx[c] += d * (xr[c] - m[c]);
          }
        }
      }
      for (int c = 0; c < C; c++) {
        tn[c] += pn[c];
        tnx[c] += pnx[c];
      }
    }
  grad_coefficients(B * H * W, C, tn, tnx, F32(gamma), F32(variance), F32(dmean), F32(dvar), eps, F32(dgamma), F32(dbeta), a, bx, k);
  float *restrict D = F32(dx);
  for (int b = 0; b < B; b++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        int64_t o = (((int64_t)b * OH + oh) * OW + ow) * C;
        const float *restrict g = DO + o;
        const int32_t *restrict pa = A + o;
        int c0 = 0;
        if (2 * oh + 1 < H && 2 * ow + 1 < W) {
          int64_t r0 = (((int64_t)b * H + 2 * oh) * W + 2 * ow) * C, r2 = r0 + (int64_t)W * C;
          const int64_t rs[4] = {r0, r0 + C, r2, r2 + C};
          for (; c0 + 8 <= C; c0 += 8) {
            v8 gv = *(const v8u *)(g + c0), mv = *(const v8u *)(m + c0), av8 = *(const v8u *)(a + c0), bv = *(const v8u *)(bx + c0),
               kv = *(const v8u *)(k + c0);
            v8i am = *(const v8i_u *)(pa + c0);
            for (int q = 0; q < 4; q++) {
              v8 d = (v8)((v8i)gv & (am == (v8i){q, q, q, q, q, q, q, q}));
              *(v8u *)(D + rs[q] + c0) = av8 * d + bv * (*(const v8u *)(X + rs[q] + c0) - mv) + kv;
            }
          }
        }
        for (int q = 0; q < 4; q++) {
          int ih = 2 * oh + (q >> 1), iw = 2 * ow + (q & 1);
          if (ih >= H || iw >= W) continue;
          int64_t r = (((int64_t)b * H + ih) * W + iw) * C;
          const float *restrict xr = X + r;
          float *restrict dr = D + r;
          for (int c = c0; c < C; c++) {
            float d = pa[c] == q ? g[c] : 0.0f;
            dr[c] = a[c] * d + bx[c] * (xr[c] - m[c]) + k[c];
          }
        }
      }
  free(tot);
  free(part);
  return 0;
}

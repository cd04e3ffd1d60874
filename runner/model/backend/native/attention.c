/* Multi-head self-attention in one call each way, on the packed projection qkv [B*L, 3W] (W = H*D):
 * for sequence b and head h, q(l, d) = qkv[(b*L + l)*3W + h*D + d], k the same at +W, v at +2W.
 * Every product is a GEMM over strided views of qkv (gemm.h), so no head is split out or
 * transposed in memory. probs [B, H, L, L] keeps the softmax for the backward pass. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "gemm.h"
#include "heap.h"
#include "vec.h"

/* Where head h of sequence b starts in qkv (q; k at +W, v at +2W), with the row stride 3W. */
typedef struct {
  float *q, *k, *v;
  ptrdiff_t rs;
} head_view;

static head_view head_of(float *qkv, int b, int h, int L, int H, int D) {
  ptrdiff_t W = (ptrdiff_t)H * D;
  float *base = qkv + (ptrdiff_t)b * L * 3 * W + (ptrdiff_t)h * D;
  return (head_view){base, base + W, base + 2 * W, 3 * W};
}

static inline v16 vmax(v16 a, v16 b) {
  v16i gt = a > b;
  return (v16)(((v16i)a & gt) | ((v16i)b & ~gt));
}

/* In place on one row of n scores: p(j) = softmax_j(scale*s(j) + bias[j]), the row maximum
 * subtracted before exp (so a row whose keys are all masked becomes uniform, as in tfjs).
 * tmp (64-byte aligned) holds n rounded up to 16 floats. */
static void softmax_row(float *row, int n, float scale, const float *bias, float *tmp) {
  int n16 = (n + 15) & ~15, j = 0;
  v16 vm = (v16){0} - INFINITY;
  for (; j + 16 <= n; j += 16) {
    v16 x = *(const v16u *)(row + j) * scale;
    if (bias) x += *(const v16u *)(bias + j);
    *(v16 *)(tmp + j) = x;
    vm = vmax(vm, x);
  }
  float m = -INFINITY;
  for (int l = 0; l < 16; l++) m = vm[l] > m ? vm[l] : m;
  for (; j < n; j++) {
    float x = row[j] * scale + (bias ? bias[j] : 0.0f);
    tmp[j] = x;
    m = x > m ? x : m;
  }
  for (; j < n16; j++) tmp[j] = -INFINITY;
  v16 sum = (v16){0};
  for (j = 0; j < n16; j += 16) {
    v16 e = exp16(*(v16 *)(tmp + j) - m);
    *(v16 *)(tmp + j) = e;
    sum += e;
  }
  float total = 0;
  for (int l = 0; l < 16; l++) total += sum[l];
  float inv = 1.0f / total;
  for (j = 0; j + 16 <= n; j += 16) *(v16u *)(row + j) = *(v16 *)(tmp + j) * inv;
  for (; j < n; j++) row[j] = tmp[j] * inv;
}

/* Keys past the last column of P with a nonzero entry get no weight from any query (masked
 * padding at the end of a sequence): the products below stop there. */
static int live_keys(const float *P, int L) {
  int n = L;
  for (; n > 1; n--) {
    const float *col = P + n - 1;
    int i = 0;
    while (i < L && col[(ptrdiff_t)i * L] == 0.0f) i++;
    if (i < L) break;
  }
  return n;
}

/* For each (b, h): P = softmax(scale * Q.K^T + keyBias[b]) into probs, then out(b, :, h) = P.V.
 * keyBias [B, L] is added per key (0 = none); out is [B*L, W] with head h in columns h*D..h*D+D-1. */
int mmrun_attention_forward(uint8_t *heap, uint32_t qkv, uint32_t keyBias, int B, int L, int H, int D, float scale, uint32_t out,
                            uint32_t probs) {
  if (B <= 0 || L <= 0 || H <= 0 || D <= 0) return 0;
  ptrdiff_t W = (ptrdiff_t)H * D;
  float *tmp = aligned_alloc(64, (size_t)((L + 15) & ~15) * sizeof(float));
  if (!tmp) return -1;
  int r = 0;
  for (int b = 0; b < B && !r; b++) {
    const float *bias = keyBias ? F32(keyBias) + (ptrdiff_t)b * L : NULL;
    for (int h = 0; h < H && !r; h++) {
      head_view hv = head_of(F32(qkv), b, h, L, H, D);
      float *P = F32(probs) + ((ptrdiff_t)b * H + h) * L * L;
      /* S = Q.K^T: a(i, d) = q(i, d), b(d, j) = k(j, d) */
      mmrun_strided q = {hv.q, hv.rs, 1};
      r |= mmrun_gemm_core(L, L, D, mmrun_pack_strided, &q, hv.k, 1, hv.rs, P, L, 0, NULL);
      for (int i = 0; i < L; i++) softmax_row(P + (ptrdiff_t)i * L, L, scale, bias, tmp);
      /* O = P.V over the live keys: a(i, j) = p(i, j), b(j, d) = v(j, d) */
      int n = live_keys(P, L);
      mmrun_strided p = {P, L, 1};
      r |= mmrun_gemm_core(L, D, n, mmrun_pack_strided, &p, hv.v, hv.rs, 1, F32(out) + (ptrdiff_t)b * L * W + (ptrdiff_t)h * D, W, 0, NULL);
    }
  }
  free(tmp);
  return r ? -1 : 0;
}

/* Rows from..L-1 of an L x D block with row stride rs set to 0. */
static void zero_rows(float *x, int from, int L, int D, ptrdiff_t rs) {
  for (int i = from; i < L; i++)
    for (int d = 0; d < D; d++) x[i * rs + d] = 0;
}

/* dqkv [B*L, 3W] (every element written) from dout [B*L, W] and the forward's probs, per (b, h),
 * with the n live keys (the rest have p = 0, hence zero dV, dS and dK):
 *   dV = P^T.dO,  dP = dO.V^T,  dS = scale * P (.) (dP - rowsum(dP (.) P)),  dQ = dS.K,  dK = dS^T.Q. */
int mmrun_attention_backward(uint8_t *heap, uint32_t dout, uint32_t qkv, uint32_t probs, int B, int L, int H, int D, float scale,
                             uint32_t dqkv) {
  if (B <= 0 || L <= 0 || H <= 0 || D <= 0) return 0;
  ptrdiff_t W = (ptrdiff_t)H * D;
  float *dS = malloc((size_t)L * L * sizeof(float));
  if (!dS) return -1;
  int r = 0;
  for (int b = 0; b < B && !r; b++) {
    for (int h = 0; h < H && !r; h++) {
      head_view hv = head_of(F32(qkv), b, h, L, H, D);
      head_view dh = head_of(F32(dqkv), b, h, L, H, D);
      const float *P = F32(probs) + ((ptrdiff_t)b * H + h) * L * L;
      const float *dO = F32(dout) + (ptrdiff_t)b * L * W + (ptrdiff_t)h * D;
      int n = live_keys(P, L);
      /* dV = P^T.dO: a(j, i) = p(i, j), b(i, d) = dO(i, d) */
      mmrun_strided pt = {P, 1, L};
      r |= mmrun_gemm_core(n, D, L, mmrun_pack_strided, &pt, dO, W, 1, dh.v, dh.rs, 0, NULL);
      zero_rows(dh.v, n, L, D, dh.rs);
      /* dP = dO.V^T (L x n, row stride n): a(i, d) = dO(i, d), b(d, j) = v(j, d) */
      mmrun_strided o = {dO, W, 1};
      r |= mmrun_gemm_core(L, n, D, mmrun_pack_strided, &o, hv.v, 1, hv.rs, dS, n, 0, NULL);
      /* softmax backward, in place on dP */
      for (int i = 0; i < L; i++) {
        const float *p = P + (ptrdiff_t)i * L;
        float *g = dS + (ptrdiff_t)i * n;
        float dot = 0;
        for (int j = 0; j < n; j++) dot += g[j] * p[j];
        for (int j = 0; j < n; j++) g[j] = scale * p[j] * (g[j] - dot);
      }
      /* dQ = dS.K: a(i, j) = dS(i, j), b(j, d) = k(j, d) */
      mmrun_strided s = {dS, n, 1};
      r |= mmrun_gemm_core(L, D, n, mmrun_pack_strided, &s, hv.k, hv.rs, 1, dh.q, dh.rs, 0, NULL);
      /* dK = dS^T.Q: a(j, i) = dS(i, j), b(i, d) = q(i, d) */
      mmrun_strided st = {dS, 1, n};
      r |= mmrun_gemm_core(n, D, L, mmrun_pack_strided, &st, hv.q, hv.rs, 1, dh.k, dh.rs, 0, NULL);
      zero_rows(dh.k, n, L, D, dh.rs);
    }
  }
  free(dS);
  return r ? -1 : 0;
}

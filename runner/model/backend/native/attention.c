/* Multi-head self-attention in one call each way, on the packed projection qkv [B*L, 3W] (W = H*D):
 * for sequence b and head h, q(l, d) = qkv[(b*L + l)*3W + h*D + d], k the same at +W, v at +2W.
 * Every product is a GEMM over strided views of qkv (gemm.h), so no head is split out or
 * transposed in memory. probs [B, H, L, L] keeps the softmax for the backward pass. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "heap.h"
#include "vec.h"

#define ALWAYS_INLINE_ATT static inline __attribute__((always_inline))

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

/* Rows from..L-1 of an L x D block with row stride rs set to 0. */
static void zero_rows(float *x, int from, int L, int D, ptrdiff_t rs) {
  for (int i = from; i < L; i++)
    for (int d = 0; d < D; d++) x[i * rs + d] = 0;
}

/* ---- Fast path for head widths that are a multiple of 8 (every preset's): the per-head
 * products are a few dozen rows deep, so a general GEMM call per product (B packing, tile
 * dispatch, partial-tile stores) cost more than the arithmetic. Instead every product here has
 * the form C[i][0:n] = sum_k a(i, k) * B[k][0:n] with B's rows contiguous and n a multiple of 8:
 * rows of C accumulate in 8-float vectors, B's row k loaded once per pair of rows of C. Operands
 * that are not in that form are transposed into scratch first (K^T, V^T, P^T, dS^T: L x L or
 * D x L, a few KB). */

#define RV_MAXV 4 /* vectors per row of C per pass: 2 rows x 4 = 8 accumulators + 4 B vectors */

ALWAYS_INLINE_ATT void rv_tile(const int R, const int NV, int K, const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb, float *C,
                               ptrdiff_t ldc) {
  v8 acc[2][RV_MAXV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = (v8){0};
  for (int k = 0; k < K; k++) {
    const float *b = B + (ptrdiff_t)k * ldb;
    v8 bv[RV_MAXV];
    for (int v = 0; v < NV; v++) bv[v] = *(const v8u *)(b + 8 * v);
    for (int r = 0; r < R; r++) {
      v8 a = splat8(A[(ptrdiff_t)r * lda + k]);
      for (int v = 0; v < NV; v++) acc[r][v] += a * bv[v];
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) *(v8u *)(C + (ptrdiff_t)r * ldc + 8 * v) = acc[r][v];
}

/* C[i][0:n] = sum_{k<K} A[i*lda + k] * B[k*ldb + 0:n] for i < M; n % 8 == 0. K == 0 writes zeros. */
static void rowvec_product(int M, int n, int K, const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc) {
  for (int j0 = 0; j0 < n; j0 += 8 * RV_MAXV) {
    int nv = (n - j0) / 8 < RV_MAXV ? (n - j0) / 8 : RV_MAXV;
    const float *b = B + j0;
    float *c = C + j0;
    int i = 0;
    switch (nv) {
#define RV_CASE(NV)                                                                                                                  \
  case NV:                                                                                                                           \
    for (; i + 2 <= M; i += 2) rv_tile(2, NV, K, A + (ptrdiff_t)i * lda, lda, b, ldb, c + (ptrdiff_t)i * ldc, ldc);                  \
    if (i < M) rv_tile(1, NV, K, A + (ptrdiff_t)i * lda, lda, b, ldb, c + (ptrdiff_t)i * ldc, ldc);                                  \
    break;
      RV_CASE(1)
      RV_CASE(2)
      RV_CASE(3)
      RV_CASE(4)
#undef RV_CASE
    }
  }
}

/* dst[j*ldd + i] = src[i*lds + j] for i < rows, j < cols. */
static void transpose_into(const float *src, ptrdiff_t lds, int rows, int cols, float *dst, ptrdiff_t ldd) {
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) dst[(ptrdiff_t)j * ldd + i] = src[(ptrdiff_t)i * lds + j];
}

static inline v8 vmax8(v8 a, v8 b) {
  v8i gt = a > b;
  return (v8)(((v8i)a & gt) | ((v8i)b & ~gt));
}

/* One row of Lp (multiple of 8) scores in place: softmax_j(scale*s(j) + bias[j]) as softmax_row
 * above; bias is padded with -inf past the L real keys, whose probabilities become 0. Returns the
 * number of keys up to the last nonzero probability. */
static int softmax_row8(float *row, int Lp, float scale, const float *bias) {
  v8 vm = (v8){0} - INFINITY;
  for (int j = 0; j < Lp; j += 8) {
    v8 x = *(v8u *)(row + j) * scale + *(const v8u *)(bias + j);
    *(v8u *)(row + j) = x;
    vm = vmax8(vm, x);
  }
  float m = -INFINITY;
  for (int l = 0; l < 8; l++) m = vm[l] > m ? vm[l] : m;
  v8 sum = (v8){0};
  for (int j = 0; j < Lp; j += 8) {
    v8 e = exp8(*(v8u *)(row + j) - m);
    *(v8u *)(row + j) = e;
    sum += e;
  }
  float total = 0;
  for (int l = 0; l < 8; l++) total += sum[l];
  float inv = 1.0f / total;
  int live = 0;
  for (int j = 0; j < Lp; j += 8) {
    v8 p = *(v8u *)(row + j) * inv;
    *(v8u *)(row + j) = p;
    for (int l = 0; l < 8; l++)
      if (p[l] != 0.0f) live = j + l + 1;
  }
  return live;
}

/* Scratch floats the per-sequence functions below need for sequences of up to L tokens. */
static size_t seq_scratch_floats(int L, int D) {
  size_t Lp = (size_t)((L + 7) & ~7);
  return 3 * Lp * Lp + (size_t)D * Lp + Lp;
}

/* One sequence of L tokens, all H heads: qkv at its first row (row stride 3W), keyBias [L] or
 * NULL, out at its first row (row stride W), P [H, L, L]. */
static void seq_forward_fast(const float *qkv, int L, int H, int D, float scale, const float *keyBias, float *out, float *probs,
                             float *scratch) {
  ptrdiff_t W = (ptrdiff_t)H * D;
  int Lp = (L + 7) & ~7;
  float *S = scratch, *KT = S + (size_t)Lp * Lp, *bias = KT + (size_t)D * Lp;
  for (int j = 0; j < Lp; j++) bias[j] = j >= L ? -INFINITY : keyBias ? keyBias[j] : 0.0f;
  for (size_t i = 0; i < (size_t)D * Lp; i++) KT[i] = 0;
  for (int h = 0; h < H; h++) {
    head_view hv = head_of((float *)qkv, 0, h, L, H, D);
    float *P = probs + (ptrdiff_t)h * L * L;
    transpose_into(hv.k, hv.rs, L, D, KT, Lp);
    /* S = Q.K^T, then each row's softmax in place */
    rowvec_product(L, Lp, D, hv.q, hv.rs, KT, Lp, S, Lp);
    int live = 1;
    for (int i = 0; i < L; i++) {
      float *row = S + (ptrdiff_t)i * Lp;
      int n = softmax_row8(row, Lp, scale, bias);
      live = n > live ? n : live;
      memcpy(P + (ptrdiff_t)i * L, row, (size_t)L * sizeof(float));
    }
    /* O = P.V over the live keys */
    rowvec_product(L, D, live, S, Lp, hv.v, hv.rs, out + (ptrdiff_t)h * D, W);
  }
}

/* The backward of seq_forward_fast: dqkv (same layout as qkv) from dout (row stride W) and P. */
static void seq_backward_fast(const float *dout, const float *qkv, const float *probs, int L, int H, int D, float scale, float *dqkv,
                              float *scratch) {
  ptrdiff_t W = (ptrdiff_t)H * D;
  int Lp = (L + 7) & ~7;
  float *PT = scratch, *dS = PT + (size_t)Lp * Lp, *dST = dS + (size_t)Lp * Lp, *VT = dST + (size_t)Lp * Lp;
  for (int h = 0; h < H; h++) {
    head_view hv = head_of((float *)qkv, 0, h, L, H, D);
    head_view dh = head_of(dqkv, 0, h, L, H, D);
    const float *P = probs + (ptrdiff_t)h * L * L;
    const float *dO = dout + (ptrdiff_t)h * D;
    int n = live_keys(P, L), np = (n + 7) & ~7;
    /* dV = P^T.dO over the live keys; the rest are 0 */
    transpose_into(P, L, L, n, PT, L);
    rowvec_product(n, D, L, PT, L, dO, W, dh.v, dh.rs);
    zero_rows(dh.v, n, L, D, dh.rs);
    /* dP = dO.V^T (L x np; columns past n are 0) */
    for (int d = 0; d < D; d++) {
      float *vt = VT + (ptrdiff_t)d * np;
      for (int j = 0; j < n; j++) vt[j] = hv.v[(ptrdiff_t)j * hv.rs + d];
      for (int j = n; j < np; j++) vt[j] = 0;
    }
    rowvec_product(L, np, D, dO, W, VT, np, dS, np);
    /* softmax backward, in place on dP */
    for (int i = 0; i < L; i++) {
      const float *p = P + (ptrdiff_t)i * L;
      float *g = dS + (ptrdiff_t)i * np;
      v8 vdot = (v8){0};
      int j = 0;
      for (; j + 8 <= n; j += 8) vdot += *(const v8u *)(g + j) * *(const v8u *)(p + j);
      float dot = 0;
      for (int l = 0; l < 8; l++) dot += vdot[l];
      for (; j < n; j++) dot += g[j] * p[j];
      v8 vd = splat8(dot), vs = splat8(scale);
      for (j = 0; j + 8 <= n; j += 8) *(v8u *)(g + j) = vs * *(const v8u *)(p + j) * (*(v8u *)(g + j) - vd);
      for (; j < n; j++) g[j] = scale * p[j] * (g[j] - dot);
    }
    /* dQ = dS.K, dK = dS^T.Q */
    rowvec_product(L, D, n, dS, np, hv.k, hv.rs, dh.q, dh.rs);
    transpose_into(dS, np, L, n, dST, L);
    rowvec_product(n, D, L, dST, L, hv.q, hv.rs, dh.k, dh.rs);
    zero_rows(dh.k, n, L, D, dh.rs);
  }
}

static float *seq_scratch(int L, int D) {
  return aligned_alloc(64, (seq_scratch_floats(L, D) * sizeof(float) + 63) / 64 * 64);
}

static int attention_forward_fast(uint8_t *heap, uint32_t qkv, uint32_t keyBias, int B, int L, int H, int D, float scale, uint32_t out,
                                  uint32_t probs) {
  ptrdiff_t W = (ptrdiff_t)H * D;
  float *scratch = seq_scratch(L, D);
  if (!scratch) return -1;
  for (int b = 0; b < B; b++)
    seq_forward_fast(F32(qkv) + (ptrdiff_t)b * L * 3 * W, L, H, D, scale, keyBias ? F32(keyBias) + (ptrdiff_t)b * L : NULL,
                     F32(out) + (ptrdiff_t)b * L * W, F32(probs) + (ptrdiff_t)b * H * L * L, scratch);
  free(scratch);
  return 0;
}

static int attention_backward_fast(uint8_t *heap, uint32_t dout, uint32_t qkv, uint32_t probs, int B, int L, int H, int D, float scale,
                                   uint32_t dqkv) {
  ptrdiff_t W = (ptrdiff_t)H * D;
  float *scratch = seq_scratch(L, D);
  if (!scratch) return -1;
  for (int b = 0; b < B; b++)
    seq_backward_fast(F32(dout) + (ptrdiff_t)b * L * W, F32(qkv) + (ptrdiff_t)b * L * 3 * W, F32(probs) + (ptrdiff_t)b * H * L * L, L, H, D,
                      scale, F32(dqkv) + (ptrdiff_t)b * L * 3 * W, scratch);
  free(scratch);
  return 0;
}

/* Packed sequences (no padding rows): sequence b is rows offsets[b]..offsets[b+1]-1 of qkv
 * [rows, 3W] and out [rows, W]; every key is real, so there is no key bias. probs holds, per
 * sequence in order, its [H, L_b, L_b] probabilities (sum of H * L_b^2 floats). Head width D must
 * be a multiple of 8. */
static int max_length(const int32_t *offsets, int B) {
  int m = 1;
  for (int b = 0; b < B; b++) m = offsets[b + 1] - offsets[b] > m ? offsets[b + 1] - offsets[b] : m;
  return m;
}

int mmrun_attention_packed_forward(uint8_t *heap, uint32_t qkv, uint32_t offsets, int B, int H, int D, float scale, uint32_t out,
                                   uint32_t probs) {
  if (B <= 0 || H <= 0 || D <= 0 || D % 8) return D % 8 ? -2 : 0;
  const int32_t *off = (const int32_t *)(heap + offsets);
  ptrdiff_t W = (ptrdiff_t)H * D;
  float *scratch = seq_scratch(max_length(off, B), D);
  if (!scratch) return -1;
  ptrdiff_t p = 0;
  for (int b = 0; b < B; b++) {
    int L = off[b + 1] - off[b];
    if (L <= 0) continue;
    seq_forward_fast(F32(qkv) + (ptrdiff_t)off[b] * 3 * W, L, H, D, scale, NULL, F32(out) + (ptrdiff_t)off[b] * W, F32(probs) + p, scratch);
    p += (ptrdiff_t)H * L * L;
  }
  free(scratch);
  return 0;
}

int mmrun_attention_packed_backward(uint8_t *heap, uint32_t dout, uint32_t qkv, uint32_t offsets, uint32_t probs, int B, int H, int D,
                                    float scale, uint32_t dqkv) {
  if (B <= 0 || H <= 0 || D <= 0 || D % 8) return D % 8 ? -2 : 0;
  const int32_t *off = (const int32_t *)(heap + offsets);
  ptrdiff_t W = (ptrdiff_t)H * D;
  float *scratch = seq_scratch(max_length(off, B), D);
  if (!scratch) return -1;
  ptrdiff_t p = 0;
  for (int b = 0; b < B; b++) {
    int L = off[b + 1] - off[b];
    if (L <= 0) continue;
    seq_backward_fast(F32(dout) + (ptrdiff_t)off[b] * W, F32(qkv) + (ptrdiff_t)off[b] * 3 * W, F32(probs) + p, L, H, D, scale,
                      F32(dqkv) + (ptrdiff_t)off[b] * 3 * W, scratch);
    p += (ptrdiff_t)H * L * L;
  }
  free(scratch);
  return 0;
}

/* For each (b, h): P = softmax(scale * Q.K^T + keyBias[b]) into probs, then out(b, :, h) = P.V.
 * keyBias [B, L] is added per key (0 = none); out is [B*L, W] with head h in columns h*D..h*D+D-1. */
int mmrun_attention_forward(uint8_t *heap, uint32_t qkv, uint32_t keyBias, int B, int L, int H, int D, float scale, uint32_t out,
                            uint32_t probs) {
  if (B <= 0 || L <= 0 || H <= 0 || D <= 0) return 0;
  if (D % 8 == 0) return attention_forward_fast(heap, qkv, keyBias, B, L, H, D, scale, out, probs);
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


/* dqkv [B*L, 3W] (every element written) from dout [B*L, W] and the forward's probs, per (b, h),
 * with the n live keys (the rest have p = 0, hence zero dV, dS and dK):
 *   dV = P^T.dO,  dP = dO.V^T,  dS = scale * P (.) (dP - rowsum(dP (.) P)),  dQ = dS.K,  dK = dS^T.Q. */
int mmrun_attention_backward(uint8_t *heap, uint32_t dout, uint32_t qkv, uint32_t probs, int B, int L, int H, int D, float scale,
                             uint32_t dqkv) {
  if (B <= 0 || L <= 0 || H <= 0 || D <= 0) return 0;
  if (D % 8 == 0) return attention_backward_fast(heap, dout, qkv, probs, B, L, H, D, scale, dqkv);
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

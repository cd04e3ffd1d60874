/* 2-D convolutions (NHWC, filters [KH, KW, CI, CO]) as GEMMs over an implicit im2col matrix, so the
 * column matrix (KH*KW times the input) is never materialised: the forward product reads the
 * input through row pointers (one per output pixel and filter tap), the filter gradient packs
 * its transposed column panels window by window. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"
#include "heap.h"

typedef struct {
  const float *x;
  int H, W, C, KH, KW, sh, sw, pt, pl, dh, dw, OH, OW;
} conv_geom;

/* Output pixel p (row-major over B, OH, OW) and where its window starts in the input. */
typedef struct {
  int b, oh, ow;
} pixel_pos;

static inline pixel_pos pixel_at(const conv_geom *g, int p) {
  pixel_pos r;
  r.ow = p % g->OW;
  int t = p / g->OW;
  r.oh = t % g->OH;
  r.b = t / g->OH;
  return r;
}

static inline void pixel_next(const conv_geom *g, pixel_pos *r) {
  if (++r->ow == g->OW) {
    r->ow = 0;
    if (++r->oh == g->OH) {
      r->oh = 0;
      r->b++;
    }
  }
}

/* Whether the whole window starting at (ih0, iw0) lies inside the input (no padding to test). */
static inline int inside(const conv_geom *g, int ih0, int iw0) {
  return ih0 >= 0 && iw0 >= 0 && ih0 + (g->KH - 1) * g->dh < g->H && iw0 + (g->KW - 1) * g->dw < g->W;
}

/* A run of consecutive q = (kh*KW + kw)*C + ci inside one filter tap. */
typedef struct {
  int k, len, offh, offw, ci;
} tap_run;

/* Splits [k0, k0+kc) into runs within one tap (at most kc/C + 2 of them). */
static int tap_runs(const conv_geom *g, int k0, int kc, tap_run *runs) {
  int n = 0, q = k0, end = k0 + kc;
  int tap = q / g->C, ci = q - tap * g->C;
  while (q < end) {
    int len = g->C - ci < end - q ? g->C - ci : end - q;
    runs[n++] = (tap_run){q - k0, len, (tap / g->KW) * g->dh, (tap % g->KW) * g->dw, ci};
    q += len;
    tap++;
    ci = 0;
  }
  return n;
}

/* a(p, q) with p an output pixel and q = (kh*KW + kw)*C + ci, the forward convolution's A, given as
 * row pointers: within one filter tap a row's values are C contiguous input channels (or padding). */
static int rows_pixels(const void *ctx, int i0, int mr, int k0, int kc, mmrun_run *runs, const float **rows) {
  const conv_geom *g = ctx;
  tap_run taps[MMRUN_KC + 2];
  int nruns = tap_runs(g, k0, kc, taps);
  for (int r = 0; r < nruns; r++) runs[r] = (mmrun_run){taps[r].k, taps[r].len};
  pixel_pos pos = pixel_at(g, i0);
  for (int i = 0; i < 2 * MMRUN_MR; i++) {
    if (i >= mr) {
      for (int r = 0; r < nruns; r++) rows[r * 2 * MMRUN_MR + i] = mmrun_zeros;
      continue;
    }
    const float *img = g->x + (ptrdiff_t)pos.b * g->H * g->W * g->C;
    int ih0 = pos.oh * g->sh - g->pt, iw0 = pos.ow * g->sw - g->pl;
    for (int r = 0; r < nruns; r++) {
      int ih = ih0 + taps[r].offh, iw = iw0 + taps[r].offw;
      rows[r * 2 * MMRUN_MR + i] = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W ? img + ((ptrdiff_t)ih * g->W + iw) * g->C + taps[r].ci : mmrun_zeros;
    }
    pixel_next(g, &pos);
  }
  return nruns;
}

/* The filter gradient's B: b(p, q) = a(p, q), the im2col matrix, packed panel by panel; within a
 * panel each pixel contributes runs of contiguous input channels (or zeros for padding). */
static void pack_b_columns(const void *ctx, int k0, int kc, int j0, int nr, int width, float *dst) {
  const conv_geom *g = ctx;
  tap_run taps[MMRUN_KC + 2];
  int nruns = tap_runs(g, j0, nr, taps);
  pixel_pos pos = pixel_at(g, k0);
  for (int k = 0; k < kc; k++, pixel_next(g, &pos)) {
    const float *img = g->x + (ptrdiff_t)pos.b * g->H * g->W * g->C;
    int ih0 = pos.oh * g->sh - g->pt, iw0 = pos.ow * g->sw - g->pl;
    float *d = dst + (ptrdiff_t)k * width;
    if (inside(g, ih0, iw0)) {
      for (int r = 0; r < nruns; r++) {
        const tap_run *t = &taps[r];
        const float *s = img + ((ptrdiff_t)(ih0 + t->offh) * g->W + iw0 + t->offw) * g->C + t->ci;
        for (int j = 0; j < t->len; j++) d[t->k + j] = s[j];
      }
      if (nr < width) memset(d + nr, 0, (size_t)(width - nr) * 4);
      continue;
    }
    for (int r = 0; r < nruns; r++) {
      const tap_run *t = &taps[r];
      int ih = ih0 + t->offh, iw = iw0 + t->offw;
      float *o = d + t->k;
      if (ih >= 0 && ih < g->H && iw >= 0 && iw < g->W) {
        const float *s = img + ((ptrdiff_t)ih * g->W + iw) * g->C + t->ci;
        for (int j = 0; j < t->len; j++) o[j] = s[j]; /* short runs: a loop beats a memcpy call */
      } else {
        for (int j = 0; j < t->len; j++) o[j] = 0;
      }
    }
    if (nr < width) memset(d + nr, 0, (size_t)(width - nr) * 4);
  }
}

/* One input channel (a first layer): the transposed column matrix colT[tap][p] is the image
 * shifted by each filter tap, built by row copies (KH*KW times the input: small for one channel). */
static float *columns_one_channel(const conv_geom *g, int B) {
  int P = B * g->OH * g->OW, T = g->KH * g->KW;
  float *colT = malloc((size_t)T * P * 4);
  if (!colT) return NULL;
  for (int t = 0; t < T; t++) {
    int offh = (t / g->KW) * g->dh - g->pt, offw = (t % g->KW) * g->dw - g->pl;
    float *row = colT + (ptrdiff_t)t * P;
    for (int b = 0; b < B; b++)
      for (int oh = 0; oh < g->OH; oh++, row += g->OW) {
        int ih = oh * g->sh + offh;
        const float *src = g->x + ((ptrdiff_t)b * g->H + ih) * g->W;
        for (int ow = 0; ow < g->OW; ow++) {
          int iw = ow * g->sw + offw;
          row[ow] = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W ? src[iw] : 0;
        }
      }
  }
  return colT;
}

/* dW = colT . dy, reading colT's rows in place. */
static int backprop_filter_one_channel(const conv_geom *g, int B, const float *dy, int CO, float *out) {
  int P = B * g->OH * g->OW, T = g->KH * g->KW;
  float *colT = columns_one_channel(g, B);
  if (!colT) return -1;
  mmrun_strided a = {colT, P, 1};
  int r = mmrun_gemm_core(T, CO, P, mmrun_pack_strided, &a, dy, CO, 1, out, CO, 0, NULL);
  free(colT);
  return r;
}

/* out = colT^T . f (+ bias, ReLU): the forward convolution of a one-channel input. */
static int conv_one_channel(const conv_geom *g, int B, const float *f, int CO, float *out, const mmrun_epilogue *epi) {
  int P = B * g->OH * g->OW, T = g->KH * g->KW;
  float *colT = columns_one_channel(g, B);
  if (!colT) return -1;
  mmrun_strided a = {colT, 1, P};
  int r = mmrun_gemm_core(P, CO, T, mmrun_pack_strided, &a, f, CO, 1, out, CO, 0, epi);
  free(colT);
  return r;
}

/* out[B,OH,OW,CO] = conv(x[B,H,W,C], f[KH,KW,C,CO]) (+ bias, ReLU); pads pt/pl at the top/left (the
 * bottom/right padding follows from OH/OW); bias 0 = none. */
int mmrun_conv2d(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t f, int KH, int KW, int CO, int sh, int sw, int pt, int pl,
                 int dh, int dw, int OH, int OW, uint32_t out, uint32_t bias, int relu) {
  conv_geom g = {F32(x), H, W, C, KH, KW, sh, sw, pt, pl, dh, dw, OH, OW};
  mmrun_epilogue epi = {bias ? F32(bias) : NULL, relu};
  if (C == 1) return conv_one_channel(&g, B, F32(f), CO, F32(out), bias || relu ? &epi : NULL);
  return mmrun_gemm_rows(B * OH * OW, CO, KH * KW * C, rows_pixels, &g, F32(f), CO, 1, F32(out), CO, 0, bias || relu ? &epi : NULL);
}

/* dW[KH,KW,C,CO] = sum over pixels of window(x) outer dy[B,OH,OW,CO], computed transposed
 * (dW^T = dy^T . im2col(x): rows are output channels, so both operands pack contiguously) and then
 * transposed into place. */
int mmrun_conv2d_backprop_filter(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t dy, int KH, int KW, int CO, int sh, int sw,
                                 int pt, int pl, int dh, int dw, int OH, int OW, uint32_t dw_out) {
  conv_geom g = {F32(x), H, W, C, KH, KW, sh, sw, pt, pl, dh, dw, OH, OW};
  if (C == 1) return backprop_filter_one_channel(&g, B, F32(dy), CO, F32(dw_out));
  int Q = KH * KW * C;
  float *t = malloc((size_t)CO * Q * 4);
  if (!t) return -1;
  mmrun_strided dyT = {F32(dy), 1, CO};
  int r = mmrun_gemm_packed_b(CO, Q, B * OH * OW, mmrun_pack_strided, &dyT, pack_b_columns, &g, t, Q, 0, NULL);
  float *out = F32(dw_out);
  for (int co = 0; co < CO; co++)
    for (int q = 0; q < Q; q++) out[(ptrdiff_t)q * CO + co] = t[(ptrdiff_t)co * Q + q];
  free(t);
  return r;
}

/* dx[B,H,W,C] for a stride-1, undilated convolution: dy[B,OH,OW,CO] convolved with the filter
 * flipped in space and transposed in channels, padded by KH-1-pt (top) and KW-1-pl (left). */
int mmrun_conv2d_backprop_input(uint8_t *heap, uint32_t dy, int B, int OH, int OW, int CO, uint32_t f, int KH, int KW, int C, int pt, int pl,
                                int H, int W, uint32_t dx) {
  const float *F = F32(f);
  float *flipped = malloc((size_t)KH * KW * C * CO * 4);
  if (!flipped) return -1;
  for (int kh = 0; kh < KH; kh++)
    for (int kw = 0; kw < KW; kw++) {
      const float *s = F + (ptrdiff_t)((KH - 1 - kh) * KW + (KW - 1 - kw)) * C * CO;
      float *d = flipped + (ptrdiff_t)(kh * KW + kw) * CO * C;
      for (int ci = 0; ci < C; ci++)
        for (int co = 0; co < CO; co++) d[co * C + ci] = s[ci * CO + co];
    }
  conv_geom g = {F32(dy), OH, OW, CO, KH, KW, 1, 1, KH - 1 - pt, KW - 1 - pl, 1, 1, H, W};
  int r = mmrun_gemm_rows(B * H * W, C, KH * KW * CO, rows_pixels, &g, flipped, C, 1, F32(dx), C, 0, NULL);
  free(flipped);
  return r;
}

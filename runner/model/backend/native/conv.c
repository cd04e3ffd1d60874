/* 2-D convolutions (NHWC, filters [KH, KW, CI, CO]) as GEMMs over an implicit im2col matrix: the
 * packers below read the input window by window while packing, so the column matrix
 * (KH*KW times the input) is never materialised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"

#define F32(off) ((float *)(heap + (off)))

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

/* a(p, q) with p an output pixel and q = (kh*KW + kw)*C + ci: the forward convolution's A. */
static void pack_rows_pixels(const void *ctx, int i0, int mr, int k0, int kc, float *dst) {
  const conv_geom *g = ctx;
  tap_run runs[MMRUN_KC + 2];
  int nruns = tap_runs(g, k0, kc, runs);
  pixel_pos pos = pixel_at(g, i0);
  for (int i = 0; i < mr; i++, pixel_next(g, &pos)) {
    const float *img = g->x + (ptrdiff_t)pos.b * g->H * g->W * g->C;
    int ih0 = pos.oh * g->sh - g->pt, iw0 = pos.ow * g->sw - g->pl;
    for (int r = 0; r < nruns; r++) {
      const tap_run *t = &runs[r];
      int ih = ih0 + t->offh, iw = iw0 + t->offw;
      float *d = dst + (ptrdiff_t)t->k * MMRUN_MR + i;
      if (ih >= 0 && ih < g->H && iw >= 0 && iw < g->W) {
        const float *s = img + ((ptrdiff_t)ih * g->W + iw) * g->C + t->ci;
        for (int j = 0; j < t->len; j++) d[j * MMRUN_MR] = s[j];
      } else {
        for (int j = 0; j < t->len; j++) d[j * MMRUN_MR] = 0;
      }
    }
  }
  for (int i = mr; i < MMRUN_MR; i++)
    for (int k = 0; k < kc; k++) dst[k * MMRUN_MR + i] = 0;
}

/* a'(q, p) = a(p, q): the filter gradient's A (rows are filter taps x channels, the reduction runs over pixels). */
static void pack_rows_taps(const void *ctx, int i0, int mr, int k0, int kc, float *dst) {
  const conv_geom *g = ctx;
  int offh[MMRUN_MR], offw[MMRUN_MR], ci[MMRUN_MR];
  for (int i = 0; i < mr; i++) {
    int q = i0 + i, tap = q / g->C;
    ci[i] = q - tap * g->C;
    offh[i] = (tap / g->KW) * g->dh;
    offw[i] = (tap % g->KW) * g->dw;
  }
  /* all mr rows in one tap: their values are contiguous channels of one input pixel */
  int one_tap = ci[0] + mr <= g->C;
  pixel_pos pos = pixel_at(g, k0);
  for (int k = 0; k < kc; k++, pixel_next(g, &pos)) {
    const float *img = g->x + (ptrdiff_t)pos.b * g->H * g->W * g->C;
    int ih0 = pos.oh * g->sh - g->pt, iw0 = pos.ow * g->sw - g->pl;
    float *d = dst + (ptrdiff_t)k * MMRUN_MR;
    int i = 0;
    if (one_tap) {
      int ih = ih0 + offh[0], iw = iw0 + offw[0];
      if (ih >= 0 && ih < g->H && iw >= 0 && iw < g->W) {
        const float *s = img + ((ptrdiff_t)ih * g->W + iw) * g->C + ci[0];
        for (; i < mr; i++) d[i] = s[i];
      } else {
        for (; i < mr; i++) d[i] = 0;
      }
    } else {
      for (; i < mr; i++) {
        int ih = ih0 + offh[i], iw = iw0 + offw[i];
        d[i] = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W ? img[((ptrdiff_t)ih * g->W + iw) * g->C + ci[i]] : 0;
      }
    }
    for (; i < MMRUN_MR; i++) d[i] = 0;
  }
}

/* out[B,OH,OW,CO] = conv(x[B,H,W,C], f[KH,KW,C,CO]) (+ bias, ReLU); pads pt/pl at the top/left (the
 * bottom/right padding follows from OH/OW); bias 0 = none. */
int mmrun_conv2d(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t f, int KH, int KW, int CO, int sh, int sw, int pt, int pl,
                 int dh, int dw, int OH, int OW, uint32_t out, uint32_t bias, int relu) {
  conv_geom g = {F32(x), H, W, C, KH, KW, sh, sw, pt, pl, dh, dw, OH, OW};
  mmrun_epilogue epi = {bias ? F32(bias) : NULL, relu};
  return mmrun_gemm_core(B * OH * OW, CO, KH * KW * C, pack_rows_pixels, &g, F32(f), CO, 1, F32(out), CO, 0, bias || relu ? &epi : NULL);
}

/* dW[KH,KW,C,CO] = sum over pixels of window(x) outer dy[B,OH,OW,CO]. */
int mmrun_conv2d_backprop_filter(uint8_t *heap, uint32_t x, int B, int H, int W, int C, uint32_t dy, int KH, int KW, int CO, int sh, int sw,
                                 int pt, int pl, int dh, int dw, int OH, int OW, uint32_t dw_out) {
  conv_geom g = {F32(x), H, W, C, KH, KW, sh, sw, pt, pl, dh, dw, OH, OW};
  return mmrun_gemm_core(KH * KW * C, CO, B * OH * OW, pack_rows_taps, &g, F32(dy), CO, 1, F32(dw_out), CO, 0, NULL);
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
  int r = mmrun_gemm_core(B * H * W, C, KH * KW * CO, pack_rows_pixels, &g, flipped, C, 1, F32(dx), C, 0, NULL);
  free(flipped);
  return r;
}

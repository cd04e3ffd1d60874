/*
 * mmrun's native CPU kernels: compiled on the user's machine by its C compiler with -march=native
 * (AVX-512 / AVX2 / NEON through GCC vector extensions) and called through koffi on the tfjs wasm
 * backend's own heap: every pointer argument is a byte offset into `heap` (the backend's
 * WebAssembly memory), so tensors are never copied. Same contracts as the WebAssembly kernels in
 * ../simd/wat.ts, which remain the fallback when no compiler is available.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

#define KC 256
#define MR 8

static float *bufA, *bufB; static size_t capA, capB;
/* Packing buffers, grown on demand and kept (one training process runs one kernel at a time). */
static float *grow(float **p, size_t *cap, size_t n) {
  if (n > *cap) {
    free(*p);
    *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
    *cap = *p ? n : 0;
  }
  return *p;
}

/* tile[MR][NR] = sum_k pa[k*MR+i] * pb[k*NR+j]; then C (+)= tile for the valid mr x nr part */
static inline void kernel_8x32(int kc, const float *pa, const float *pb, float *C, int ldc, int mr, int nr, int load) {
  v16 c[MR][2];
  for (int i = 0; i < MR; i++) { c[i][0] = (v16){0}; c[i][1] = (v16){0}; }
  for (int k = 0; k < kc; k++) {
    v16 b0 = *(const v16 *)(pb + k * 32), b1 = *(const v16 *)(pb + k * 32 + 16);
    for (int i = 0; i < MR; i++) { v16 a = (v16){0} + pa[k * MR + i]; c[i][0] += a * b0; c[i][1] += a * b1; }
  }
  if (mr == MR && nr == 32) {
    for (int i = 0; i < MR; i++) {
      v16u *p0 = (v16u *)(C + i * ldc), *p1 = (v16u *)(C + i * ldc + 16);
      if (load) { *p0 += c[i][0]; *p1 += c[i][1]; } else { *p0 = c[i][0]; *p1 = c[i][1]; }
    }
  } else {
    float t[MR][32] __attribute__((aligned(64)));
    for (int i = 0; i < MR; i++) { *(v16 *)t[i] = c[i][0]; *(v16 *)(t[i] + 16) = c[i][1]; }
    for (int i = 0; i < mr; i++) for (int j = 0; j < nr; j++) C[i * ldc + j] = load ? C[i * ldc + j] + t[i][j] : t[i][j];
  }
}

static inline void kernel_16x16(int kc, const float *pa, const float *pb, float *C, int ldc, int mr, int nr, int load) {
  /* pa holds two MR blocks back to back: rows 0..7 then 8..15 */
  v16 c[16];
  for (int i = 0; i < 16; i++) c[i] = (v16){0};
  const float *pa1 = pa + kc * MR;
  for (int k = 0; k < kc; k++) {
    v16 b = *(const v16 *)(pb + k * 16);
    for (int i = 0; i < MR; i++) { c[i] += ((v16){0} + pa[k * MR + i]) * b; c[i + 8] += ((v16){0} + pa1[k * MR + i]) * b; }
  }
  if (mr == 16 && nr == 16) {
    for (int i = 0; i < 16; i++) { v16u *p = (v16u *)(C + i * ldc); if (load) *p += c[i]; else *p = c[i]; }
  } else {
    float t[16][16] __attribute__((aligned(64)));
    for (int i = 0; i < 16; i++) *(v16 *)t[i] = c[i];
    for (int i = 0; i < mr; i++) for (int j = 0; j < nr; j++) C[i * ldc + j] = load ? C[i * ldc + j] + t[i][j] : t[i][j];
  }
}

static void packA(const float *A, int ars, int acs, int i0, int mr, int k0, int kc, float *dst) {
  for (int k = 0; k < kc; k++) {
    const float *src = A + (size_t)(k0 + k) * acs + (size_t)i0 * ars;
    float *d = dst + k * MR;
    int i = 0;
    for (; i < mr; i++) d[i] = src[(size_t)i * ars];
    for (; i < MR; i++) d[i] = 0;
  }
}

/*
 * C[M x N] (+)= A.B with a(i,k) = A[i*ars + k*acs] (a transposed A is ars=1, acs=M) and B
 * row-major K x N with row stride ldb; C has row stride ldc; acc != 0 adds to C.
 * Returns 0, or -1 when the packing buffers cannot be allocated.
 */
int mmrun_gemm(uint8_t *heap, int M, int N, int K, int Aoff, int ars, int acs, int Boff, int ldb, int Coff, int ldc, int acc) {
  const float *A = (const float *)(heap + Aoff), *B = (const float *)(heap + Boff);
  float *C = (float *)(heap + Coff);
  if (M <= 0 || N <= 0) return 0;
  if (K <= 0) { if (!acc) for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * 4); return 0; }
  int full32 = N / 32, rem = N - full32 * 32;
  int p16 = rem > 0 && rem <= 16, p32 = rem > 16;
  int panels = full32 + p32; /* 32-wide panels */
  size_t pbSize = (size_t)KC * 32 * panels + (size_t)KC * 16 * p16;
  float *pb = grow(&bufB, &capB, pbSize + 16);
  float *pa = grow(&bufA, &capA, (size_t)KC * MR * 2 + 16);
  if (!pb || !pa) return -1;
  for (int k0 = 0; k0 < K; k0 += KC) {
    int kc = K - k0 < KC ? K - k0 : KC;
    int load = acc || k0 > 0;
    /* pack B panels */
    for (int p = 0; p < panels; p++) {
      int j0 = p * 32, nr = N - j0 < 32 ? N - j0 : 32;
      float *d = pb + (size_t)p * KC * 32;
      for (int k = 0; k < kc; k++) {
        const float *s = B + (size_t)(k0 + k) * ldb + j0;
        float *dk = d + k * 32;
        if (nr == 32) memcpy(dk, s, 128); else { int j = 0; for (; j < nr; j++) dk[j] = s[j]; for (; j < 32; j++) dk[j] = 0; }
      }
    }
    float *pb16 = pb + (size_t)panels * KC * 32;
    if (p16) {
      int j0 = full32 * 32;
      for (int k = 0; k < kc; k++) {
        const float *s = B + (size_t)(k0 + k) * ldb + j0; float *dk = pb16 + k * 16;
        int j = 0; for (; j < rem; j++) dk[j] = s[j]; for (; j < 16; j++) dk[j] = 0;
      }
    }
    for (int i0 = 0; i0 < M; i0 += 16) {
      int mr0 = M - i0 < MR ? M - i0 : MR;
      int mr1 = M - i0 - MR; mr1 = mr1 < 0 ? 0 : (mr1 > MR ? MR : mr1);
      packA(A, ars, acs, i0, mr0, k0, kc, pa);
      packA(A, ars, acs, i0 + MR, mr1, k0, kc, pa + (size_t)kc * MR);
      for (int p = 0; p < panels; p++) {
        int j0 = p * 32, nr = N - j0 < 32 ? N - j0 : 32;
        kernel_8x32(kc, pa, pb + (size_t)p * KC * 32, C + (size_t)i0 * ldc + j0, ldc, mr0, nr, load);
        if (mr1) kernel_8x32(kc, pa + (size_t)kc * MR, pb + (size_t)p * KC * 32, C + (size_t)(i0 + MR) * ldc + j0, ldc, mr1, nr, load);
      }
      if (p16) kernel_16x16(kc, pa, pb16, C + (size_t)i0 * ldc + full32 * 32, ldc, mr0 + mr1, rem, load);
    }
  }
  return 0;
}

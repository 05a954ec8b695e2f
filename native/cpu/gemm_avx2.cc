// AVX2+FMA GEMM micro-kernels (compiled with -mavx2 -mfma): a 6 x 16 fp32 and a
// 6 x 8 fp64 tile, 12 ymm accumulators each. Per step of K: two B vectors, six
// broadcasts of A, twelve FMAs; with the two B registers and a broadcast register
// that is 15 of the 16 ymm registers, and 12 independent chains cover the FMA
// latency on two pipes.
#include <cstdint>

#define TG_ISA_NS avx2
#if !(defined(__x86_64__) || defined(__i386__))
// Another architecture: isa.cc never selects this ISA there, but its table names it.
#include "gemm_ukernel_portable.h"
#else
#include <immintrin.h>

#include "gemm_pack.h"

namespace tg::cpu::avx2 {

namespace {

template <int MR>
inline __attribute__((always_inline)) void tile_f32(int64_t kc, const float* __restrict a,
                                                    const float* __restrict b, float* c,
                                                    int64_t ldc, float alpha, float beta) {
  __m256 acc[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  // C is read (or written) only after the K loop: start its lines moving now
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 av = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
    }
    a += MR;
    b += 16;
  }
  const __m256 va = _mm256_set1_ps(alpha);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.f) {
      _mm256_storeu_ps(ci, _mm256_mul_ps(va, acc[i][0]));
      _mm256_storeu_ps(ci + 8, _mm256_mul_ps(va, acc[i][1]));
    } else {
      const __m256 vb = _mm256_set1_ps(beta);
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, acc[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));
      _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, acc[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));
    }
  }
}

template <int MR>
inline __attribute__((always_inline)) void tile_f64(int64_t kc, const double* __restrict a,
                                                    const double* __restrict b, double* c,
                                                    int64_t ldc, double alpha, double beta) {
  __m256d acc[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_pd();
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int64_t p = 0; p < kc; ++p) {
    const __m256d b0 = _mm256_load_pd(b), b1 = _mm256_load_pd(b + 4);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256d av = _mm256_broadcast_sd(a + i);
      acc[i][0] = _mm256_fmadd_pd(av, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_pd(av, b1, acc[i][1]);
    }
    a += MR;
    b += 8;
  }
  const __m256d va = _mm256_set1_pd(alpha);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    double* ci = c + i * ldc;
    if (beta == 0.0) {
      _mm256_storeu_pd(ci, _mm256_mul_pd(va, acc[i][0]));
      _mm256_storeu_pd(ci + 4, _mm256_mul_pd(va, acc[i][1]));
    } else {
      const __m256d vb = _mm256_set1_pd(beta);
      _mm256_storeu_pd(ci, _mm256_fmadd_pd(va, acc[i][0], _mm256_mul_pd(vb, _mm256_loadu_pd(ci))));
      _mm256_storeu_pd(ci + 4, _mm256_fmadd_pd(va, acc[i][1], _mm256_mul_pd(vb, _mm256_loadu_pd(ci + 4))));
    }
  }
}

// In-register transposes for the transposing half of packing (row-major A, and B
// read transposed as in Linear's x W^T): 8 x 8 floats or 4 x 4 doubles per block.
inline __attribute__((always_inline)) void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4h + j]: rows 4h..4h+3 of columns j (low 128 bits) and 4 + j (high)
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    u[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
    u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
    u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
    u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

inline __attribute__((always_inline)) void transpose4(__m256d r[4]) {
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// Lanes below w set: maskload then reads no further than the row's last step.
inline __m256i lane_mask(int64_t w, int lanes) {
  const __m256i idx = lanes == 8 ? _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
                                 : _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(w)), idx);
}

// Stores the first g (<= 8) floats of v; a partial group goes through the stack,
// which store forwarding makes about as cheap as a masked store.
inline __attribute__((always_inline)) void store_first(float* d, __m256 v, int g) {
  if (g == 8) return _mm256_storeu_ps(d, v);
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, v);
  for (int i = 0; i < g; ++i) d[i] = tmp[i];
}

// strip_transpose (gemm_pack.h) by blocks of 8 (4) steps for float (double).
template <int R>
void transpose_strip_f32(const float* src, int64_t ld, int64_t kc, float* dst) {
  for (int64_t p = 0; p < kc; p += 8) {
    const int64_t w = kc - p < 8 ? kc - p : 8;
    const __m256i lmask = lane_mask(w, 8);
#pragma GCC unroll 2
    for (int r0 = 0; r0 < R; r0 += 8) {
      const int g = R - r0 < 8 ? R - r0 : 8;
      __m256 v[8];
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r) {
        const float* s = src + (r0 + r) * ld + p;
        v[r] = r >= g ? _mm256_setzero_ps() : (w == 8 ? _mm256_loadu_ps(s) : _mm256_maskload_ps(s, lmask));
      }
      transpose8(v);
      for (int q = 0; q < w; ++q) store_first(dst + (p + q) * R + r0, v[q], g);
    }
  }
}

template <int R>
void transpose_strip_f64(const double* src, int64_t ld, int64_t kc, double* dst) {
  for (int64_t p = 0; p < kc; p += 4) {
    const int64_t w = kc - p < 4 ? kc - p : 4;
    const __m256i lmask = lane_mask(w, 4);
#pragma GCC unroll 2
    for (int r0 = 0; r0 < R; r0 += 4) {
      const int g = R - r0 < 4 ? R - r0 : 4;
      __m256d v[4];
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const double* s = src + (r0 + r) * ld + p;
        v[r] = r >= g ? _mm256_setzero_pd() : (w == 4 ? _mm256_loadu_pd(s) : _mm256_maskload_pd(s, lmask));
      }
      transpose4(v);
      for (int q = 0; q < w; ++q) {
        double* d = dst + (p + q) * R + r0;
        if (g == 4) {
          _mm256_storeu_pd(d, v[q]);
        } else {
          alignas(32) double tmp[4];
          _mm256_store_pd(tmp, v[q]);
          for (int i = 0; i < g; ++i) d[i] = tmp[i];
        }
      }
    }
  }
}

}  // namespace

template <typename T>
struct Ukernel;

template <>
struct Ukernel<float> {
  static constexpr int MR = 6, NR = 16;
  static constexpr bool kEdges = false;
  static void run(int, int, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                  float alpha, float beta) {
    tile_f32<MR>(kc, a, b, c, ldc, alpha, beta);
  }
};

template <>
struct Ukernel<double> {
  static constexpr int MR = 6, NR = 8;
  static constexpr bool kEdges = false;
  static void run(int, int, int64_t kc, const double* a, const double* b, double* c, int64_t ldc,
                  double alpha, double beta) {
    tile_f64<MR>(kc, a, b, c, ldc, alpha, beta);
  }
};

#include "gemm_strip_hooks.inc"

#include "gemm_f16c.inc"

}  // namespace tg::cpu::avx2
#endif

#include "gemm_driver.inc"
#include "gemm_isa_entries.inc"

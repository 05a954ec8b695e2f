// AVX-512 GEMM micro-kernels (compiled with -mavx512f/bw/vl/dq): a 12 x 32 fp32 and
// a 12 x 16 fp64 tile, 24 zmm accumulators each. Per step of K the kernel loads NR
// values of B as two vectors and broadcasts MR values of A, so 24 FMAs need 14
// loads: the two FMA pipes stay busy while the load ports have slack, and 24
// independent chains cover the FMA latency (4 cycles x 2 pipes). Edge tiles run a
// kernel instantiated for their row count and vector count, with masked stores for
// the last partial vector, so a 64-row or 784-column edge costs what it computes.
#include <array>
#include <cstdint>
#include <utility>

#define TG_ISA_NS avx512
#if !(defined(__x86_64__) || defined(__i386__))
// Another architecture: isa.cc never selects this ISA there, but its table names it.
#include "gemm_ukernel_portable.h"
#else
#include <immintrin.h>

#include "gemm_pack.h"
#include "transpose16_avx512.h"

namespace tg::cpu::avx512 {

namespace {

template <typename T>
struct Vec;

template <>
struct Vec<float> {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_load_ps(p); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static V loadu(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void storeu(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
};

template <>
struct Vec<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V load(const double* p) { return _mm512_load_pd(p); }
  static V loadu(const double* p) { return _mm512_loadu_pd(p); }
  static V loadu(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void storeu(double* p, V v) { _mm512_storeu_pd(p, v); }
  static void storeu(double* p, V v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
};

// Rows [0, M) and vectors [0, NV) of a tile from panels packed MR rows and NR
// columns wide; the last vector stores only the lanes in `last`.
template <typename T, int MR, int NR, int M, int NV>
void tile(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc, T alpha,
          T beta, typename Vec<T>::Mask last) {
  using X = Vec<T>;
  using V = typename X::V;
  constexpr int W = X::W;
  V acc[M][NV];
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = X::zero();
  // C is touched only after the K loop: start its lines moving now
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + v * W), _MM_HINT_T0);
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = X::load(b + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      const V av = X::set1(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = X::fmadd(av, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }
  const V va = X::set1(alpha), vb = X::set1(beta);
  const bool full = last == static_cast<typename X::Mask>(~0u);
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const bool whole = v + 1 < NV || full;
      V r = X::mul(va, acc[i][v]);
      // beta == 0 must not read C: it may hold NaN or uninitialized memory
      if (beta != T(0)) r = X::fmadd(vb, whole ? X::loadu(ci + v * W) : X::loadu(ci + v * W, last), r);
      if (whole) X::storeu(ci + v * W, r);
      else X::storeu(ci + v * W, r, last);
    }
  }
}

template <typename T, int MR, int NR>
struct Tiles {
  using Fn = void (*)(int64_t, const T*, const T*, T*, int64_t, T, T, typename Vec<T>::Mask);
  static constexpr int NV = NR / Vec<T>::W;
  template <int... I>
  static constexpr auto make(std::integer_sequence<int, I...>) {
    // entry (rows - 1) * NV + (vectors - 1)
    return std::array<Fn, sizeof...(I)>{&tile<T, MR, NR, I / NV + 1, I % NV + 1>...};
  }
  static constexpr auto table = make(std::make_integer_sequence<int, MR * NV>{});

  // rows [0, mr) and columns [0, nr) of the tile, straight into C
  static void run(int mr, int nr, int64_t kc, const T* a, const T* b, T* c, int64_t ldc, T alpha,
                  T beta) {
    constexpr int W = Vec<T>::W;
    const int nv = (nr + W - 1) / W, tail = nr - (nv - 1) * W;
    const auto last = static_cast<typename Vec<T>::Mask>((1u << tail) - 1);
    table[(mr - 1) * NV + (nv - 1)](kc, a, b, c, ldc, alpha, beta, last);
  }
};

// In-register transposes for the transposing half of packing (row-major A, and B
// read transposed as in Linear's x W^T): 16 x 16 floats (transpose16_avx512.h) or
// 8 x 8 doubles per block.
// GCC 12's shuffle and unpack intrinsics start from _mm512_undefined_*, which it then
// reports as maybe-uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline __attribute__((always_inline)) void transpose8(__m512d r[8]) {
  __m512d t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
  }
  // u[4h + 0..3]: row pairs of half h, columns (0,4), (2,6), (1,5), (3,7)
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    u[4 * h] = _mm512_shuffle_f64x2(t[4 * h], t[4 * h + 2], 0x88);
    u[4 * h + 1] = _mm512_shuffle_f64x2(t[4 * h], t[4 * h + 2], 0xDD);
    u[4 * h + 2] = _mm512_shuffle_f64x2(t[4 * h + 1], t[4 * h + 3], 0x88);
    u[4 * h + 3] = _mm512_shuffle_f64x2(t[4 * h + 1], t[4 * h + 3], 0xDD);
  }
  r[0] = _mm512_shuffle_f64x2(u[0], u[4], 0x88);
  r[4] = _mm512_shuffle_f64x2(u[0], u[4], 0xDD);
  r[2] = _mm512_shuffle_f64x2(u[1], u[5], 0x88);
  r[6] = _mm512_shuffle_f64x2(u[1], u[5], 0xDD);
  r[1] = _mm512_shuffle_f64x2(u[2], u[6], 0x88);
  r[5] = _mm512_shuffle_f64x2(u[2], u[6], 0xDD);
  r[3] = _mm512_shuffle_f64x2(u[3], u[7], 0x88);
  r[7] = _mm512_shuffle_f64x2(u[3], u[7], 0xDD);
}

// strip_transpose (gemm_pack.h) by blocks of 16 steps: each group of up to 16 rows is
// loaded, transposed, and stored as 16 steps; masked loads read no further than kc.
template <int R>
void transpose_strip_f32(const float* src, int64_t ld, int64_t kc, float* dst) {
  for (int64_t p = 0; p < kc; p += 16) {
    const int64_t w = kc - p < 16 ? kc - p : 16;
    const __mmask16 lmask = static_cast<__mmask16>((1u << w) - 1);
#pragma GCC unroll 2
    for (int r0 = 0; r0 < R; r0 += 16) {
      constexpr int kFull = 16;
      const int g = R - r0 < kFull ? R - r0 : kFull;
      __m512 v[16];
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r)
        v[r] = r < g ? _mm512_maskz_loadu_ps(lmask, src + (r0 + r) * ld + p) : _mm512_setzero_ps();
      transpose16(v);
      const __mmask16 smask = static_cast<__mmask16>((1u << g) - 1);
      for (int q = 0; q < w; ++q) {
        float* d = dst + (p + q) * R + r0;
        if (g == 16) _mm512_storeu_ps(d, v[q]);
        else _mm512_mask_storeu_ps(d, smask, v[q]);
      }
    }
  }
}

template <int R>
void transpose_strip_f64(const double* src, int64_t ld, int64_t kc, double* dst) {
  for (int64_t p = 0; p < kc; p += 8) {
    const int64_t w = kc - p < 8 ? kc - p : 8;
    const __mmask8 lmask = static_cast<__mmask8>((1u << w) - 1);
#pragma GCC unroll 2
    for (int r0 = 0; r0 < R; r0 += 8) {
      const int g = R - r0 < 8 ? R - r0 : 8;
      __m512d v[8];
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r)
        v[r] = r < g ? _mm512_maskz_loadu_pd(lmask, src + (r0 + r) * ld + p) : _mm512_setzero_pd();
      transpose8(v);
      const __mmask8 smask = static_cast<__mmask8>((1u << g) - 1);
      for (int q = 0; q < w; ++q) {
        double* d = dst + (p + q) * R + r0;
        if (g == 8) _mm512_storeu_pd(d, v[q]);
        else _mm512_mask_storeu_pd(d, smask, v[q]);
      }
    }
  }
}

#pragma GCC diagnostic pop

}  // namespace

template <typename T>
struct Ukernel;

template <>
struct Ukernel<float> : Tiles<float, 12, 32> {
  static constexpr int MR = 12, NR = 32;
  static constexpr bool kEdges = true;
};

template <>
struct Ukernel<double> : Tiles<double, 12, 16> {
  static constexpr int MR = 12, NR = 16;
  static constexpr bool kEdges = true;
};

#include "gemm_strip_hooks.inc"
#include "gemm_f16c.inc"

}  // namespace tg::cpu::avx512
#endif

#include "gemm_driver.inc"
#include "gemm_isa_entries.inc"

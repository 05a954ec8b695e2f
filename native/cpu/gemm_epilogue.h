// What happens to a C tile after the micro-kernel: the alpha/beta merge of an edge
// tile computed on the stack, and the fused bias and activation applied to a tile
// while it is still in L1, so Linear needs no second pass over its output.
// Each ISA file includes this after defining TG_ISA_NS, so the code lands in that
// ISA's namespace, and the loops are written so the compiler vectorizes them with
// that ISA's flags.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../kernels.h"

namespace tg::cpu::TG_ISA_NS {

// c = alpha * t + beta * c over an mr x nr tile; beta == 0 never reads c, so NaN or
// uninitialized memory there does not leak into the result (BLAS's rule).
template <typename T>
void merge_tile(const T* t, int64_t ldt, T* c, int64_t ldc, int64_t mr, int64_t nr, T alpha,
                T beta) {
  for (int64_t i = 0; i < mr; ++i) {
    const T* ti = t + i * ldt;
    T* ci = c + i * ldc;
    if (beta == T(0)) {
      for (int64_t j = 0; j < nr; ++j) ci[j] = alpha * ti[j];
    } else {
      for (int64_t j = 0; j < nr; ++j) ci[j] = alpha * ti[j] + beta * ci[j];
    }
  }
}

// a with its magnitude limited to lim, through the bit patterns: an integer min, which
// the vectorizer if-converts, where a float compare-and-select ahead of a division
// leaves the loop scalar (the division may trap, so it is not executed speculatively).
// NaN becomes +-lim; the activations multiply by x afterwards, which restores it.
inline float clamp_magnitude(float a, float lim) {
  uint32_t ua, ul;
  std::memcpy(&ua, &a, sizeof ua);
  std::memcpy(&ul, &lim, sizeof ul);
  const uint32_t r = std::min(ua & 0x7fffffffu, ul) | (ua & 0x80000000u);
  float f;
  std::memcpy(&f, &r, sizeof f);
  return f;
}

// Rational minimax approximations (Eigen's float erf and tanh, within 5e-7 of the
// true value): no libm call, so the activation loop vectorizes.
inline float erf_approx(float a) {
  const float x = clamp_magnitude(a, 4.f);  // erf rounds to +-1 in float beyond 4
  const float x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return x * p / q;
}

inline float tanh_approx(float a) {
  const float x = clamp_magnitude(a, 7.90531110763549805f);  // tanh rounds to +-1 beyond
  const float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  return x * p / q;
}

inline float erf_act(float x) { return erf_approx(x); }
inline float tanh_act(float x) { return tanh_approx(x); }
// double keeps libm's full precision; the scalar call costs little next to a
// double GEMM's multiply-adds
inline double erf_act(double x) { return std::erf(x); }
inline double tanh_act(double x) { return std::tanh(x); }

template <typename T, typename F>
void map_tile(T* c, int64_t ldc, int64_t mr, int64_t nr, const T* bias, F f) {
  for (int64_t i = 0; i < mr; ++i) {
    T* ci = c + i * ldc;
    if (bias) {
      for (int64_t j = 0; j < nr; ++j) ci[j] = f(ci[j] + bias[j]);
    } else {
      for (int64_t j = 0; j < nr; ++j) ci[j] = f(ci[j]);
    }
  }
}

// c = act(c + bias) over an mr x nr tile; bias (may be null) holds the tile's columns.
template <typename T>
void finish_tile(T* c, int64_t ldc, int64_t mr, int64_t nr, const T* bias, GemmAct act) {
  switch (act) {
    case GemmAct::none:
      if (bias) map_tile(c, ldc, mr, nr, bias, [](T v) { return v; });
      return;
    case GemmAct::relu:
      return map_tile(c, ldc, mr, nr, bias, [](T v) { return v < T(0) ? T(0) : v; });
    case GemmAct::gelu:
      return map_tile(c, ldc, mr, nr, bias, [](T v) {
        return T(0.5) * v * (T(1) + erf_act(v * T(0.70710678118654752440)));
      });
    case GemmAct::geluTanh:
      return map_tile(c, ldc, mr, nr, bias, [](T v) {
        const T k = T(0.79788456080286535588);  // sqrt(2/pi)
        return T(0.5) * v * (T(1) + tanh_act(k * (v + T(0.044715) * v * v * v)));
      });
    case GemmAct::kCount: return;
  }
}

}  // namespace tg::cpu::TG_ISA_NS

// The portable GEMM micro-kernel: plain C++ over a register-sized tile, written so
// the compiler vectorizes the NR loop with whatever the target has (SSE2 on x86-64,
// NEON on arm64, where it is the only path). Tiles fill the vector register file:
// 16 registers of 128 bits on x86-64, 32 on arm64. Each includer defines TG_ISA_NS
// first: gemm_generic.cc, and the AVX files when built for another architecture.
#pragma once
#include <cstdint>

#include "gemm_pack.h"

namespace tg::cpu::TG_ISA_NS {

namespace {

#if defined(__aarch64__)
constexpr int kRowsF32 = 8, kColsF32 = 12, kRowsF64 = 8, kColsF64 = 6;
#else
constexpr int kRowsF32 = 4, kColsF32 = 8, kRowsF64 = 4, kColsF64 = 4;
#endif

template <typename T, int MR, int NR>
inline void tile(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc,
                 T alpha, T beta) {
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const T av = a[i];
#pragma GCC unroll 16
      for (int j = 0; j < NR; ++j) acc[i][j] += av * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; ++i) {
    T* ci = c + i * ldc;
    if (beta == T(0)) {
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

}  // namespace

template <typename T>
struct Ukernel;

template <>
struct Ukernel<float> {
  static constexpr int MR = kRowsF32, NR = kColsF32;
  static constexpr bool kEdges = false;
  static void run(int, int, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                  float alpha, float beta) {
    tile<float, MR, NR>(kc, a, b, c, ldc, alpha, beta);
  }
};

template <>
struct Ukernel<double> {
  static constexpr int MR = kRowsF64, NR = kColsF64;
  static constexpr bool kEdges = false;
  static void run(int, int, int64_t kc, const double* a, const double* b, double* c, int64_t ldc,
                  double alpha, double beta) {
    tile<double, MR, NR>(kc, a, b, c, ldc, alpha, beta);
  }
};

}  // namespace tg::cpu::TG_ISA_NS

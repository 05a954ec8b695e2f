// TG_HOST_DEVICE marks a function that native/cpu/* and cuda/* both compile: under
// nvcc it becomes __host__ __device__, in the plain C++ build nothing. Headers that
// hold one rule for both backends (cross_entropy_math.h, optim_math.h) use it, so a
// formula is written once and the GPU runs what the CPU tests check.
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define TG_HOST_DEVICE __host__ __device__
#else
#define TG_HOST_DEVICE
#endif

namespace tg {

// min and max of two int64 on either side (std::min/max are host functions to nvcc
// without --expt-relaxed-constexpr).
TG_HOST_DEVICE constexpr int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
TG_HOST_DEVICE constexpr int64_t imax(int64_t a, int64_t b) { return a < b ? b : a; }

}  // namespace tg

// Division by a divisor fixed for a whole launch, as a multiply-high and a shift:
// the implicit-GEMM convolution loaders split flat indices into (channel, tap) and
// (image, row, column) for every run they read, and a hardware integer division
// would cost ~20 instructions each time. Valid for dividends below 2^31, which the
// launchers guarantee (they cut the work into chunks where it would not be).
#pragma once
#include <cstdint>

namespace tg::cuda::tile {

struct FastDivmod {
  uint32_t divisor = 1, multiplier = 1, shift = 0;

  FastDivmod() = default;
  // divisor in [1, 2^31]: shift = ceil(log2 d), multiplier = 2^32 (2^shift - d) / d + 1,
  // so that n / d = (mulhi(n, multiplier) + n) >> shift for every n < 2^31
  explicit FastDivmod(uint32_t d) : divisor(d) {
    while ((uint64_t(1) << shift) < d) ++shift;
    multiplier = static_cast<uint32_t>(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }

  __host__ __device__ __forceinline__ uint32_t div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    const uint32_t hi = __umulhi(n, multiplier);
#else
    const uint32_t hi = static_cast<uint32_t>((uint64_t(n) * multiplier) >> 32);
#endif
    return (hi + n) >> shift;
  }
  // n = q * divisor + r with 0 <= r < divisor
  __host__ __device__ __forceinline__ void divmod(uint32_t n, uint32_t& q, uint32_t& r) const {
    q = div(n);
    r = n - q * divisor;
  }
};

}  // namespace tg::cuda::tile

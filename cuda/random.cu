// Random numbers from Philox4x32-10 (Salmon et al., SC'11), the same counter-based
// generator as native/cpu/random.cc, so a seed and offset give the same tensor on
// either device: element i is a pure function of (seed, offset + i), computed by
// whichever thread reaches it. Nothing to fuse; one thread per element, grid-stride.
//
// The double arithmetic is spelled with __dmul_rn/__dadd_rn where a multiply feeds
// an add: nvcc would otherwise fuse it into an FMA, which rounds once where the CPU
// rounds twice. Uniform and randint values are then bit-identical to the CPU's; normal
// values go through the device's log, sqrt and cos, whose last bit may differ from the
// host libm's (invisible after rounding to float, one ulp at most in float64).
#include <cmath>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "common.cuh"

namespace tg::cuda {

namespace {

struct PhiloxBlock {
  uint32_t w[4];
};

__device__ __forceinline__ PhiloxBlock philox(uint64_t counter, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    const uint32_t lo0 = 0xD2511F53u * c0, hi0 = __umulhi(0xD2511F53u, c0);
    const uint32_t lo1 = 0xCD9E8D57u * c2, hi1 = __umulhi(0xCD9E8D57u, c2);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// 53 random bits -> [0, 1)
__device__ __forceinline__ double unit(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// std::nextafter(C from, C to) as the CPU calls it: float for float, else the double
// overload (integer arguments are promoted to double there).
template <typename C>
__device__ __forceinline__ double next_toward(C from, C to) {
  if constexpr (std::is_same_v<C, float>) return nextafterf(from, to);
  return nextafter(static_cast<double>(from), static_cast<double>(to));
}

// uniform: [p1, p2); normal: mean p1, std p2; randint: integers in [p1, p2)
template <typename T>
__global__ void random_kernel(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset,
                              double p1, double p2) {
  using L = Compute<T>;
  using C = compute_t<T>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const PhiloxBlock r = philox(offset + static_cast<uint64_t>(i), seed);
    const double u = unit(r.w[0], r.w[1]);
    double v;
    switch (kind) {
      case RandomKind::uniform: {
        v = __dadd_rn(p1, __dmul_rn(p2 - p1, u));
        // rounding to a narrow float type can land on the open end; step back
        const C c = static_cast<C>(L::load(L::store(v)));
        if (static_cast<double>(c) >= p2 && p2 > p1) v = next_toward(static_cast<C>(p2), static_cast<C>(p1));
        break;
      }
      case RandomKind::normal: {
        const double u2 = unit(r.w[2], r.w[3]);
        // Box-Muller with u in (0, 1] so the log is finite
        v = __dadd_rn(p1, __dmul_rn(p2 * sqrt(-2.0 * log(1.0 - u)), cos(6.283185307179586 * u2)));
        break;
      }
      case RandomKind::randint: {
        v = p1 + floor(u * (p2 - p1));
        if (v >= p2) v = p2 - 1;
        break;
      }
      default: v = 0; break;
    }
    out[i] = L::store(static_cast<C>(v));
  }
}

}  // namespace

template <typename T>
void random(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset, double p1, double p2) {
  if (kind != RandomKind::uniform && kind != RandomKind::normal && kind != RandomKind::randint)
    throw std::invalid_argument("random: unknown kind");
  if (n <= 0) return;
  random_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(kind, out, n, seed, offset, p1, p2);
  TG_CUDA_LAUNCH_CHECK();
}

#define TG_INST(T) template void random<T>(RandomKind, T*, int64_t, uint64_t, uint64_t, double, double);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

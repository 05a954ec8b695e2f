// The counter-based generator and the value rules of the random kernels, shared by
// native/cpu/random.cc and cuda/random.cu so that a seed and offset give the same
// tensor on either device: element i is a pure function of (seed, offset + i).
// Philox4x32-10 (Salmon et al., SC'11) makes 128 bits per counter; the first 53 give a
// uniform double in [0, 1), and normal values take 53 more for Box-Muller.
//
// Where a double multiply feeds an add, the device spells both with __dmul_rn and
// __dadd_rn: nvcc would otherwise fuse them into an FMA, which rounds once where the
// CPU rounds twice. Uniform and randint values are then bit-identical on both devices;
// normal values go through each side's log, sqrt and cos, whose last bit may differ
// (invisible after rounding to float, one ulp at most in float64).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "half.h"
#include "host_device.h"
#include "ops.h"

namespace tg {

struct PhiloxBlock {
  uint32_t w[4];
};

TG_HOST_DEVICE inline PhiloxBlock philox(uint64_t counter, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// 53 random bits -> [0, 1)
TG_HOST_DEVICE inline double unit(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (uint64_t(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// a * b and a + b, each rounded on its own (never fused into an FMA)
TG_HOST_DEVICE inline double mul_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
TG_HOST_DEVICE inline double add_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

// std::nextafter(C from, C to): the float overload for float, else the double one
// (integer arguments are promoted to double there).
template <typename C>
TG_HOST_DEVICE inline double next_toward(C from, C to) {
  if constexpr (std::is_same_v<C, float>) return nextafterf(from, to);
  return nextafter(static_cast<double>(from), static_cast<double>(to));
}

// Element `counter` of a stream: uniform in [p1, p2); normal with mean p1, std p2;
// randint: integers in [p1, p2). The caller has checked the kind.
template <typename T>
TG_HOST_DEVICE inline T random_element(RandomKind kind, uint64_t counter, uint64_t seed, double p1, double p2) {
  using L = Compute<T>;
  using C = compute_t<T>;
  const PhiloxBlock r = philox(counter, seed);
  const double u = unit(r.w[0], r.w[1]);
  double v = 0;
  if (kind == RandomKind::uniform) {
    v = add_rn(p1, mul_rn(p2 - p1, u));
    // rounding to a narrow float type can land on the open end; step back
    const C c = static_cast<C>(L::load(L::store(v)));
    if (static_cast<double>(c) >= p2 && p2 > p1) v = next_toward(static_cast<C>(p2), static_cast<C>(p1));
  } else if (kind == RandomKind::normal) {
    const double u2 = unit(r.w[2], r.w[3]);
    // Box-Muller with u in (0, 1] so the log is finite
    v = add_rn(p1, mul_rn(p2 * sqrt(-2.0 * log(1.0 - u)), cos(6.283185307179586 * u2)));
  } else if (kind == RandomKind::randint) {
    v = p1 + floor(u * (p2 - p1));
    if (v >= p2) v = p2 - 1;
  }
  return L::store(static_cast<C>(v));
}

}  // namespace tg

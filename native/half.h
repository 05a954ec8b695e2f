// Storage types for float16, bfloat16 and bool, with conversions that round to
// nearest even and keep subnormals, infinities and NaN. Kernels compute in the
// type that Compute<T> names (float for both half types) and convert at load/store.
// Compute is one trait for both backends: in CUDA device code the half types hold
// exactly the bits of __half and __nv_bfloat16 and convert with the hardware's
// instructions, elsewhere with the bit arithmetic below; both round the same way.
#pragma once
#include <cstdint>
#include <cstring>

#include "host_device.h"
#ifdef __CUDACC__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace tg {

struct half {
  uint16_t bits;
};
struct bfloat16 {
  uint16_t bits;
};
struct boolean {
  uint8_t value;
};

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t float_to_half_bits(float f) {
  uint32_t x = float_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) {  // inf or NaN; keep NaN quiet and non-zero
    return static_cast<uint16_t>(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0u));
  }
  if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (mag < 0x38800000u) {
    // Subnormal half (or zero): adding 0.5 shifts the value so the FPU does the
    // round-to-nearest-even on the mantissa bits we keep.
    float v = bits_float(mag) + 0.5f;
    return static_cast<uint16_t>(sign | (float_bits(v) - 0x3f000000u));
  }
  uint32_t odd = (mag >> 13) & 1u;
  mag += 0xc8000fffu + odd;  // rebias exponent (-112 << 23) and round to nearest even
  return static_cast<uint16_t>(sign | (mag >> 13));
}

inline float half_bits_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    // subnormal or zero: value = man * 2^-24, exact in float
    float v = static_cast<float>(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112u) << 23) | (man << 13));
}

inline uint16_t float_to_bf16_bits(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}
inline float bf16_bits_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

// Compute<T>: the arithmetic type of a storage type, with load/store between them
// (uint8 wraps like PyTorch's; bool is "non-zero").
template <typename T>
struct Compute {
  using type = T;
  TG_HOST_DEVICE static T load(T v) { return v; }
  template <typename C>
  TG_HOST_DEVICE static T store(C v) {
    return static_cast<T>(v);
  }
};
// The 16-bit floats widened to float and rounded back: the hardware's conversions in
// CUDA device code, the bit arithmetic above everywhere else.
#ifdef __CUDA_ARCH__
__device__ inline float to_float(half v) { return __half2float(__ushort_as_half(v.bits)); }
__device__ inline float to_float(bfloat16 v) { return __bfloat162float(__ushort_as_bfloat16(v.bits)); }
__device__ inline void from_float(float f, half& out) { out.bits = __half_as_ushort(__float2half_rn(f)); }
__device__ inline void from_float(float f, bfloat16& out) { out.bits = __bfloat16_as_ushort(__float2bfloat16_rn(f)); }
#else
inline float to_float(half v) { return half_bits_to_float(v.bits); }
inline float to_float(bfloat16 v) { return bf16_bits_to_float(v.bits); }
inline void from_float(float f, half& out) { out.bits = float_to_half_bits(f); }
inline void from_float(float f, bfloat16& out) { out.bits = float_to_bf16_bits(f); }
#endif

template <typename H>
struct Compute16 {
  using type = float;
  TG_HOST_DEVICE static float load(H v) { return to_float(v); }
  template <typename C>
  TG_HOST_DEVICE static H store(C v) {
    H out;
    from_float(static_cast<float>(v), out);
    return out;
  }
};
template <>
struct Compute<half> : Compute16<half> {};
template <>
struct Compute<bfloat16> : Compute16<bfloat16> {};
template <>
struct Compute<uint8_t> {
  using type = int32_t;
  TG_HOST_DEVICE static int32_t load(uint8_t v) { return v; }
  template <typename C>
  TG_HOST_DEVICE static uint8_t store(C v) {
    return static_cast<uint8_t>(static_cast<int64_t>(v));
  }
};
template <>
struct Compute<boolean> {
  using type = int32_t;
  TG_HOST_DEVICE static int32_t load(boolean v) { return v.value; }
  template <typename C>
  TG_HOST_DEVICE static boolean store(C v) {
    return boolean{static_cast<uint8_t>(v != C(0))};
  }
};

template <typename T>
using compute_t = typename Compute<T>::type;

// Accumulator for sums and dot products: double for every float type (exact enough
// for the simple kernels; the fast GEMM keeps its own fp32 accumulators).
template <typename T>
struct Accum {
  using type = double;
};
template <>
struct Accum<int32_t> {
  using type = int64_t;
};
template <>
struct Accum<uint8_t> {
  using type = int64_t;
};
template <>
struct Accum<boolean> {
  using type = int64_t;
};
template <typename T>
using accum_t = typename Accum<T>::type;

}  // namespace tg

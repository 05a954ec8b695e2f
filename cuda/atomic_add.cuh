// atomic_add(p, v): *p += v for every storage type, safe when many threads add to
// the same element, with the CPU's result for one add (tg::Compute's store rule).
// float, double and int32 use the hardware atomics, half and bfloat16 the native
// 16-bit ones (sm_70+ / sm_80+; one rounding of the exact sum, as the CPU's add
// in float then round: float's 24 bits are more than twice 11 or 8 plus 2, so
// rounding twice gives the same value). uint8 and bool have no byte atomics: a
// compare-and-swap loop rewrites the aligned 32-bit word that holds the byte.
#pragma once
#include <cstring>

#include "common.cuh"

namespace tg::cuda {

__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(half* p, half v) {
  atomicAdd(reinterpret_cast<__half*>(p), __ushort_as_half(v.bits));
}
__device__ __forceinline__ void atomic_add(bfloat16* p, bfloat16 v) {
  atomicAdd(reinterpret_cast<__nv_bfloat16*>(p), __ushort_as_bfloat16(v.bits));
}

// uint8 (wraps mod 256) and bool (stores "sum non-zero": a logical or). The word
// around the byte stays inside the allocation: device allocations are aligned to
// far more than 4 bytes, and the neighbouring bytes are written back unchanged.
template <typename T>
__device__ __forceinline__ void atomic_add_byte(T* p, T v) {
  static_assert(sizeof(T) == 1, "one-byte storage types only");
  using L = Compute<T>;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  unsigned int* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t(3));
  const unsigned shift = static_cast<unsigned>(addr & 3) * 8;  // little-endian byte order
  unsigned int old = *word, assumed;
  do {
    assumed = old;
    const uint8_t cur_byte = static_cast<uint8_t>(assumed >> shift);
    T cur;
    std::memcpy(&cur, &cur_byte, 1);
    const T sum = L::store(L::load(cur) + L::load(v));
    uint8_t sum_byte;
    std::memcpy(&sum_byte, &sum, 1);
    const unsigned int next = (assumed & ~(0xffu << shift)) | (static_cast<unsigned int>(sum_byte) << shift);
    old = atomicCAS(word, assumed, next);
  } while (old != assumed);
}
__device__ __forceinline__ void atomic_add(uint8_t* p, uint8_t v) { atomic_add_byte(p, v); }
__device__ __forceinline__ void atomic_add(boolean* p, boolean v) { atomic_add_byte(p, v); }

}  // namespace tg::cuda

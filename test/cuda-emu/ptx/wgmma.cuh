// Emulated stand-in for cuda/wgmma.cuh: wgmma.mma_async as the PTX ISA defines it,
// run late (at wgmma.wait_group, emu_async.h) from shared memory as it is then. The
// descriptors are decoded from their bits and read through the canonical 128-byte-
// swizzled layouts (T = 8 16-bit elements, Swizzle<3,4,3> on the byte address):
//   K-major   ((8,m),(T,2k)) : ((8T,SBO),(1,T))
//   MN-major  ((T,8,m),(8,k)) : ((1,T,LBO),(8T,SBO))
// Accumulator d[v] of warpgroup thread t is row 16 (t / 32) + (t % 32) / 4 +
// 8 (v / 2 % 2), column 8 (v / 4) + 2 (t % 4) + v % 2.
#pragma once
#include <cstdint>
#include <cstring>

#include "common.cuh"
#include "emu_async.h"

#define TG_WGMMA 1

namespace tg::cuda::tile {

constexpr bool kWgmmaCompiled = true;

__device__ __forceinline__ void fence_proxy_async() {}
__device__ __forceinline__ void wgmma_fence() {}
__device__ __forceinline__ void wgmma_commit() { ::tg_emu::async_queues().wgmma.commit(); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  ::tg_emu::async_queues().wgmma.wait(N);
}
template <int Count>
__device__ __forceinline__ void fence_accumulators(float (&)[Count]) {}

// The shared-memory element (x, k) a descriptor points wgmma at.
template <typename T>
float wgmma_operand(uint64_t desc, bool mn_major, int x, int k) {
  if (desc >> 62 != 1) ::tg_emu::fail("wgmma descriptor without the 128-byte swizzle");
  const uint32_t start = uint32_t(desc & 0x3FFF) << 4, lbo = uint32_t(desc >> 16 & 0x3FFF) << 4,
                 sbo = uint32_t(desc >> 32 & 0x3FFF) << 4;
  const uint32_t off = mn_major ? (x % 64) * 2 + x / 64 * lbo + k % 8 * 128 + k / 8 * sbo
                                : x % 8 * 128 + x / 8 * sbo + k * 2;
  uint32_t a = start + off;
  a ^= (a >> 7 & 7) << 4;
  T v;
  std::memcpy(&v, ::tg_emu::shared_pointer(a), 2);
  return Compute<T>::load(v);
}

template <typename T, int N, bool TransA, bool TransB>
__device__ __forceinline__ void wgmma_m64k16(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b) {
  static_assert(N == 128 || N == 256, "the shapes wrapped here");
  const int t = ::tg_emu::self().linear % 128;
  float* acc = d;
  ::tg_emu::async_queues().wgmma.issue([acc, desc_a, desc_b, t] {
    // this thread's two rows of A and N / 4 columns of B, read once
    float a[2][16], b[N / 4][16];
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 16; ++k) a[h][k] = wgmma_operand<T>(desc_a, TransA, 16 * (t / 32) + (t % 32) / 4 + 8 * h, k);
    for (int j = 0; j < N / 4; ++j)
      for (int k = 0; k < 16; ++k) b[j][k] = wgmma_operand<T>(desc_b, TransB, 8 * (j / 2) + 2 * (t % 4) + j % 2, k);
    for (int v = 0; v < N / 2; ++v) {
      const float* row = a[v / 2 % 2];
      const float* col = b[v / 4 * 2 + v % 2];  // column 8 (v / 4) + 2 (t % 4) + v % 2
      float sum = acc[v];
      for (int k = 0; k < 16; ++k) sum += row[k] * col[k];
      acc[v] = sum;
    }
  });
}

}  // namespace tg::cuda::tile

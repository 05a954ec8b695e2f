// Emulated stand-in for cuda/mma.cuh (the build script puts it in that file's place):
// the same functions, computed as the PTX ISA defines the instructions.
//   cp.async       queued per thread; runs at cp.async.wait_group (emu_async.h)
//   ldmatrix.x4    lane l gives the address of row l % 8 of matrix l / 8; register j
//                  of lane t gets row t / 4, elements 2 (t % 4) and + 1 of matrix j
//                  (.trans: elements (2 (t % 4) + e, t / 4), e = 0, 1)
//   mma m16n8k16   A a[0..3] = (g, 2c), (g + 8, 2c), (g, 2c + 8), (g + 8, 2c + 8), each
//                  a pair along k; B b[0..1] = k 2c and 2c + 8 (pairs along k) of
//                  column g; D (g, 2c + e), (g + 8, 2c + e)     g = lane / 4, c = lane % 4
#pragma once
#include <cstdint>
#include <cstring>

#include "common.cuh"
#include "emu_async.h"

namespace tg::cuda::tile {

__device__ __forceinline__ uint32_t shared_address(const void* p) { return ::tg_emu::shared_offset(p); }

__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, int src_bytes) {
  if (reinterpret_cast<uintptr_t>(gmem) % 16 || shared_address(smem) % 16)
    ::tg_emu::fail("cp.async 16 with an address that is not 16-byte aligned");
  if (src_bytes < 0 || src_bytes > 16) ::tg_emu::fail("cp.async src-size outside 0..16");
  ::tg_emu::async_queues().cp_async.issue([smem, gmem, src_bytes] {
    unsigned char chunk[16] = {};
    if (src_bytes > 0) std::memcpy(chunk, gmem, size_t(src_bytes));
    std::memcpy(smem, chunk, 16);
  });
}
__device__ __forceinline__ void cp_async_commit() { ::tg_emu::async_queues().cp_async.commit(); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  ::tg_emu::async_queues().cp_async.wait(N);
}

inline void ldmatrix_emulated(uint32_t (&r)[4], const void* smem, bool trans) {
  if (shared_address(smem) % 16) ::tg_emu::fail("ldmatrix row address not 16-byte aligned");
  const ::tg_emu::WarpSlots<const void*> rows(smem);
  const int t = ::tg_emu::lane();
  for (int j = 0; j < 4; ++j) {
    r[j] = 0;
    for (int e = 0; e < 2; ++e) {
      const int row = trans ? 2 * (t % 4) + e : t / 4, col = trans ? t / 4 : 2 * (t % 4) + e;
      uint16_t v;
      std::memcpy(&v, static_cast<const char*>(rows.all[8 * j + row]) + 2 * col, 2);
      r[j] |= uint32_t(v) << (16 * e);
    }
  }
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem) { ldmatrix_emulated(r, smem, false); }
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* smem) {
  ldmatrix_emulated(r, smem, true);
}

struct MmaFragments {
  uint32_t a[4], b[2];
};
template <typename T>
float mma_element(uint32_t reg, int e) {
  T v;
  v.bits = uint16_t(reg >> (16 * e));
  return Compute<T>::load(v);
}

template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  MmaFragments mine;
  std::memcpy(mine.a, a, sizeof(mine.a));
  std::memcpy(mine.b, b, sizeof(mine.b));
  const ::tg_emu::WarpSlots<MmaFragments> all(mine);
  auto A = [&](int row, int k) {
    const MmaFragments& f = all.all[(row % 8) * 4 + (k % 8) / 2];
    return mma_element<T>(f.a[(row >= 8) + 2 * (k >= 8)], k % 2);
  };
  auto B = [&](int k, int col) {
    const MmaFragments& f = all.all[col * 4 + (k % 8) / 2];
    return mma_element<T>(f.b[k >= 8], k % 2);
  };
  const int t = ::tg_emu::lane(), g = t / 4, c = t % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i / 2), col = 2 * c + i % 2;
    float sum = d[i];
    for (int k = 0; k < 16; ++k) sum += A(row, k) * B(k, col);
    d[i] = sum;
  }
}

}  // namespace tg::cuda::tile

// The sm_90a math of the tile GEMM (gemm_tile.cuh): fp16/bf16 on Hopper's
// warpgroup tensor-core instructions (wgmma.cuh), used by the dense GEMM when both
// operands stream in with cp.async. It has the shape of TcMath (tile_math.cuh) and
// runs in the same mainloop; only the shared-memory layout and the multiply differ.
//
// Block tile 128 x BN x 64 (BN = 128 or 256), 256 threads = 2 warpgroups, warpgroup
// w computing rows 64w .. 64w + 63 and all BN columns with four m64nBNk16 per
// k-tile: BN / 2 fp32 accumulators per thread, so one block per SM, with 4 stages
// (32 or 48 KB each) in flight.
#pragma once
#include <cstdint>

#include "mma.cuh"
#include "wgmma.cuh"

namespace tg::cuda::tile {

// A shared-memory matrix descriptor with 128-byte swizzling: start address, leading
// and stride byte offsets (each stored >> 4 in 14 bits), swizzle mode 1 in bits 62-63.
// The base-offset field stays 0, so every 1024-byte swizzle atom must start on a
// 1024-byte boundary.
__host__ __device__ __forceinline__ uint64_t wgmma_descriptor(uint32_t address, uint32_t lbo, uint32_t sbo) {
  auto field = [](uint32_t bytes) { return uint64_t((bytes & 0x3FFFF) >> 4); };
  return field(address) | field(lbo) << 16 | field(sbo) << 32 | uint64_t(1) << 62;
}

// A 16-bit operand tile (X by 64) in the canonical 128-byte-swizzled layout wgmma
// reads: 128-byte rows of eight 16-byte chunks, chunk c of row r stored in slot
// c ^ (r % 8), every 8 rows one 1024-byte swizzle atom.
//   K-major   row x holds k = 0..63 of element row x
//   MN-major  the tile is cut into blocks of 64 x; block j is 64 rows, row k
//             holding x = 64j .. 64j + 63 at k
// Either way 64 x make 8 KB, so a warpgroup's 64 rows of A start kXBlockBytes * w in.
// The chunk store of a quarter warp covers 8 different slots of one row or of 8 rows
// of an atom, so the cp.async writes are free of bank conflicts.
template <int X_, bool KMajor>
struct WgmmaLayout {
  static constexpr int X = X_, BK = 64;
  static constexpr bool kKMajor = KMajor;
  static constexpr int kV = 8;  // elements per run: one chunk
  static constexpr int kBytes = X * BK * 2;
  static constexpr int kXBlockBytes = 64 * 128;
  static_assert(X % 64 == 0, "whole 64-row blocks");

  // descriptor strides: K-major, 8-row groups 1024 bytes apart (the leading offset
  // is unused and encoded as 1); MN-major, 8-k groups 1024 apart and 64-x blocks
  // kXBlockBytes apart
  static constexpr uint32_t kLeadingBytes = KMajor ? 16 : kXBlockBytes;
  static constexpr uint32_t kStrideBytes = 1024;
  // the start address of k16 step s is s * kStepBytes further
  static constexpr uint32_t kStepBytes = KMajor ? 32 : 2048;

  __host__ __device__ static constexpr int offset(int x, int k) {
    const int row = KMajor ? x : x / 64 * BK + k;
    const int chunk = KMajor ? k / 8 : x % 64 / 8;
    return row * 128 + (chunk ^ (row & 7)) * 16;
  }
};

template <typename T, int BN_, bool KMajorA, bool KMajorB>
struct WgmmaMath {
  static constexpr int BM = 128, BN = BN_, BK = 64, kThreads = 256, kStages = 4;
  static constexpr int kMinBlocksAsync = 1, kMinBlocksStaged = 1;
  static constexpr int kAcc = BN / 2;  // accumulators per thread
  using Acc = float;
  using LayoutA = WgmmaLayout<BM, KMajorA>;
  using LayoutB = WgmmaLayout<BN, KMajorB>;
  static constexpr int kStageBytes = LayoutA::kBytes + LayoutB::kBytes;
  // the swizzle atoms must sit on 1024-byte boundaries: the kernel aligns the
  // dynamic shared memory up, within the extra kSmemAlign bytes asked for here
  static constexpr int kSmemAlign = 1024;
  static constexpr int kSmemBytes = kStages * kStageBytes + kSmemAlign;
  // the mainloop fences each thread's cp.async writes for the async proxy
  static constexpr bool kAsyncProxy = true;
  // compute() returns with the batch of the k-tile before still running, so the
  // tensor cores never wait for the barrier and the loads between two batches; the
  // mainloop keeps that tile's stage out of the refills
  static constexpr int kBatchesInFlight = 1;

  float acc[kAcc];

  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int i = 0; i < kAcc; ++i) acc[i] = 0.f;
  }

  // The descriptors of k16 step s for warpgroup w, with the stages at shared
  // addresses a and b.
  __host__ __device__ static void descriptors(int w, int s, uint32_t a, uint32_t b, uint64_t& da, uint64_t& db) {
    da = wgmma_descriptor(a + w * LayoutA::kXBlockBytes + s * LayoutA::kStepBytes, LayoutA::kLeadingBytes,
                          LayoutA::kStrideBytes);
    db = wgmma_descriptor(b + s * LayoutB::kStepBytes, LayoutB::kLeadingBytes, LayoutB::kStrideBytes);
  }

  __device__ __forceinline__ void compute(const char* sa, const char* sb) {
    const int w = threadIdx.x / 128;
    const uint32_t a = shared_address(sa), b = shared_address(sb);
    fence_accumulators(acc);
    wgmma_fence();
#pragma unroll
    for (int s = 0; s < BK / 16; ++s) {
      uint64_t da, db;
      descriptors(w, s, a, b, da, db);
      wgmma_m64k16<T, BN, !KMajorA, !KMajorB>(acc, da, db);
    }
    wgmma_commit();
    wgmma_wait<kBatchesInFlight>();
    fence_accumulators(acc);
  }

  // after the last k-tile: every batch done before the accumulators are read
  __device__ __forceinline__ void finish() {
    wgmma_wait<0>();
    fence_accumulators(acc);
  }

  __host__ __device__ static void position(int thread, int v, int& row, int& col) {
    row = thread / 32 * 16 + thread % 32 / 4 + v / 2 % 2 * 8;
    col = v / 4 * 8 + thread % 4 * 2 + v % 2;
  }

  template <typename F>
  __device__ __forceinline__ void for_each(F&& f) const {
#pragma unroll
    for (int v = 0; v < kAcc; ++v) {
      int row, col;
      position(threadIdx.x, v, row, col);
      f(row, col, acc[v]);
    }
  }
};

// The two block widths: 256 columns for large products (twice the work per byte of
// A loaded), 128 where N is small.
template <typename T, bool KA, bool KB>
using WgmmaMath128 = WgmmaMath<T, 128, KA, KB>;
template <typename T, bool KA, bool KB>
using WgmmaMath256 = WgmmaMath<T, 256, KA, KB>;

}  // namespace tg::cuda::tile

// The shared-memory side of the tile GEMM (gemm_tile.cuh): how an operand's k-tile
// sits in shared memory, and the math that multiplies a stage of A by a stage of B
// into per-thread accumulators.
//
//   TcMath    float16/bfloat16 on tensor cores: 128x128x32 block tile, 8 warps of
//             64x32 warp tiles, ldmatrix and mma.sync m16n8k16, fp32 accumulators,
//             3 stages; operand tiles in swizzled 16-byte chunks (HalfLayout)
//   SimtMath  FMA: float32 on 128x128x8 tiles with 8x8 per thread, and float64 and
//             the integers (int32 sums that wrap) on 64x64x8 with 4x4; operand tiles
//             as [k][x] rows of the compute type (SimtLayout), 2 stages
//
// Each math says where its accumulators sit (position, for_each), so epilogues and
// split-K partials never depend on the fragment layout.
#pragma once
#include <cstdint>
#include <type_traits>

#include "common.cuh"
#include "mma.cuh"
#include "tile_source.cuh"

namespace tg::cuda::tile {

// ---- shared-memory layouts ----------------------------------------------------

// A 16-bit operand tile (X by BK) for the tensor cores, in 16-byte chunks of 8
// elements along its contiguous direction: KMajor is [X][BK] (k contiguous, read
// by plain ldmatrix), otherwise [BK][X] (x contiguous, read by ldmatrix.trans).
// The chunk index is XORed with a function of the row so that the 8 rows one
// ldmatrix phase reads, and the 8 chunks one quarter-warp stores, fall into 8
// different 16-byte bank groups: no bank conflicts and no padding.
template <int X_, int BK_, bool KMajor>
struct HalfLayout {
  static constexpr int X = X_, BK = BK_;
  static constexpr bool kKMajor = KMajor;
  static constexpr int kV = 8;  // elements per run: one chunk
  static constexpr int kBytes = X * BK * 2;
  static constexpr int kRowChunks = (KMajor ? BK : X) / 8;
  static_assert(kRowChunks == 4 || kRowChunks % 8 == 0, "swizzle defined for 64-byte rows or 128-byte multiples");

  __host__ __device__ static constexpr int swizzle(int row) {
    return kRowChunks == 4 ? (row >> 1) & 3 : row & 7;
  }
  // byte offset of the chunk holding element (x, k); k (KMajor) or x (otherwise)
  // is a multiple of 8
  __host__ __device__ static constexpr int offset(int x, int k) {
    const int row = KMajor ? x : k, chunk = (KMajor ? k : x) / 8;
    return (row * kRowChunks + (chunk ^ swizzle(row))) * 16;
  }
  // the direction of the runs a loader reads into this layout
  __host__ __device__ static constexpr bool run_along_k(bool) { return KMajor; }

  template <typename T>
  __device__ __forceinline__ static void store_run(char* stage, int x, int k, bool, const T (&v)[kV]) {
    static_assert(sizeof(T) == 2, "16-bit elements");
    store_vector(reinterpret_cast<T*>(stage + offset(x, k)), v);
  }
};

// An operand tile for the SIMT math: [BK][X] of the compute type C (converted from
// storage at the store), so a thread reads 4 consecutive x with one vector load.
// The row pitch is padded by 16 bytes: rows stay 16-byte aligned and the transposed
// stores of runs along k (4 rows apart) land in different banks.
template <int X_, int BK_, typename C, int kThreads>
struct SimtLayout {
  static constexpr int X = X_, BK = BK_;
  static constexpr int kPitch = X + 16 / int(sizeof(C));
  static constexpr int kBytes = BK * kPitch * int(sizeof(C));
  static constexpr int kV = X * BK / kThreads;  // one run per thread
  static_assert(kV >= 1 && X * BK == kV * kThreads && BK % kV == 0, "whole runs");
  static_assert(kBytes % 16 == 0, "stages stay 16-byte aligned");

  __host__ __device__ static constexpr bool run_along_k(bool source_along_k) { return source_along_k; }

  template <typename T>
  __device__ __forceinline__ static void store_run(char* stage, int x, int k, bool along_k, const T (&v)[kV]) {
    C* s = reinterpret_cast<C*>(stage);
    C c[kV];
#pragma unroll
    for (int i = 0; i < kV; ++i) c[i] = static_cast<C>(Compute<T>::load(v[i]));
    if (along_k) {
#pragma unroll
      for (int i = 0; i < kV; ++i) s[(k + i) * kPitch + x] = c[i];
    } else {
      store_vector(s + k * kPitch + x, c);
    }
  }
};

// ---- math -----------------------------------------------------------------------

// What the mainloop asks of a math that reads shared memory with ordinary loads and
// finishes its products inside compute() (WgmmaMath differs in all three).
struct SyncMath {
  static constexpr int kSmemAlign = 128;      // the stages' alignment
  static constexpr bool kAsyncProxy = false;  // no async-proxy reads to fence for
  static constexpr int kBatchesInFlight = 0;  // compute() returns with its products done
};

// fp16/bf16 on tensor cores. 8 warps as 2 (M) x 4 (N), each a 64x32 warp tile of
// 4x4 mma m16n8k16 tiles, fp32 accumulators. 3 stages of 16 KB: 48 KB of shared
// memory, so two blocks fit an SM even on sm_86/sm_89 (100 KB), and with cp.async
// loaders ~128 registers, so they fit its register file too.
template <typename T, bool KMajorA, bool KMajorB>
struct TcMath : SyncMath {
  static constexpr int BM = 128, BN = 128, BK = 32, kThreads = 256, kStages = 3;
  // blocks per SM to fit registers for: 2 with cp.async loaders; 1 when operands
  // are staged through registers (their runs and values need ~40 more)
  static constexpr int kMinBlocksAsync = 2, kMinBlocksStaged = 1;
  static constexpr int kWarpsN = 4, WM = 64, WN = 32, MI = WM / 16, NI = WN / 8;
  using Acc = float;
  using LayoutA = HalfLayout<BM, BK, KMajorA>;
  using LayoutB = HalfLayout<BN, BK, KMajorB>;
  static constexpr int kStageBytes = LayoutA::kBytes + LayoutB::kBytes;
  static constexpr int kSmemBytes = kStages * kStageBytes;

  float acc[MI][NI][4];

  // Byte offsets in a stage of the row this lane hands to ldmatrix.x4 for the
  // 16x16 A fragment at (row0, k0) and for the two 16x8 B fragments at (col0, k0)
  // (registers: A 0..3 = rows +0/+8 x k +0/+8 as mma wants them; B 0,1 = columns
  // col0..+7, k +0/+8, then 2,3 = columns +8..+15).
  __host__ __device__ static int a_lane_offset(int lane, int row0, int k0) {
    const int j = lane / 8, r = lane % 8;
    if (KMajorA) return LayoutA::offset(row0 + r + (j & 1) * 8, k0 + (j >> 1) * 8);
    return LayoutA::offset(row0 + (j & 1) * 8, k0 + r + (j >> 1) * 8);
  }
  __host__ __device__ static int b_lane_offset(int lane, int col0, int k0) {
    const int j = lane / 8, r = lane % 8;
    if (KMajorB) return LayoutB::offset(col0 + r + (j >> 1) * 8, k0 + (j & 1) * 8);
    return LayoutB::offset(col0 + (j >> 1) * 8, k0 + r + (j & 1) * 8);
  }

  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
      for (int j = 0; j < NI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;
  }

  __device__ __forceinline__ void compute(const char* sa, const char* sb) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row0 = warp / kWarpsN * WM, col0 = warp % kWarpsN * WN;
#pragma unroll
    for (int ks = 0; ks < BK; ks += 16) {
      uint32_t a[MI][4], b[NI][2];
#pragma unroll
      for (int i = 0; i < MI; ++i) {
        const char* p = sa + a_lane_offset(lane, row0 + i * 16, ks);
        if (KMajorA) ldmatrix_x4(a[i], p);
        else ldmatrix_x4_trans(a[i], p);
      }
#pragma unroll
      for (int j = 0; j < NI; j += 2) {
        uint32_t r[4];
        const char* p = sb + b_lane_offset(lane, col0 + j * 8, ks);
        if (KMajorB) ldmatrix_x4(r, p);
        else ldmatrix_x4_trans(r, p);
        b[j][0] = r[0], b[j][1] = r[1], b[j + 1][0] = r[2], b[j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j) mma_16816<T>(acc[i][j], a[i], b[j]);
    }
  }

  // where accumulator acc[i][j][e] of this lane sits in the block tile (the mma C
  // fragment: rows lane/4 and +8, columns 2*(lane%4) and +1)
  __host__ __device__ static void position(int warp, int lane, int i, int j, int e, int& row, int& col) {
    row = warp / kWarpsN * WM + i * 16 + lane / 4 + (e >> 1) * 8;
    col = warp % kWarpsN * WN + j * 8 + lane % 4 * 2 + (e & 1);
  }

  // f(row, col, value) for every accumulator, rows and columns within the block tile
  template <typename F>
  __device__ __forceinline__ void for_each(F&& f) const {
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
      for (int j = 0; j < NI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          int row, col;
          position(threadIdx.x / 32, threadIdx.x % 32, i, j, e, row, col);
          f(row, col, acc[i][j][e]);
        }
  }
};

// Plain FMA math for fp32 and the simple types. 256 threads as 16x16; a thread owns
// GM x GN groups of 4x4, the groups BM/GM rows and BN/GN columns apart, so a warp's
// shared-memory reads are broadcasts or consecutive vectors. C is the type held in
// shared memory, Acc the accumulator (uint32 for the integer types: wrapping sums).
template <typename C, typename Acc_, int BM_, int BN_, int GM, int GN>
struct SimtMath : SyncMath {
  static constexpr int BM = BM_, BN = BN_, BK = 8, kThreads = 256, kStages = 2;
  static constexpr int kMinBlocksAsync = 2, kMinBlocksStaged = 2;
  static constexpr int TM = 4 * GM, TN = 4 * GN;
  static_assert(BM == 16 * TM && BN == 16 * TN, "16x16 threads cover the tile");
  using Acc = Acc_;
  using LayoutA = SimtLayout<BM, BK, C, kThreads>;
  using LayoutB = SimtLayout<BN, BK, C, kThreads>;
  static constexpr int kStageBytes = LayoutA::kBytes + LayoutB::kBytes;
  static constexpr int kSmemBytes = kStages * kStageBytes;

  Acc acc[TM][TN];

  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = Acc(0);
  }

  // four consecutive values, 16 bytes at a time
  __device__ __forceinline__ static void load4(const C* p, C* out) {
    constexpr int kPer = 16 / int(sizeof(C)) < 4 ? 16 / int(sizeof(C)) : 4;
#pragma unroll
    for (int i = 0; i < 4; i += kPer) {
      C v[kPer];
      load_vector(p + i, v);
#pragma unroll
      for (int e = 0; e < kPer; ++e) out[i + e] = v[e];
    }
  }

  __device__ __forceinline__ void compute(const char* sa, const char* sb) {
    const C* as = reinterpret_cast<const C*>(sa);
    const C* bs = reinterpret_cast<const C*>(sb);
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      C a[TM], b[TN];
#pragma unroll
      for (int g = 0; g < GM; ++g) load4(as + k * LayoutA::kPitch + g * (BM / GM) + ty * 4, a + g * 4);
#pragma unroll
      for (int g = 0; g < GN; ++g) load4(bs + k * LayoutB::kPitch + g * (BN / GN) + tx * 4, b + g * 4);
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += static_cast<Acc>(a[i]) * static_cast<Acc>(b[j]);
    }
  }

  __host__ __device__ static void position(int thread, int i, int j, int& row, int& col) {
    row = i / 4 * (BM / GM) + thread / 16 * 4 + i % 4;
    col = j / 4 * (BN / GN) + thread % 16 * 4 + j % 4;
  }

  template <typename F>
  __device__ __forceinline__ void for_each(F&& f) const {
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        int row, col;
        position(threadIdx.x, i, j, row, col);
        f(row, col, acc[i][j]);
      }
  }
};

// The math each storage type runs on. Math<KA, KB>: KA/KB say whether A's and B's
// tiles are stored k-contiguous (only the tensor-core layouts care).
template <typename T>
struct TilePath {  // double, int32, uint8, bool: the simple path
  using C = compute_t<T>;
  using Acc = std::conditional_t<std::is_integral_v<C>, uint32_t, C>;
  template <bool, bool>
  using Math = SimtMath<C, Acc, 64, 64, 1, 1>;
};
template <>
struct TilePath<float> {
  template <bool, bool>
  using Math = SimtMath<float, float, 128, 128, 2, 2>;
};
template <>
struct TilePath<half> {
  template <bool KA, bool KB>
  using Math = TcMath<half, KA, KB>;
};
template <>
struct TilePath<bfloat16> {
  template <bool KA, bool KB>
  using Math = TcMath<bfloat16, KA, KB>;
};

}  // namespace tg::cuda::tile

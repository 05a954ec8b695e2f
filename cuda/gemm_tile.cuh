// The tile machinery that every GEMM-shaped kernel of the CUDA backend runs on:
// the dense GEMM (gemm.cu) and the three implicit-GEMM convolution passes (conv.cu)
// differ only in their *sources* (where element (x, k) of an operand lives in global
// memory) and their *epilogues* (where element (row, col) of the result goes), so
// the loaders, the pipeline and the split-K driver below, and the maths of
// tile_math.cuh, are written once.
//
// A block computes one BM x BN tile of C = A (M, K) * B (K, N) of one matrix of a
// batch, looping over K in BK-deep k-tiles. Both operands are seen the same way: an
// operand tile is X rows (M for A, N for B) by BK, element (x, k).
//
//   source   where the elements are: run<V>(x, k) makes a thread's cursor for a run
//            of V consecutive elements along x or along k (the source's `along_k`)
//            once per block; load<V>(run, kk, out) reads it kk further along K,
//            zero outside the operand (DenseSource in tile_source.cuh, the conv
//            gathers in conv_gemm.cuh)
//   layout   how an operand tile sits in shared memory (per math, tile_math.cuh)
//   loader   moves one k-tile from a source into a shared-memory stage:
//            RegLoader  loads runs into registers in fetch() and stores them in
//                       commit(), after the math of the current tile, so its global
//                       latency hides behind that math (any source, any alignment)
//            AsyncLoader  cp.async 16-byte copies straight to shared memory with
//                       zero fill at the edges (dense, 16-byte aligned operands)
//   math     (tile_math.cuh, wgmma_math.cuh)
//            TcMath    fp16/bf16: 128x128x32 tile, 8 warps of 64x32, ldmatrix and
//                      mma.sync m16n8k16 with fp32 accumulators, 3 stages
//            WgmmaMath fp16/bf16 on sm_90a: 128x128x64 or 128x256x64 tile, 2
//                      warpgroups of wgmma from swizzled shared memory, 4 stages,
//                      one k-tile's batch left running across the barrier
//            SimtMath  fp32 (128x128x8, 8x8 per thread) and the simple types
//                      (64x64x8, 4x4 per thread): plain FMA, 2 stages
//   output   TileOutput: the epilogue, or split-K partial sums (gemm_epilogue.cuh)
//
// The pipeline keeps kStages k-tiles in shared memory: while tile kt is multiplied,
// tiles kt+1 .. kt+kStages-1 are in flight (one fewer for wgmma, whose previous
// tile may still be read); one __syncthreads per k-tile.
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "common.cuh"
#include "gemm_epilogue.cuh"
#include "mma.cuh"
#include "scratch.cuh"
#include "tile_math.cuh"
#include "tile_source.cuh"
#include "wgmma.cuh"

namespace tg::cuda::tile {

// Run q of a tile (q = thread + r * threads): its first element (x, k).
template <int X, int BK, int V>
__host__ __device__ __forceinline__ void run_origin(int q, bool along_k, int& x, int& k) {
  if (along_k) {
    x = q / (BK / V);
    k = q % (BK / V) * V;
  } else {
    k = q / (X / V);
    x = q % (X / V) * V;
  }
}

// ---- loaders --------------------------------------------------------------------

// Any source into any layout, through registers.
template <typename Layout, typename Source_, int kThreads>
struct RegLoader {
  using Source = Source_;
  using T = typename Source::Elem;
  static constexpr int X = Layout::X, BK = Layout::BK, V = Layout::kV;
  static constexpr int kRuns = X * BK / (V * kThreads);
  static_assert(kRuns >= 1 && X * BK == kRuns * V * kThreads, "whole runs per thread");
  static constexpr bool kAsync = false;

  Source src;
  typename Source::Run runs[kRuns];
  T regs[kRuns][V];

  // whether a source's runs go the way this loader stores them (checked at launch)
  static bool fits(const Source& s) { return Layout::run_along_k(s.along_k) == s.along_k; }

  // the runs' direction: fixed by a tensor-core layout (a compile-time constant),
  // the source's own for the SIMT layout
  __device__ __forceinline__ bool along_k() const { return Layout::run_along_k(src.along_k); }

  __device__ __forceinline__ RegLoader(const Source& s, int64_t batch, int64_t x0, int64_t k0) : src(s) {
    src.to_batch(batch);
#pragma unroll
    for (int r = 0; r < kRuns; ++r) {
      int x, k;
      run_origin<X, BK, V>(threadIdx.x + r * kThreads, along_k(), x, k);
      runs[r] = src.template run<V>(x0 + x, k0 + k);
    }
  }
  __device__ __forceinline__ void fetch(int kt, char*) {
#pragma unroll
    for (int r = 0; r < kRuns; ++r) src.template load<V>(runs[r], int64_t(kt) * BK, regs[r]);
  }
  __device__ __forceinline__ void commit(char* stage) {
#pragma unroll
    for (int r = 0; r < kRuns; ++r) {
      int x, k;
      run_origin<X, BK, V>(threadIdx.x + r * kThreads, along_k(), x, k);
      Layout::store_run(stage, x, k, along_k(), regs[r]);
    }
  }
};

// A dense 16-bit operand, 16-byte aligned (base, ld, batch stride), into a
// HalfLayout or WgmmaLayout of the same orientation, with cp.async; edges
// zero-filled by copying fewer source bytes (never reading past the operand).
template <typename Layout, typename T, int kThreads>
struct AsyncLoader {
  using Source = DenseSource<T>;
  static constexpr int X = Layout::X, BK = Layout::BK, V = Layout::kV;
  static constexpr int kRuns = X * BK / (V * kThreads);
  static_assert(kRuns >= 1 && X * BK == kRuns * V * kThreads && sizeof(T) * V == 16, "16-byte chunks");
  static constexpr bool kAsync = true;

  Source src;
  typename Source::Run runs[kRuns];

  static bool fits(const Source& s) { return s.vector && s.along_k == Layout::kKMajor; }

  __device__ __forceinline__ AsyncLoader(const Source& s, int64_t batch, int64_t x0, int64_t k0) : src(s) {
    src.to_batch(batch);
#pragma unroll
    for (int r = 0; r < kRuns; ++r) {
      int x, k;
      run_origin<X, BK, V>(threadIdx.x + r * kThreads, Layout::kKMajor, x, k);
      runs[r] = src.template run<V>(x0 + x, k0 + k);
    }
  }
  __device__ __forceinline__ void fetch(int kt, char* stage) {
#pragma unroll
    for (int r = 0; r < kRuns; ++r) {
      int x, k;
      run_origin<X, BK, V>(threadIdx.x + r * kThreads, Layout::kKMajor, x, k);
      const int64_t kk = int64_t(kt) * BK;
      const int n = src.template valid<V>(runs[r], kk);
      cp_async_16(stage + Layout::offset(x, k), n > 0 ? runs[r].ptr + kk * src.sk : src.p, n * int(sizeof(T)));
    }
  }
  __device__ __forceinline__ void commit(char*) {}
};

// ---- pipeline and kernel --------------------------------------------------------

// Math::kBatchesInFlight (F) is how many k-tiles' products may still be running
// when compute() returns (wgmma; 0 for the synchronous maths): their stages are
// not refilled, so P = S - 1 - F tiles are loaded ahead.
template <typename Math, typename LoaderA, typename LoaderB>
__device__ __forceinline__ void mainloop(LoaderA& la, LoaderB& lb, Math& math, char* smem, int k_tiles) {
  constexpr int S = Math::kStages, F = Math::kBatchesInFlight, P = S - 1 - F;
  static_assert(P >= 1, "at least one tile loaded ahead");
  auto stage_a = [&](int s) { return smem + s * Math::kStageBytes; };
  auto stage_b = [&](int s) { return smem + s * Math::kStageBytes + Math::LayoutA::kBytes; };
  // prologue: tiles 0 .. P-1, one cp.async group each (empty groups keep the count)
#pragma unroll
  for (int s = 0; s < P; ++s) {
    if (s < k_tiles) {
      la.fetch(s, stage_a(s));
      lb.fetch(s, stage_b(s));
      la.commit(stage_a(s));
      lb.commit(stage_b(s));
    }
    cp_async_commit();
  }
  for (int kt = 0; kt < k_tiles; ++kt) {
    // groups 0..kt are complete once at most P-1 are pending; the barrier then makes
    // tile kt visible to all, and says every thread is done with tile kt-1-F (its
    // compute at kt-1 returned with at most F later tiles running), whose stage is
    // the one refilled now
    cp_async_wait<P - 1>();
    if constexpr (Math::kAsyncProxy) fence_proxy_async();
    __syncthreads();
    const int next = kt + P, ns = next % S;
    const bool more = next < k_tiles;
    if (more) {
      la.fetch(next, stage_a(ns));
      lb.fetch(next, stage_b(ns));
    }
    math.compute(stage_a(kt % S), stage_b(kt % S));
    if (more) {
      la.commit(stage_a(ns));
      lb.commit(stage_b(ns));
    }
    cp_async_commit();
  }
  if constexpr (F > 0) math.finish();
}

template <typename Math_, typename LoaderA_, typename LoaderB_, typename Epi_>
struct TileKernel {
  using Math = Math_;
  using LoaderA = LoaderA_;
  using LoaderB = LoaderB_;
  using Epi = Epi_;
  using Output = TileOutput<Epi, typename Math::Acc>;
  static constexpr int kMinBlocks =
      LoaderA::kAsync && LoaderB::kAsync ? Math::kMinBlocksAsync : Math::kMinBlocksStaged;
  struct Args {
    typename LoaderA::Source a;
    typename LoaderB::Source b;
    Output out;
    int64_t depth = 0, k_per_split = 0, b0 = 0;  // K; K per split (a multiple of BK); first batch
    int tiles_m = 0, tiles_n = 0, splits = 1;
  };
};

// Tile index -> (tile row, tile column), in groups of 8 tile rows swept column by
// column, so the blocks resident together share A rows and B columns in L2.
__device__ __forceinline__ void raster(int64_t id, int64_t tiles_m, int64_t tiles_n, int64_t& tm, int64_t& tn) {
  constexpr int64_t kGroup = 8;
  const int64_t per_group = kGroup * tiles_n, group = id / per_group, first = group * kGroup;
  const int64_t size = imin(tiles_m - first, kGroup), in = id - group * per_group;
  tm = first + in % size;
  tn = in / size;
}

template <typename K>
__device__ __forceinline__ void tile_block(const typename K::Args& args) {
  using Math = typename K::Math;
  extern __shared__ __align__(128) char smem_base[];
  constexpr uint32_t kAlign = Math::kSmemAlign;
  char* smem = smem_base + (kAlign - shared_address(smem_base) % kAlign) % kAlign;
  int64_t tm, tn;
  raster(blockIdx.x, args.tiles_m, args.tiles_n, tm, tn);
  const int64_t batch = args.b0 + blockIdx.z / args.splits;
  const int split = blockIdx.z % args.splits;
  const int64_t m0 = tm * Math::BM, n0 = tn * Math::BN, k0 = split * args.k_per_split;
  const int64_t k1 = imin(args.depth, k0 + args.k_per_split);
  const int k_tiles = k1 > k0 ? int((k1 - k0 + Math::BK - 1) / Math::BK) : 0;
  typename K::LoaderA la(args.a, batch, m0, k0);
  typename K::LoaderB lb(args.b, batch, n0, k0);
  Math math;
  math.zero();
  mainloop(la, lb, math, smem, k_tiles);
  math.for_each([&](int r, int c, typename Math::Acc v) { args.out.store(batch, split, m0 + r, n0 + c, v); });
}

// grid: x = tiles, z = (batch, split) pairs of this launch. A wgmma kernel compiled
// for a target without wgmma is never launched (gemm.cu asks first) and is kept
// down to a trap.
template <typename K>
__global__ void __launch_bounds__(K::Math::kThreads, K::kMinBlocks) tile_kernel(const typename K::Args args) {
  if constexpr (K::Math::kAsyncProxy && !kWgmmaCompiled) __trap();
  else tile_block<K>(args);
}

// ---- host driver ----------------------------------------------------------------

// Blocks over K when the tiles alone would leave most SMs idle and K is deep: the
// splits about fill the device, each keeps at least 8 k-tiles, and the partial
// sums (written once, read once by finish_splits) stay under 256 MB.
inline int split_count(int64_t tiles, int64_t k_tiles, int64_t out_elems, int acc_bytes) {
  const int64_t sms = sm_count();
  if (2 * tiles > sms || k_tiles < 16) return 1;
  int64_t s = std::min<int64_t>({sms / tiles, k_tiles / 8, 32});
  s = std::min<int64_t>(s, (int64_t(256) << 20) / std::max<int64_t>(out_elems * acc_bytes, 1));
  return static_cast<int>(std::max<int64_t>(s, 1));
}

// C (batch of M x N) = epi(A (M, K) * B (K, N)) with the loaders and math of K.
template <typename K>
void run_tiles(const typename K::LoaderA::Source& a, const typename K::LoaderB::Source& b,
               const typename K::Epi& epi, int64_t m, int64_t n, int64_t depth, int64_t batch) {
  using Math = typename K::Math;
  using Acc = typename Math::Acc;
  if (m <= 0 || n <= 0 || batch <= 0) return;
  if (!K::LoaderA::fits(a) || !K::LoaderB::fits(b))
    throw std::logic_error("tile GEMM: an operand's runs do not match its loader");
  const int64_t tiles_m = (m + Math::BM - 1) / Math::BM, tiles_n = (n + Math::BN - 1) / Math::BN;
  if (tiles_m * tiles_n > INT32_MAX) throw std::runtime_error("GEMM too large for the CUDA kernels");

  static const bool configured = [] {
    if (Math::kSmemBytes > 48 * 1024)
      TG_CUDA_CHECK(cudaFuncSetAttribute(tile_kernel<K>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         Math::kSmemBytes));
    return true;
  }();
  (void)configured;

  typename K::Args args;
  args.a = a;
  args.b = b;
  args.out.epi = epi;
  args.out.rows = m;
  args.out.cols = n;
  args.depth = depth;
  args.tiles_m = static_cast<int>(tiles_m);
  args.tiles_n = static_cast<int>(tiles_n);
  const int64_t k_tiles = (depth + Math::BK - 1) / Math::BK;
  int splits = split_count(tiles_m * tiles_n * batch, k_tiles, batch * m * n, int(sizeof(Acc)));
  const int64_t tiles_per_split = std::max<int64_t>((k_tiles + splits - 1) / splits, 1);
  args.k_per_split = tiles_per_split * Math::BK;
  splits = static_cast<int>(std::max<int64_t>((k_tiles + tiles_per_split - 1) / tiles_per_split, 1));
  args.out.splits = args.splits = splits;

  // blockIdx.z holds (batch, split) pairs; at most 65535 per launch
  auto launch = [&](Acc* partial) {
    args.out.partial = partial;
    const int64_t per_launch = std::max<int64_t>(65535 / splits, 1);
    for (int64_t b0 = 0; b0 < batch; b0 += per_launch) {
      args.b0 = b0;
      const int64_t count = std::min(per_launch, batch - b0);
      const dim3 grid(static_cast<unsigned>(tiles_m * tiles_n), 1, static_cast<unsigned>(count * splits));
      tile_kernel<K><<<grid, Math::kThreads, Math::kSmemBytes, stream()>>>(args);
      TG_CUDA_LAUNCH_CHECK();
    }
  };
  if (splits == 1) return launch(nullptr);
  Scratch<Acc> partial(int64_t(splits) * batch * m * n);
  launch(partial.get());
  finish_splits(partial.get(), splits, batch, m, n, epi);
}

}  // namespace tg::cuda::tile

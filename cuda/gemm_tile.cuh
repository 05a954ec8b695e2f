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

// Lets Kernel take `bytes` of dynamic shared memory: over 48 KB must be asked for, once
// per kernel.
template <auto Kernel>
void allow_shared_memory(int bytes) {
  static const bool asked = [&] {
    if (bytes > 48 * 1024) TG_CUDA_CHECK(cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    return true;
  }();
  (void)asked;
}

// How the blocks of a tiled GEMM cover it: tiles of BM x BN, and K cut into splits of
// k_per_split (a multiple of BK) when split_count says so.
struct TilePlan {
  int64_t tiles_m = 0, tiles_n = 0, k_per_split = 0;
  int splits = 1;
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

// A block's share of the GEMM: its matrix of the batch, its tile's origin, its K split.
struct BlockTile {
  int64_t batch, m0, n0, k0;
  int split, k_tiles;
};

// What every tile kernel's blocks read to find their tile, split and batch, and where
// their sums go.
template <typename Output>
struct TileGrid {
  Output out;
  int64_t depth = 0, k_per_split = 0, b0 = 0;  // K; K per split (a multiple of BK); first batch
  int tiles_m = 0, tiles_n = 0, splits = 1;

  template <typename Epi>
  void cover(const TilePlan& p, const Epi& epi, int64_t m, int64_t n, int64_t k) {
    out.epi = epi;
    out.rows = m;
    out.cols = n;
    depth = k;
    tiles_m = static_cast<int>(p.tiles_m);
    tiles_n = static_cast<int>(p.tiles_n);
    k_per_split = p.k_per_split;
    out.splits = splits = p.splits;
  }

  // grid: x = tiles (rastered), z = (batch, split) pairs of this launch
  template <int BM, int BN, int BK>
  __device__ __forceinline__ BlockTile block_tile() const {
    BlockTile t;
    int64_t tm, tn;
    raster(blockIdx.x, tiles_m, tiles_n, tm, tn);
    t.batch = b0 + blockIdx.z / splits;
    t.split = blockIdx.z % splits;
    t.m0 = tm * BM, t.n0 = tn * BN, t.k0 = t.split * k_per_split;
    const int64_t k1 = imin(depth, t.k0 + k_per_split);
    t.k_tiles = k1 > t.k0 ? int((k1 - t.k0 + BK - 1) / BK) : 0;
    return t;
  }
};

template <typename Math_, typename LoaderA_, typename LoaderB_, typename Epi_>
struct TileKernel {
  using Math = Math_;
  using LoaderA = LoaderA_;
  using LoaderB = LoaderB_;
  using Epi = Epi_;
  using Output = TileOutput<Epi, typename Math::Acc>;
  static constexpr int kMinBlocks =
      LoaderA::kAsync && LoaderB::kAsync ? Math::kMinBlocksAsync : Math::kMinBlocksStaged;
  struct Args : TileGrid<Output> {
    typename LoaderA::Source a;
    typename LoaderB::Source b;
  };
};

template <typename K>
__device__ __forceinline__ void tile_block(const typename K::Args& args) {
  using Math = typename K::Math;
  extern __shared__ __align__(128) char smem_base[];
  constexpr uint32_t kAlign = Math::kSmemAlign;
  char* smem = smem_base + (kAlign - shared_address(smem_base) % kAlign) % kAlign;
  const BlockTile t = args.template block_tile<Math::BM, Math::BN, Math::BK>();
  typename K::LoaderA la(args.a, t.batch, t.m0, t.k0);
  typename K::LoaderB lb(args.b, t.batch, t.n0, t.k0);
  Math math;
  math.zero();
  mainloop(la, lb, math, smem, t.k_tiles);
  math.for_each([&](int r, int c, typename Math::Acc v) { args.out.store(t.batch, t.split, t.m0 + r, t.n0 + c, v); });
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

template <int BM, int BN, int BK>
TilePlan plan_tiles(int64_t m, int64_t n, int64_t depth, int64_t batch, int acc_bytes) {
  TilePlan p;
  p.tiles_m = (m + BM - 1) / BM;
  p.tiles_n = (n + BN - 1) / BN;
  if (p.tiles_m * p.tiles_n > INT32_MAX) throw std::runtime_error("GEMM too large for the CUDA kernels");
  const int64_t k_tiles = (depth + BK - 1) / BK;
  const int splits = split_count(p.tiles_m * p.tiles_n * batch, k_tiles, batch * m * n, acc_bytes);
  const int64_t tiles_per_split = std::max<int64_t>((k_tiles + splits - 1) / splits, 1);
  p.k_per_split = tiles_per_split * BK;
  p.splits = static_cast<int>(std::max<int64_t>((k_tiles + tiles_per_split - 1) / tiles_per_split, 1));
  return p;
}

// Runs launch(partial, b0, count, grid) for every chunk of the batch (blockIdx.z holds
// (batch, split) pairs, at most 65535 per launch); with splits, partial is the scratch
// of the partial sums, which finish_splits then hands to epi.
template <typename Acc, typename Epi, typename Launch>
void launch_plan(const TilePlan& p, int64_t batch, int64_t m, int64_t n, const Epi& epi, Launch&& launch) {
  auto chunks = [&](Acc* partial) {
    const int64_t per_launch = std::max<int64_t>(65535 / p.splits, 1);
    for (int64_t b0 = 0; b0 < batch; b0 += per_launch) {
      const int64_t count = std::min(per_launch, batch - b0);
      launch(partial, b0, dim3(static_cast<unsigned>(p.tiles_m * p.tiles_n), 1, static_cast<unsigned>(count * p.splits)));
    }
  };
  if (p.splits == 1) return chunks(nullptr);
  Scratch<Acc> partial(int64_t(p.splits) * batch * m * n);
  chunks(partial.get());
  finish_splits(partial.get(), p.splits, batch, m, n, epi);
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
  const TilePlan plan = plan_tiles<Math::BM, Math::BN, Math::BK>(m, n, depth, batch, int(sizeof(Acc)));

  allow_shared_memory<tile_kernel<K>>(Math::kSmemBytes);
  typename K::Args args;
  args.cover(plan, epi, m, n, depth);
  args.a = a;
  args.b = b;
  launch_plan<Acc>(plan, batch, m, n, epi, [&](Acc* partial, int64_t b0, dim3 grid) {
    args.out.partial = partial;
    args.b0 = b0;
    tile_kernel<K><<<grid, Math::kThreads, Math::kSmemBytes, stream()>>>(args);
    TG_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tg::cuda::tile

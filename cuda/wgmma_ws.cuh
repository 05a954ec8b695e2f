// The warp-specialized sm_90a GEMM: fp16/bf16 with the operands brought in by the
// copy engine (tma.cuh) instead of cp.async, and the block's warpgroups split by role.
//
//   warpgroup 0 (producer)   gives back most of its registers; one thread keeps
//                            kStages k-tiles in flight, each a few TMA boxes that
//                            complete on the stage's `full` mbarrier
//   warpgroups 1, 2          take the registers (64 x BN fp32 accumulators each),
//   (consumers)              wait on `full`, multiply with wgmma straight from the
//                            stage (WgmmaMath's layout and descriptors), and once
//                            wgmma_wait says the batch of a k-tile is done, arrive
//                            on that stage's `empty` mbarrier so the producer can
//                            refill it
//
// Nothing waits on a block-wide barrier inside the loop: the tensor cores see the
// next tile as soon as its bytes land, and the loads of tile kt + kStages start as
// soon as tile kt is read. The block tile is 128 x BN x 64 like WgmmaMath (which
// provides the layouts, descriptors and accumulator positions), and the epilogue,
// split K and batching are the tile machinery's (gemm_tile.cuh).
#pragma once
#include <cstdint>
#include <stdexcept>

#include "gemm_epilogue.cuh"
#include "gemm_tile.cuh"
#include "tensor_map.cuh"
#include "tma.cuh"
#include "wgmma_math.cuh"

namespace tg::cuda::tile {

template <typename T, int BN_, bool KMajorA, bool KMajorB, typename Epi_>
struct WsGemm {
  using Elem = T;
  using Math = WgmmaMath<T, BN_, KMajorA, KMajorB>;
  using Epi = Epi_;
  using Acc = float;
  using Output = TileOutput<Epi, Acc>;
  using LayoutA = typename Math::LayoutA;
  using LayoutB = typename Math::LayoutB;
  static constexpr int BM = Math::BM, BN = BN_, BK = Math::BK;
  static constexpr int kThreads = 384;                            // producer + 2 consumers
  static constexpr int kStageBytes = Math::kStageBytes;           // 32 or 48 KB
  static constexpr int kStages = BN == 256 ? 4 : 6;               // about 192 KB in flight
  static constexpr int kBarrierBytes = 2 * kStages * 8;           // full and empty
  static constexpr int kSmemBytes = kStages * kStageBytes + kBarrierBytes + 1024;  // + alignment
  // 384 threads start with 168 registers each (__launch_bounds__(384, 1)); the
  // consumers' raise to 232 is what the producer's drop to 40 frees, so a lower cap
  // at entry (-maxrregcount) would leave setmaxnreg.inc waiting for ever
  static constexpr int kProducerRegisters = 40, kConsumerRegisters = 232;
  static_assert(128 * kProducerRegisters + 256 * kConsumerRegisters <= 65536, "the register file");

  struct Args : TileGrid<Output> {
    CUtensorMap a, b;           // operand boxes: X-major or K-major as the layouts
    bool a_batched, b_batched;  // false: one matrix every batch shares
  };

  // The TMA boxes of one operand's k-tile kt into its stage: a K-major tile is one box
  // of X lines of 64 k; an X-major one is X / 64 boxes of 64 k-lines of 64 x, each a
  // 64-x block of the layout (WgmmaLayout).
  template <typename Layout>
  __device__ static void load_operand(char* stage, const CUtensorMap* map, int64_t x0, int64_t k, int batch,
                                      uint64_t* full) {
    if constexpr (Layout::kKMajor) {
      tma_load_3d(stage, map, int(k), int(x0), batch, full);
    } else {
#pragma unroll
      for (int j = 0; j < Layout::X / 64; ++j)
        tma_load_3d(stage + j * Layout::kXBlockBytes, map, int(x0 + 64 * j), int(k), batch, full);
    }
  }
};

template <typename K>
__global__ void __launch_bounds__(K::kThreads, 1) ws_gemm_kernel(const __grid_constant__ typename K::Args args) {
  using Math = typename K::Math;
#ifdef TG_WGMMA
  constexpr int S = K::kStages;
  extern __shared__ __align__(128) char smem_base[];
  char* smem = smem_base + (1024 - shared_address(smem_base) % 1024) % 1024;
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + S * K::kStageBytes);
  uint64_t* empty = full + S;
  auto stage_a = [&](int s) { return smem + s * K::kStageBytes; };
  auto stage_b = [&](int s) { return smem + s * K::kStageBytes + K::LayoutA::kBytes; };

  if (threadIdx.x == 0) {
    for (int s = 0; s < S; ++s) {
      mbarrier_init(&full[s], 1);     // the producer's arrive; the bytes come with the copies
      mbarrier_init(&empty[s], 256);  // every consumer thread, once its wgmma has read the stage
    }
    mbarrier_init_fence();
  }
  __syncthreads();

  const BlockTile tile = args.template block_tile<Math::BM, Math::BN, Math::BK>();

  if (threadIdx.x < 128) {  // producer
    registers_release<K::kProducerRegisters>();
    if (threadIdx.x != 0) return;
    const int ba = args.a_batched ? int(tile.batch) : 0, bb = args.b_batched ? int(tile.batch) : 0;
    for (int kt = 0; kt < tile.k_tiles; ++kt) {
      const int s = kt % S, round = kt / S;
      if (round > 0) mbarrier_wait(&empty[s], (round - 1) & 1);  // its previous tile is read
      mbarrier_arrive_expect_tx(&full[s], K::kStageBytes);
      const int64_t k = tile.k0 + int64_t(kt) * Math::BK;
      K::template load_operand<typename K::LayoutA>(stage_a(s), &args.a, tile.m0, k, ba, &full[s]);
      K::template load_operand<typename K::LayoutB>(stage_b(s), &args.b, tile.n0, k, bb, &full[s]);
    }
    return;
  }

  // consumers: warpgroup w = 0, 1 of them takes rows 64w .. 64w + 63
  registers_claim<K::kConsumerRegisters>();
  const int t = threadIdx.x - 128, w = t / 128;
  float acc[Math::kAcc];
#pragma unroll
  for (int i = 0; i < Math::kAcc; ++i) acc[i] = 0.f;
  for (int kt = 0; kt < tile.k_tiles; ++kt) {
    const int s = kt % S;
    mbarrier_wait(&full[s], (kt / S) & 1);
    const uint32_t a = shared_address(stage_a(s)), b = shared_address(stage_b(s));
    fence_accumulators(acc);
    wgmma_fence();
#pragma unroll
    for (int step = 0; step < Math::BK / 16; ++step) {
      uint64_t da, db;
      Math::descriptors(w, step, a, b, da, db);
      wgmma_m64k16<typename K::Elem, Math::BN, !K::LayoutA::kKMajor, !K::LayoutB::kKMajor>(acc, da, db);
    }
    wgmma_commit();
    wgmma_wait<1>();  // the batch of k-tile kt - 1 is done: its stage may be refilled
    fence_accumulators(acc);
    if (kt > 0) mbarrier_arrive(&empty[(kt - 1) % S]);
  }
  wgmma_wait<0>();
  fence_accumulators(acc);
#pragma unroll
  for (int v = 0; v < Math::kAcc; ++v) {
    int row, col;
    Math::position(t, v, row, col);
    args.out.store(tile.batch, tile.split, tile.m0 + row, tile.n0 + col, acc[v]);
  }
#else
  (void)args;
  __trap();  // never launched: gemm.cu asks whether the loaded module has wgmma
#endif
}

// The operands of a dense GEMM as tensor maps: element (x, k) of an operand at
// p[x * ld + k] (K-major) or p[k * ld + x], `rows` x by `depth` k, matrices
// batch_stride apart (0: shared). Base, ld and batch_stride must be 16-byte multiples.
template <typename Layout>
CUtensorMap operand_map(const void* p, int64_t ld, int64_t rows, int64_t depth, int64_t batch, int64_t batch_stride) {
  const int64_t batches = batch_stride == 0 ? 1 : batch;
  if constexpr (Layout::kKMajor) return tensor_map_16bit(p, depth, rows, batches, ld, batch_stride, 64, Layout::X);
  else return tensor_map_16bit(p, rows, depth, batches, ld, batch_stride, 64, 64);
}

// C (batch of M x N) = epi(A (M, K) * B (K, N)) on the warp-specialized kernel; the
// caller has checked that the loaded module has wgmma and that both operands fit TMA
// (gemm.cu: aligned, positive strides, every coordinate within an int).
template <typename K>
void run_ws_gemm(const CUtensorMap& a, bool a_batched, const CUtensorMap& b, bool b_batched,
                 const typename K::Epi& epi, int64_t m, int64_t n, int64_t depth, int64_t batch) {
  if (m <= 0 || n <= 0 || batch <= 0) return;
  const TilePlan plan = plan_tiles<K::BM, K::BN, K::BK>(m, n, depth, batch, int(sizeof(typename K::Acc)));
  allow_shared_memory<ws_gemm_kernel<K>>(K::kSmemBytes);
  typename K::Args args;
  args.cover(plan, epi, m, n, depth);
  args.a = a;
  args.b = b;
  args.a_batched = a_batched;
  args.b_batched = b_batched;
  launch_plan<typename K::Acc>(plan, batch, m, n, epi, [&](typename K::Acc* partial, int64_t b0, dim3 grid) {
    args.out.partial = partial;
    args.b0 = b0;
    ws_gemm_kernel<K><<<grid, K::kThreads, K::kSmemBytes, stream()>>>(args);
    TG_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tg::cuda::tile

// GEMM on the device: C = act(alpha * op(A) op(B) + beta * C + bias), row-major,
// batched with element strides (native/kernels.h GemmArgs), over the tile machinery
// of gemm_tile.cuh with the epilogue fused (gemm_epilogue.cuh), so C is read at most
// once and written once.
//
//   float16, bfloat16  tensor cores with fp32 accumulation: operands whose base,
//                      leading dimension and batch stride are 16-byte aligned
//                      stream in with cp.async in their own orientation (one kernel
//                      per transpose pair), multiplied by wgmma on sm_90a (H100,
//                      H200) and by mma.sync elsewhere; any other operand goes
//                      through the register loader to mma.sync, element by element
//                      where it must. TENSORGRAD_CUDA_WGMMA=0 keeps sm_90a on
//                      mma.sync (to compare the two).
//   float32            SIMT FMA, 128x128 tiles with 8x8 per thread: exact fp32 as
//                      PyTorch's default (no TF32)
//   float64, int32, uint8, bool   64x64 SIMT tiles in the CPU's compute type
//                      (integers: int32 arithmetic that wraps)
// Deep K with few tiles is split over blocks (deterministic partial sums).
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "common.cuh"
#include "gemm_epilogue.cuh"
#include "gemm_tile.cuh"
#include "scratch.cuh"
#include "wgmma_math.cuh"
#include "wgmma_ws.cuh"

namespace tg::cuda {

namespace {

using tile::DenseSource;
using tile::MatrixEpilogue;
using tile::TilePath;

// A's tile element (x = row of C, k) and B's (x = column of C, k) as strided sources
// read along `along_k` (default: their contiguous direction) in runs of `run`.
template <typename T>
DenseSource<T> source_a(const GemmArgs& g, const T* a, int run, bool along_k) {
  return tile::make_dense(a, !g.trans_a, g.lda, g.m, g.k, g.stride_a, run, along_k);
}
template <typename T>
DenseSource<T> source_b(const GemmArgs& g, const T* b, int run, bool along_k) {
  return tile::make_dense(b, g.trans_b, g.ldb, g.n, g.k, g.stride_b, run, along_k);
}

template <typename Math, typename LoaderA, typename LoaderB, typename T>
void run(const GemmArgs& g, const DenseSource<T>& a, const DenseSource<T>& b, const MatrixEpilogue<T>& epi) {
  tile::run_tiles<tile::TileKernel<Math, LoaderA, LoaderB, MatrixEpilogue<T>>>(a, b, epi, g.m, g.n, g.k, g.batch);
}

// Both operands 16-byte aligned: cp.async in the operands' own orientation, into
// the layouts of Math<T, k-major A, k-major B>.
template <typename M, typename T>
void run_async_as(const GemmArgs& g, const DenseSource<T>& a, const DenseSource<T>& b, const MatrixEpilogue<T>& epi) {
  run<M, tile::AsyncLoader<typename M::LayoutA, T, M::kThreads>,
      tile::AsyncLoader<typename M::LayoutB, T, M::kThreads>>(g, a, b, epi);
}
// Calls f(A k-major, B k-major) with the GEMM's transpose pair as bool_constants: one
// kernel per orientation.
template <typename F>
void with_orientation(const GemmArgs& g, F&& f) {
  using std::bool_constant;
  if (!g.trans_a && g.trans_b) return f(bool_constant<true>{}, bool_constant<true>{});
  if (!g.trans_a) return f(bool_constant<true>{}, bool_constant<false>{});
  if (g.trans_b) return f(bool_constant<false>{}, bool_constant<true>{});
  f(bool_constant<false>{}, bool_constant<false>{});
}

template <template <typename, bool, bool> class Math, typename T>
void run_async(const GemmArgs& g, const DenseSource<T>& a, const DenseSource<T>& b, const MatrixEpilogue<T>& epi) {
  with_orientation(g, [&](auto ka, auto kb) {
    run_async_as<Math<T, decltype(ka)::value, decltype(kb)::value>>(g, a, b, epi);
  });
}

// Both operands 16-byte aligned, on the warp-specialized TMA kernel (wgmma_ws.cuh).
template <int BN, typename T>
void run_tma(const GemmArgs& g, const T* a, const T* b, const MatrixEpilogue<T>& epi) {
  with_orientation(g, [&](auto ka, auto kb) {
    using K = tile::WsGemm<T, BN, decltype(ka)::value, decltype(kb)::value, MatrixEpilogue<T>>;
    const CUtensorMap ma = tile::operand_map<typename K::LayoutA>(a, g.lda, g.m, g.k, g.batch, g.stride_a);
    const CUtensorMap mb = tile::operand_map<typename K::LayoutB>(b, g.ldb, g.n, g.k, g.batch, g.stride_b);
    tile::run_ws_gemm<K>(ma, g.stride_a != 0, mb, g.stride_b != 0, epi, g.m, g.n, g.k, g.batch);
  });
}

// What a tensor map can describe beyond the cp.async path's alignment: positive
// leading dimensions, no negative batch stride, and coordinates that fit an int.
bool tma_fits(const GemmArgs& g) {
  const int64_t limit = int64_t(1) << 31;
  return g.lda > 0 && g.ldb > 0 && g.stride_a >= 0 && g.stride_b >= 0 && g.m < limit && g.n < limit && g.k < limit &&
         g.batch < limit;
}

__global__ void wgmma_probe(int* out) { *out = tile::kWgmmaCompiled ? 1 : 0; }

// The tensor-core path of aligned half GEMMs. wgmma needs this file's device code as
// loaded for the GPU to have it: only its sm_90a build does, and the runtime loads
// that only on compute capability 9.0 (asked once, with one synchronizing read).
// TENSORGRAD_CUDA_WGMMA=0 keeps mma.sync; =tma takes the warp-specialized TMA kernel,
// which has not yet been measured against the cp.async one.
enum class HalfPath { mma_sync, wgmma, wgmma_tma };

HalfPath half_path() {
  static const HalfPath path = [] {
    const char* env = std::getenv("TENSORGRAD_CUDA_WGMMA");
    if (env && std::strcmp(env, "0") == 0) return HalfPath::mma_sync;
    Scratch<int> flag(1);
    wgmma_probe<<<1, 1, 0, stream()>>>(flag.get());
    TG_CUDA_LAUNCH_CHECK();
    int host = 0;
    copy_to_host(&host, flag.get(), sizeof(int));
    if (host != 1) return HalfPath::mma_sync;
    return env && std::strcmp(env, "tma") == 0 ? HalfPath::wgmma_tma : HalfPath::wgmma;
  }();
  return path;
}

template <typename T, bool KA, bool KB>
using TcMathOf = typename TilePath<T>::template Math<KA, KB>;

template <typename T>
void gemm_tensor_core(const GemmArgs& g, const T* a, const T* b, const MatrixEpilogue<T>& epi) {
  constexpr int kRun = 8;  // one 16-byte chunk
  const DenseSource<T> sa = source_a(g, a, kRun, !g.trans_a), sb = source_b(g, b, kRun, g.trans_b);
  if (sa.vector && sb.vector) {
    const HalfPath path = half_path();
    if (path == HalfPath::mma_sync) return run_async<TcMathOf>(g, sa, sb, epi);
    // 256-wide tiles where they still fill the device, 128 otherwise
    const bool wide = (g.m + 127) / 128 * ((g.n + 255) / 256) * g.batch >= sm_count();
    if (path == HalfPath::wgmma_tma && tma_fits(g)) return wide ? run_tma<256>(g, a, b, epi) : run_tma<128>(g, a, b, epi);
    if (wide) return run_async<tile::WgmmaMath256>(g, sa, sb, epi);
    return run_async<tile::WgmmaMath128>(g, sa, sb, epi);
  }
  // Unaligned: both tiles k-major, filled through registers; an operand that is
  // k-contiguous and aligned still loads whole 16-byte runs.
  using Math = TcMathOf<T, true, true>;
  using LA = tile::RegLoader<typename Math::LayoutA, DenseSource<T>, Math::kThreads>;
  using LB = tile::RegLoader<typename Math::LayoutB, DenseSource<T>, Math::kThreads>;
  run<Math, LA, LB>(g, source_a(g, a, kRun, true), source_b(g, b, kRun, true), epi);
}

template <typename T>
void gemm_simt(const GemmArgs& g, const T* a, const T* b, const MatrixEpilogue<T>& epi) {
  using Math = typename TilePath<T>::template Math<true, true>;
  using LA = tile::RegLoader<typename Math::LayoutA, DenseSource<T>, Math::kThreads>;
  using LB = tile::RegLoader<typename Math::LayoutB, DenseSource<T>, Math::kThreads>;
  run<Math, LA, LB>(g, source_a(g, a, LA::V, !g.trans_a), source_b(g, b, LB::V, g.trans_b), epi);
}

}  // namespace

template <typename T>
void gemm(const GemmArgs& args, const T* a, const T* b, T* c) {
  using C = compute_t<T>;
  using Acc = typename TilePath<T>::template Math<true, true>::Acc;
  if (args.m <= 0 || args.n <= 0 || args.batch <= 0) return;
  GemmArgs g = args;
  MatrixEpilogue<T> epi;
  epi.c = c;
  epi.bias = static_cast<const T*>(g.bias);
  epi.ldc = g.ldc;
  epi.stride_c = g.stride_c;
  epi.rows = g.m;
  epi.cols = g.n;
  epi.alpha = static_cast<C>(g.alpha);
  epi.beta = static_cast<C>(g.beta);
  epi.act = g.act;
  // as the CPU: the float kernels test alpha itself, the integer reference its cast
  const bool alpha_zero = std::is_integral_v<C> ? epi.alpha == C(0) : g.alpha == 0;
  if (g.k <= 0 || alpha_zero) {  // C = act(beta C + bias); A and B are not read
    epi.has_product = false;
    return tile::finish_splits(static_cast<const Acc*>(nullptr), 0, g.batch, g.m, g.n, epi);
  }
  // A batch of row-major A's stacked without gaps times one shared B is one GEMM
  // with batch * m rows (matmul of (B, T, C) by (C, N)).
  if (g.batch > 1 && g.stride_b == 0 && !g.trans_a && g.stride_a == g.m * g.lda && g.stride_c == g.m * g.ldc) {
    g.m *= g.batch;
    g.batch = 1;
    epi.rows = g.m;
  }
  if constexpr (std::is_same_v<T, half> || std::is_same_v<T, bfloat16>) gemm_tensor_core(g, a, b, epi);
  else gemm_simt(g, a, b, epi);
}

const char* gemm_tensor_cores() {
  switch (half_path()) {
    case HalfPath::wgmma: return "wgmma";
    case HalfPath::wgmma_tma: return "wgmma-tma";
    default: return "mma.sync";
  }
}

#define TG_INST(T) template void gemm<T>(const GemmArgs&, const T*, const T*, T*);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

// 2-D convolution (NCHW: stride, padding, dilation, groups) on the device. Forward,
// grad-input and grad-weight are implicit GEMMs on the tile machinery of
// gemm_tile.cuh: their operands are gathered from the tensors as tiles are loaded
// (conv_gemm.cuh), so no im2col buffer is built and each output is written once,
// overwritten, by the fused epilogue (plus the bias, forward). float16/bfloat16 run
// on tensor cores with fp32 accumulation, float32 on the SIMT FMA path, float64 on
// the simple path. grad-weight's long K (every position of every image) is split
// over blocks when its few tiles would leave the device idle; grad-bias is a
// two-pass reduction. All of it is deterministic: no atomics.
#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "common.cuh"
#include "conv_gemm.cuh"
#include "gemm_epilogue.cuh"
#include "gemm_tile.cuh"
#include "scratch.cuh"

namespace tg::cuda {

namespace {

using tile::ConvShape;
using tile::RegLoader;
using tile::TileKernel;
using tile::TilePath;

// Runs one pass over every image, a launch per chunk of images (conv_gemm.cuh),
// with the loaders of the storage type's math.
template <typename Math, typename SourceA, typename SourceB, typename Epi, typename Build>
void run_pass(const ConvArgs& a, int64_t per_image, Build&& build) {
  using K = TileKernel<Math, RegLoader<typename Math::LayoutA, SourceA, Math::kThreads>,
                       RegLoader<typename Math::LayoutB, SourceB, Math::kThreads>, Epi>;
  const int64_t chunk = tile::images_per_launch(per_image);
  for (int64_t n0 = 0; n0 < a.n; n0 += chunk) {
    const tile::ConvGemm<SourceA, SourceB, Epi> g = build(n0, std::min(chunk, a.n - n0), K::LoaderA::V);
    tile::run_tiles<K>(g.a, g.b, g.epi, g.m, g.n, g.k, g.batch);
  }
}

template <typename T>
void fill_zero(T* p, int64_t n) {
  TG_CUDA_CHECK(cudaMemsetAsync(p, 0, static_cast<size_t>(n) * sizeof(T), stream()));
}

// wt[g][ci][o][tap] = w[g*ocg + o][ci][tap]: each group's W^T, (cg, ocg*kk) row-major,
// as grad-input's dense A.
template <typename T>
__global__ void transpose_weight_kernel(const T* w, T* wt, int64_t total, int64_t cg, int64_t ocg, int64_t kk) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t tap = i % kk, t = i / kk, ci = t % cg, oa = t / cg, g = oa / ocg, o = oa % ocg;
    wt[((g * cg + ci) * ocg + o) * kk + tap] = w[i];
  }
}

// The sum of v over the block, in thread 0.
template <typename A>
__device__ A block_sum(A v) {
  __shared__ A warp_sums[32];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < int(blockDim.x / 32) ? warp_sums[lane] : A(0);
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  }
  return v;
}

// gy (n, oc, P): block (o, s) sums channel o over flat positions [s*chunk, (s+1)*chunk)
// of (image, p), image by image so the reads stay contiguous.
template <typename T, typename A>
__global__ void bias_partial_kernel(const T* gy, int64_t oc, int64_t p, int64_t total, int64_t chunk, A* partial) {
  const int64_t o = blockIdx.x, q0 = blockIdx.y * chunk, q1 = imin(total, q0 + chunk);
  A sum = A(0);
  for (int64_t img = q0 / p; img * p < q1; ++img) {
    const int64_t lo = imax(q0 - img * p, 0), hi = imin(q1 - img * p, p);
    const T* src = gy + (img * oc + o) * p;
    for (int64_t j = lo + threadIdx.x; j < hi; j += blockDim.x) sum += static_cast<A>(Compute<T>::load(src[j]));
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) partial[o * gridDim.y + blockIdx.y] = sum;
}

template <typename T, typename A>
__global__ void bias_finish_kernel(const A* partial, int splits, int64_t oc, T* gb) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < oc; o += int64_t(gridDim.x) * blockDim.x) {
    A sum = A(0);
    for (int s = 0; s < splits; ++s) sum += partial[o * splits + s];
    gb[o] = Compute<T>::template store<A>(sum);
  }
}

}  // namespace

// y (n, oc, oh, ow) = conv(x (n, c, h, w), w (oc, cg, kh, kw)) + bias (oc | null)
template <typename T>
void conv2d_forward(const ConvArgs& a, const T* x, const T* w, const T* bias, T* y) {
  const ConvShape s(a);
  if (a.n == 0 || a.oc == 0 || s.p == 0) return;
  tile::require_conv_fits(a, s);
  using Math = typename TilePath<T>::template Math<true, false>;
  run_pass<Math, tile::DenseSource<T>, tile::Im2colSource<T, false>, tile::PlaneEpilogue<T>>(
      a, s.p, [&](int64_t n0, int64_t nc, int run) { return tile::forward_gemm(a, x, w, bias, y, n0, nc, run); });
}

// gx (n, c, h, w) = the transposed convolution of gy (n, oc, oh, ow) with w; overwritten
template <typename T>
void conv2d_grad_input(const ConvArgs& a, const T* gy, const T* w, T* gx) {
  const ConvShape s(a);
  if (a.n == 0 || a.c == 0 || s.hw == 0) return;
  if (a.oc == 0 || s.p == 0) return fill_zero(gx, a.n * a.c * s.hw);  // no output feeds back
  tile::require_conv_fits(a, s);
  const int64_t wsize = a.oc * s.r;
  Scratch<T> wt(wsize);
  transpose_weight_kernel<T><<<grid_for(wsize), kThreads, 0, stream()>>>(w, wt.get(), wsize, s.cg, s.ocg, s.kk);
  TG_CUDA_LAUNCH_CHECK();
  using Math = typename TilePath<T>::template Math<true, false>;
  run_pass<Math, tile::DenseSource<T>, tile::GradInputSource<T>, tile::PlaneEpilogue<T>>(
      a, s.hw, [&](int64_t n0, int64_t nc, int run) {
        return tile::grad_input_gemm<T>(a, gy, wt.get(), gx, n0, nc, run);
      });
}

// gw (oc, cg, kh, kw) = sum over images and positions of gy x im2col(x); overwritten
template <typename T>
void conv2d_grad_weight(const ConvArgs& a, const T* x, const T* gy, T* gw) {
  const ConvShape s(a);
  const int64_t wsize = a.oc * s.r;
  if (wsize == 0) return;
  if (a.n == 0 || s.p == 0) return fill_zero(gw, wsize);
  tile::require_conv_fits(a, s);
  using Math = typename TilePath<T>::template Math<true, true>;
  run_pass<Math, tile::GradOutputRows<T>, tile::Im2colSource<T, true>, tile::MatrixEpilogue<T>>(
      a, s.p, [&](int64_t n0, int64_t nc, int run) { return tile::grad_weight_gemm(a, x, gy, gw, n0, nc, run); });
}

// gb (oc) = sum of gy (n, oc, oh, ow) over images and positions
template <typename T>
void conv2d_grad_bias(const ConvArgs& a, const T* gy, T* gb) {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t p = a.oh * a.ow, total = a.n * p;
  if (a.oc == 0) return;
  if (total == 0) return fill_zero(gb, a.oc);
  // enough blocks to fill the device, each over at least 4096 positions
  const int64_t want = (4 * int64_t(sm_count()) + a.oc - 1) / a.oc;
  const int64_t splits = std::max<int64_t>(1, std::min<int64_t>({want, (total + 4095) / 4096, 65535}));
  const int64_t chunk = (total + splits - 1) / splits;
  Scratch<A> partial(a.oc * splits);
  bias_partial_kernel<T, A><<<dim3(static_cast<unsigned>(a.oc), static_cast<unsigned>(splits)), kThreads, 0, stream()>>>(
      gy, a.oc, p, total, chunk, partial.get());
  TG_CUDA_LAUNCH_CHECK();
  bias_finish_kernel<T, A><<<grid_for(a.oc), kThreads, 0, stream()>>>(partial.get(), static_cast<int>(splits), a.oc, gb);
  TG_CUDA_LAUNCH_CHECK();
}

#define TG_INST(T)                                                                          \
  template void conv2d_forward<T>(const ConvArgs&, const T*, const T*, const T*, T*);       \
  template void conv2d_grad_input<T>(const ConvArgs&, const T*, const T*, T*);              \
  template void conv2d_grad_weight<T>(const ConvArgs&, const T*, const T*, T*);             \
  template void conv2d_grad_bias<T>(const ConvArgs&, const T*, T*);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

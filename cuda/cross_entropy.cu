// Softmax cross-entropy at class indices, fused, on the GPU: the contract of
// native/kernel_list.inc, the formulas of native/cross_entropy_math.h and the layout of
// native/cpu/cross_entropy.cc. The forward reads each row of logits (outer, c, inner) twice
// (max, then exp and the smoothing sums) and writes the position's loss, log-sum-exp and
// weight; the backward writes the whole gradient in one more read. The composed form
// (logSoftmax, gather, weights, smoothing) takes about eight kernels and temporaries each way.
//
// A row group of kGroup threads owns one position (o, i) at a time, in a grid-stride loop:
//   inner == 1: kGroup = 32 (a warp per row) or kThreads (a block per row, for rows of
//               kBlockRowFrom classes or more); lanes stride along the contiguous row and
//               fold with shuffles, and across the block's warps through shared memory;
//   inner > 1:  kGroup = 1, a thread per position: consecutive threads take consecutive
//               columns of inner, so each class step is one coalesced read.
// A group's loop bounds are the same for all its threads, so its shuffles and barriers
// are always reached together. Sums run in the compute type (float for float, float16 and
// bfloat16; double for double), as softmax's do.
#include <cmath>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "../native/cross_entropy_math.h"
#include "common.cuh"
#include "softmax_ops.cuh"

namespace tg::cuda {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int64_t kBlockRowFrom = 4096;  // classes from which a whole block takes a row

// Folds v over the kGroup threads of a row group; each gets the result. With kGroup ==
// kThreads every thread of the block must call it (it synchronizes); smem holds one value
// per warp.
template <int kGroup, typename C, typename F>
__device__ __forceinline__ C row_fold(C v, const F& f, C* smem) {
  if constexpr (kGroup == 1) {
    return v;
  } else {
    for (int offset = 16; offset > 0; offset >>= 1) v = f(v, __shfl_xor_sync(kFullMask, v, offset));
    if constexpr (kGroup == 32) {
      return v;
    } else {
      static_assert(kGroup == kThreads, "a row group is a thread, a warp or the block");
      __syncthreads();  // the previous fold's readers are done with smem
      if (threadIdx.x % 32 == 0) smem[threadIdx.x / 32] = v;
      __syncthreads();
      C total = smem[0];
      for (int w = 1; w < kThreads / 32; ++w) total = f(total, smem[w]);
      return total;
    }
  }
}

// The positions a row group walks and where its classes lie: class j of position p is
// at base(p) + j * inner; the group's threads take j = lane, lane + kGroup, ...
template <int kGroup>
struct GroupWalk {
  static constexpr int kGroups = kThreads / kGroup;  // row groups per block
  __device__ static int lane() { return threadIdx.x % kGroup; }
  __device__ static int64_t first() { return static_cast<int64_t>(blockIdx.x) * kGroups + threadIdx.x / kGroup; }
  __device__ static int64_t step() { return static_cast<int64_t>(gridDim.x) * kGroups; }
  __device__ static int64_t base(const CrossEntropyArgs& a, int64_t p) {
    return p / a.inner * a.c * a.inner + p % a.inner;
  }
};

template <typename T, int kGroup>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(CrossEntropyArgs a, const T* x, const int32_t* target, const T* weight, T* loss,
                   compute_t<T>* lse, T* weight_used) {
  using L = Compute<T>;
  using C = compute_t<T>;
  using W = GroupWalk<kGroup>;
  __shared__ C smem[kThreads / 32];
  const C eps = static_cast<C>(a.smoothing), inv_c = C(1) / static_cast<C>(a.c);
  const int64_t positions = a.outer * a.inner;
  for (int64_t p = W::first(); p < positions; p += W::step()) {
    const T* row = x + W::base(a, p);
    C m = -INFINITY;
    for (int64_t j = W::lane(); j < a.c; j += kGroup) m = MaxIgnoringNaN{}(m, L::load(row[j * a.inner]));
    m = row_fold<kGroup>(m, MaxIgnoringNaN{}, smem);
    if (m == C(-INFINITY)) m = 0;  // a row of -inf stays finite in the shift

    // sum exp(x_j - m), sum w_j (x_j - m) and W = sum w_j; the last two enter only with smoothing
    C exp_sum = 0, weighted_shift = 0, weight_sum = 0;
    for (int64_t j = W::lane(); j < a.c; j += kGroup) {
      const C d = L::load(row[j * a.inner]) - m;
      const C w = weight ? L::load(weight[j]) : C(1);
      exp_sum += exp_of(d);
      weighted_shift += w * d;
      weight_sum += w;
    }
    exp_sum = row_fold<kGroup>(exp_sum, Plus{}, smem);
    if (a.smoothing > 0) {
      weighted_shift = row_fold<kGroup>(weighted_shift, Plus{}, smem);
      weight_sum = row_fold<kGroup>(weight_sum, Plus{}, smem);
    }
    if (W::lane() != 0) continue;

    const C log_sum = log_of(exp_sum);
    lse[p] = m + log_sum;
    const int32_t t = target[p];
    C l = 0, w_t = 0;
    if (cross_entropy_counts(t, a.c, a.ignore_index)) {
      w_t = weight ? L::load(weight[t]) : C(1);
      l = cross_entropy_loss<C>(log_sum, L::load(row[t * a.inner]) - m, w_t, weighted_shift, weight_sum, eps, inv_c);
    }
    loss[p] = L::store(l);
    if (weight_used) weight_used[p] = L::store(w_t);
  }
}

template <typename T, int kGroup>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(CrossEntropyArgs a, const T* x, const int32_t* target, const T* weight,
                    const compute_t<T>* lse, const T* gloss, T* gx) {
  using L = Compute<T>;
  using C = compute_t<T>;
  using W = GroupWalk<kGroup>;
  __shared__ C smem[kThreads / 32];
  const C eps = static_cast<C>(a.smoothing), inv_c = C(1) / static_cast<C>(a.c);
  const int64_t positions = a.outer * a.inner;
  for (int64_t p = W::first(); p < positions; p += W::step()) {
    const int64_t base = W::base(a, p);
    const T* row = x + base;
    T* out = gx + base;
    const int32_t t = target[p];
    if (!cross_entropy_counts(t, a.c, a.ignore_index)) {  // the same for the whole group
      for (int64_t j = W::lane(); j < a.c; j += kGroup) out[j * a.inner] = L::store(C(0));
      continue;
    }
    C weight_sum = static_cast<C>(a.c);
    if (weight && a.smoothing > 0) {
      C partial = 0;
      for (int64_t j = W::lane(); j < a.c; j += kGroup) partial += L::load(weight[j]);
      weight_sum = row_fold<kGroup>(partial, Plus{}, smem);
    }
    const C w_t = weight ? L::load(weight[t]) : C(1);
    const CrossEntropyGrad<C> scales = cross_entropy_grad<C>(L::load(gloss[p]), w_t, weight_sum, eps, inv_c);
    const C shift = lse[p];
    for (int64_t j = W::lane(); j < a.c; j += kGroup) {
      const C w = weight ? L::load(weight[j]) : C(1);
      out[j * a.inner] = L::store(scales.at(exp_of(L::load(row[j * a.inner]) - shift), w, j == t));
    }
  }
}

// Calls launch with the row-group size for this shape, as a compile-time constant.
template <typename F>
void with_group(const CrossEntropyArgs& a, const F& launch) {
  if (a.inner > 1) return launch(std::integral_constant<int, 1>{});
  if (a.c < kBlockRowFrom) return launch(std::integral_constant<int, 32>{});
  launch(std::integral_constant<int, kThreads>{});
}

}  // namespace

template <typename T>
void cross_entropy_forward(const CrossEntropyArgs& a, const T* x, const int32_t* target, const T* weight, T* loss,
                           compute_t<T>* lse, T* weight_used) {
  const int64_t positions = a.outer * a.inner;
  if (positions == 0) return;
  with_group(a, [&](auto group) {
    constexpr int kGroup = decltype(group)::value;
    forward_kernel<T, kGroup><<<grid_for(positions * kGroup), kThreads, 0, stream()>>>(a, x, target, weight, loss, lse,
                                                                                       weight_used);
    TG_CUDA_LAUNCH_CHECK();
  });
}

template <typename T>
void cross_entropy_backward(const CrossEntropyArgs& a, const T* x, const int32_t* target, const T* weight,
                            const compute_t<T>* lse, const T* gloss, T* gx) {
  const int64_t positions = a.outer * a.inner;
  if (positions == 0) return;
  with_group(a, [&](auto group) {
    constexpr int kGroup = decltype(group)::value;
    backward_kernel<T, kGroup><<<grid_for(positions * kGroup), kThreads, 0, stream()>>>(a, x, target, weight, lse,
                                                                                        gloss, gx);
    TG_CUDA_LAUNCH_CHECK();
  });
}

#define TG_INST(T)                                                                                        \
  template void cross_entropy_forward<T>(const CrossEntropyArgs&, const T*, const int32_t*, const T*, T*, \
                                         compute_t<T>*, T*);                                              \
  template void cross_entropy_backward<T>(const CrossEntropyArgs&, const T*, const int32_t*, const T*,    \
                                          const compute_t<T>*, const T*, T*);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

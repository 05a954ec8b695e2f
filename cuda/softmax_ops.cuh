// What the softmax-shaped kernels share (reduce.cu's softmax, cross_entropy.cu): the
// folds over a row's max and sums, and exp/log in the compute type's own precision.
#pragma once

namespace tg::cuda {

struct MaxIgnoringNaN {  // std::max(m, v) from a -inf start: a NaN never replaces m
  template <typename C>
  __device__ C operator()(C a, C b) const { return a < b ? b : a; }
};
struct Plus {
  template <typename C>
  __device__ C operator()(C a, C b) const { return a + b; }
};

__device__ __forceinline__ float exp_of(float v) { return expf(v); }
__device__ __forceinline__ double exp_of(double v) { return exp(v); }
__device__ __forceinline__ float log_of(float v) { return logf(v); }
__device__ __forceinline__ double log_of(double v) { return log(v); }

}  // namespace tg::cuda

// One kernel that calls a functor for every element of an Iter walk, with each
// operand's element offset: the loop under binary, compare, copy_strided and where.
//
// make_iter merges dims, so most walks arrive with one dim (contiguous operands,
// or a scalar operand broadcast with stride 0). There each offset is affine in the
// element's linear index and costs one multiply-add; only walks that stay
// multi-dimensional pay iter_offsets' div/mod per dim.
#pragma once
#include "common.cuh"

namespace tg::cuda {

// fn(off) handles one element: off[k] is operand k's element offset (operand 0 is
// the output). The Iter stays in kernel parameter space (__grid_constant__), so
// iter_offsets' indexed reads come from the constant bank, not a per-thread copy.
template <int NOPS, typename F>
__global__ void iter_loop_kernel(const __grid_constant__ Iter it, int64_t n, F fn) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (it.ndim == 1) {
    for (; i < n; i += step) {
      int64_t off[NOPS];
#pragma unroll
      for (int k = 0; k < NOPS; ++k) off[k] = it.offset[k] + i * it.strides[k][0];
      fn(off);
    }
  } else {
    for (; i < n; i += step) {
      int64_t off[NOPS];
      iter_offsets<NOPS>(it, i, off);
      fn(off);
    }
  }
}

// Queues fn over it's elements on stream(); an empty walk launches nothing.
template <int NOPS, typename F>
void launch_iter_loop(const Iter& it, const F& fn) {
  const int64_t n = it.numel();
  if (n <= 0) return;
  iter_loop_kernel<NOPS, F><<<grid_for(n), kThreads, 0, stream()>>>(it, n, fn);
  TG_CUDA_LAUNCH_CHECK();
}

}  // namespace tg::cuda

// What every CUDA kernel file shares: error checks that throw (a library must never
// exit), the backend's one stream and launch sizes. Kernels take tensorgrad's storage
// types and convert with Compute<T> (native/half.h), the trait the CPU uses too.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../native/kernels.h"

namespace tg::cuda {

inline void check(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state where the error allows it
    throw std::runtime_error(std::string("CUDA error in ") + what + " (" + file + ":" +
                             std::to_string(line) + "): " + cudaGetErrorString(err));
  }
}

// Every kernel and copy is queued on this stream (created on first use, non-blocking
// with respect to the legacy default stream). Stream order is what makes reusing a
// freed block safe: the next user of a block runs after the last user finished.
cudaStream_t stream();

// Streaming multiprocessors of device 0: grid-stride kernels size their grids from it.
int sm_count();

// Threads per block of the elementwise-style kernels.
constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items: enough to fill the device several
// times over, never more than the items need (and at least one).
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t need = (n + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(sm_count()) * 8;
  const int64_t g = need < cap ? need : cap;
  return static_cast<unsigned>(g < 1 ? 1 : g);
}

// Offsets of element `linear` of an Iter walk (row-major over it.shape) for each
// of its operands; operand 0 is the output.
template <int NOPS>
__device__ __forceinline__ void iter_offsets(const Iter& it, int64_t linear, int64_t (&off)[NOPS]) {
#pragma unroll
  for (int k = 0; k < NOPS; ++k) off[k] = it.offset[k];
  for (int d = it.ndim - 1; d >= 0; --d) {
    const int64_t extent = it.shape[d];
    const int64_t i = linear % extent;
    linear /= extent;
#pragma unroll
    for (int k = 0; k < NOPS; ++k) off[k] += i * it.strides[k][d];
  }
}

}  // namespace tg::cuda

#define TG_CUDA_CHECK(call) ::tg::cuda::check((call), #call, __FILE__, __LINE__)
// After every kernel launch: launch errors are reported by cudaGetLastError.
#define TG_CUDA_LAUNCH_CHECK() ::tg::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

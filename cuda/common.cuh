// What every CUDA kernel file shares: error checks that throw (a library must never
// exit), the backend's one stream, launch sizes, and the storage-type traits that
// map tensorgrad's host storage types onto device arithmetic.
//
// Storage types: tg::half and tg::bfloat16 hold the IEEE bits (uint16_t), exactly
// the layout of __half and __nv_bfloat16, so kernels take the tensorgrad types and
// convert with the intrinsics below (round to nearest even, subnormals kept).
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

// Storage-type traits on the device, mirroring tg::Compute<T> of native/half.h:
// `type` is the arithmetic type, load widens a stored value, store narrows (floats
// round to nearest even; uint8 wraps like PyTorch's; bool is "non-zero").
template <typename T>
struct DevCompute {
  using type = T;
  __device__ __forceinline__ static T load(T v) { return v; }
  template <typename C>
  __device__ __forceinline__ static T store(C v) { return static_cast<T>(v); }
};
template <>
struct DevCompute<half> {
  using type = float;
  __device__ __forceinline__ static float load(half v) { return __half2float(__ushort_as_half(v.bits)); }
  template <typename C>
  __device__ __forceinline__ static half store(C v) {
    return half{__half_as_ushort(__float2half_rn(static_cast<float>(v)))};
  }
};
template <>
struct DevCompute<bfloat16> {
  using type = float;
  __device__ __forceinline__ static float load(bfloat16 v) {
    return __bfloat162float(__ushort_as_bfloat16(v.bits));
  }
  template <typename C>
  __device__ __forceinline__ static bfloat16 store(C v) {
    return bfloat16{__bfloat16_as_ushort(__float2bfloat16_rn(static_cast<float>(v)))};
  }
};
template <>
struct DevCompute<uint8_t> {
  using type = int32_t;
  __device__ __forceinline__ static int32_t load(uint8_t v) { return v; }
  template <typename C>
  __device__ __forceinline__ static uint8_t store(C v) {
    return static_cast<uint8_t>(static_cast<int64_t>(v));
  }
};
template <>
struct DevCompute<boolean> {
  using type = int32_t;
  __device__ __forceinline__ static int32_t load(boolean v) { return v.value; }
  template <typename C>
  __device__ __forceinline__ static boolean store(C v) {
    return boolean{static_cast<uint8_t>(v != C(0))};
  }
};
template <typename T>
using dev_compute_t = typename DevCompute<T>::type;

// NaN test of a compute value; integers are never NaN.
template <typename C>
__device__ __forceinline__ bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>) return v != v;
  return false;
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

// fill and cast: writing one value n times, and converting n elements between
// storage types, with native/elementwise_math.h's conversion rule (the CPU's).
//
// fill converts its value on the host with the CPU's own code (tg::Compute), so
// both backends store the same bits; a value whose bytes are all equal (zeros
// above all) is a cudaMemsetAsync, anything else a kernel over words of the
// element's size. cast is one kernel per (source, destination) pair.
#include <cstring>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "../native/elementwise_math.h"
#include "common.cuh"
#include "element_size.cuh"

namespace tg::cuda {

namespace {

// (n) <- v
template <typename W>
__global__ void fill_kernel(W* out, int64_t n, W v) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = v;
}

// (n) -> (n)
template <typename S, typename D>
__global__ void cast_kernel(const S* src, D* dst, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    dst[i] = cast_value<S, D>(src[i]);
}

}  // namespace

template <typename T>
void fill(T* out, int64_t n, double value) {
  if (n <= 0) return;
  const T v = Compute<T>::store(static_cast<compute_t<T>>(value));
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  bool uniform = true;
  for (size_t i = 1; i < sizeof(T); ++i) uniform = uniform && bytes[i] == bytes[0];
  if (uniform) {
    TG_CUDA_CHECK(cudaMemsetAsync(out, bytes[0], static_cast<size_t>(n) * sizeof(T), stream()));
    return;
  }
  using W = word_t<sizeof(T)>;
  W w;
  std::memcpy(&w, &v, sizeof(T));
  fill_kernel<W><<<grid_for(n), kThreads, 0, stream()>>>(reinterpret_cast<W*>(out), n, w);
  TG_CUDA_LAUNCH_CHECK();
}

template <typename S, typename D>
void cast(const S* src, D* dst, int64_t n) {
  if (n <= 0) return;
  cast_kernel<S, D><<<grid_for(n), kThreads, 0, stream()>>>(src, dst, n);
  TG_CUDA_LAUNCH_CHECK();
}

#define TG_INST(T) template void fill<T>(T*, int64_t, double);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

#define TG_INST_CAST(S, D) template void cast<S, D>(const S*, D*, int64_t);
TG_FOR_ALL_TYPE_PAIRS(TG_INST_CAST)
#undef TG_INST_CAST

}  // namespace tg::cuda

// The random kernels over native/random_math.h's generator, the CPU's, so a seed and
// offset give the same tensor on either device (that header says how exactly). Nothing
// to fuse; one thread per element, grid-stride.
#include "../native/cpu/instantiate.h"
#include "../native/random_math.h"
#include "common.cuh"

namespace tg::cuda {

namespace {

template <typename T>
__global__ void random_kernel(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset,
                              double p1, double p2) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = random_element<T>(kind, offset + static_cast<uint64_t>(i), seed, p1, p2);
}

}  // namespace

template <typename T>
void random(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset, double p1, double p2) {
  if (kind != RandomKind::uniform && kind != RandomKind::normal && kind != RandomKind::randint)
    throw std::invalid_argument("random: unknown kind");
  if (n <= 0) return;
  random_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(kind, out, n, seed, offset, p1, p2);
  TG_CUDA_LAUNCH_CHECK();
}

#define TG_INST(T) template void random<T>(RandomKind, T*, int64_t, uint64_t, uint64_t, double, double);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

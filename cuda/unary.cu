// Unary kernels y = f(x) over n contiguous elements: each element is loaded into
// the compute type (float for the half types, int32 for uint8 and bool), mapped by
// native/unary_math.h's formula (the CPU's) and stored. The op is a template
// argument, so each (dtype, op) kernel is one straight-line loop body; the ops the CPU
// keeps from integers (the table's second column is 0) are never instantiated for
// them and throw its error.
#include <stdexcept>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "../native/unary_math.h"
#include "common.cuh"

namespace tg::cuda {

namespace {

// (n) -> (n)
template <typename T, UnaryOp Op>
__global__ void unary_kernel(const T* x, T* y, int64_t n, UnaryParams p) {
  using L = Compute<T>;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    y[i] = L::store(unary_op<Op>(L::load(x[i]), p));
}

template <typename T, UnaryOp Op>
void launch_unary(const T* x, T* y, int64_t n, const UnaryParams& p) {
  if (n <= 0) return;
  unary_kernel<T, Op><<<grid_for(n), kThreads, 0, stream()>>>(x, y, n, p);
  TG_CUDA_LAUNCH_CHECK();
}

}  // namespace

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, const UnaryParams& p) {
  constexpr bool kFloat = std::is_floating_point_v<compute_t<T>>;
  switch (op) {
    // the table's second column says whether integer dtypes reach the op
#define TG_CASE(name, ints)                                                \
  case UnaryOp::name:                                                      \
    if constexpr (ints || kFloat) return launch_unary<T, UnaryOp::name>(x, y, n, p); \
    break;
    TG_UNARY_OPS(TG_CASE)
#undef TG_CASE
    default: break;
  }
  throw std::invalid_argument("unary: op not available for this dtype");
}

#define TG_INST(T) template void unary<T>(UnaryOp, const T*, T*, int64_t, const UnaryParams&);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

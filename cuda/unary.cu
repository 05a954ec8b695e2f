// Unary kernels y = f(x) over n contiguous elements: each element is loaded into
// the compute type (float for the half types, int32 for uint8 and bool), mapped and
// stored, with the formulas, parameters and NaN/-0 behaviour of
// native/cpu/elementwise.cc. The op is a template argument, so each (dtype, op)
// kernel is one straight-line loop body; the ops the CPU keeps from integers (the
// table's second column is 0) are never instantiated for them and throw its error.
#include <stdexcept>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "common.cuh"

namespace tg::cuda {

namespace {

template <typename C>
__device__ __forceinline__ C sigmoid(C v) {
  if (v >= C(0)) return C(1) / (C(1) + exp(-v));
  const C e = exp(v);
  return e / (C(1) + e);
}

// static_cast<int32_t>(double) as the CPU kernel computes it: C++ leaves NaN and
// out-of-range values undefined, and x86's cvttsd2si (scalar or packed), what the
// CPU build runs, gives INT32_MIN for them; the GPU's conversion would saturate.
__device__ __forceinline__ int32_t truncate_like_x86(double d) {
  return (d >= -2147483648.0 && d < 2147483648.0) ? static_cast<int32_t>(d) : INT32_MIN;
}

// One unary op in the compute type C. p.a, p.b: leakyRelu slope; elu alpha;
// softplus beta, threshold; clamp lo, hi (on integers +-inf means no bound).
template <UnaryOp Op, typename C>
__device__ __forceinline__ C unary_op(C v, const UnaryParams& p) {
  constexpr bool kFloat = std::is_floating_point_v<C>;
  if constexpr (Op == UnaryOp::neg) {
    return C(-v);
  } else if constexpr (Op == UnaryOp::abs) {
    // fabs clears the sign bit, so abs(-0.0) is +0.0 (a compare-and-negate keeps -0.0)
    if constexpr (kFloat) return fabs(v);
    else return v < C(0) ? C(-v) : v;
  } else if constexpr (Op == UnaryOp::square) {
    return C(v * v);
  } else if constexpr (Op == UnaryOp::relu) {
    return v < C(0) ? C(0) : v;
  } else if constexpr (Op == UnaryOp::sign) {
    return v > C(0) ? C(1) : (v < C(0) ? C(-1) : v);
  } else if constexpr (Op == UnaryOp::clamp) {
    // min(max(v, lo), hi) as torch.clamp: lo > hi makes everything hi; NaN passes
    if constexpr (kFloat) {
      const C lo = static_cast<C>(p.a), hi = static_cast<C>(p.b);
      const C r = v < lo ? lo : v;
      return r > hi ? hi : r;
    } else {
      double d = static_cast<double>(v);
      d = d < p.a ? p.a : d;
      return truncate_like_x86(d > p.b ? p.b : d);
    }
  } else if constexpr (Op == UnaryOp::exp) {
    return exp(v);
  } else if constexpr (Op == UnaryOp::log) {
    return log(v);
  } else if constexpr (Op == UnaryOp::log1p) {
    return log1p(v);
  } else if constexpr (Op == UnaryOp::sqrt) {
    return sqrt(v);
  } else if constexpr (Op == UnaryOp::rsqrt) {
    return C(1) / sqrt(v);  // correctly rounded steps, as the CPU (rsqrt() is approximate)
  } else if constexpr (Op == UnaryOp::sin) {
    return sin(v);
  } else if constexpr (Op == UnaryOp::cos) {
    return cos(v);
  } else if constexpr (Op == UnaryOp::tanh) {
    return tanh(v);
  } else if constexpr (Op == UnaryOp::sigmoid) {
    return sigmoid(v);
  } else if constexpr (Op == UnaryOp::leakyRelu) {
    return v > C(0) ? v : v * static_cast<C>(p.a);
  } else if constexpr (Op == UnaryOp::elu) {
    return v > C(0) ? v : static_cast<C>(p.a) * expm1(v);
  } else if constexpr (Op == UnaryOp::gelu) {
    return C(0.5) * v * (C(1) + erf(v * C(0.70710678118654752440)));
  } else if constexpr (Op == UnaryOp::geluTanh) {
    const C k = C(0.79788456080286535588);  // sqrt(2/pi)
    return C(0.5) * v * (C(1) + tanh(k * (v + C(0.044715) * v * v * v)));
  } else if constexpr (Op == UnaryOp::silu) {
    return v * sigmoid(v);
  } else if constexpr (Op == UnaryOp::softplus) {
    // beta = a, threshold = b: above it the function is linear to float precision
    const C beta = static_cast<C>(p.a), threshold = static_cast<C>(p.b);
    const C z = beta * v;
    return z > threshold ? v : log1p(exp(z)) / beta;
  } else if constexpr (Op == UnaryOp::reciprocal) {
    return C(1) / v;
  } else {
    static_assert(Op == UnaryOp::erf, "every unary op has a branch above");
    return erf(v);
  }
}

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

// The unary ops' formulas, shared by native/cpu/elementwise.cc and cuda/unary.cu so
// that both devices evaluate the same expressions (the math functions are each side's
// own std:: ones, float or double by the compute type). Each op keeps PyTorch's NaN
// and -0 behaviour; integer compute types reach only the ops marked 1 in TG_UNARY_OPS.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "host_device.h"
#include "kernels.h"

namespace tg {

template <typename C>
TG_HOST_DEVICE inline C sigmoid(C v) {
  if (v >= C(0)) return C(1) / (C(1) + std::exp(-v));
  const C e = std::exp(v);
  return e / (C(1) + e);
}

// static_cast<int32_t>(double) as x86's cvttsd2si computes it: C++ leaves NaN and
// out-of-range values undefined, x86 gives INT32_MIN for them, a GPU would saturate.
TG_HOST_DEVICE inline int32_t truncate_like_x86(double d) {
  return (d >= -2147483648.0 && d < 2147483648.0) ? static_cast<int32_t>(d) : INT32_MIN;
}

// One unary op in the compute type C. p.a, p.b: leakyRelu slope; elu alpha;
// softplus beta, threshold; clamp lo, hi (on integers +-inf means no bound).
template <UnaryOp Op, typename C>
TG_HOST_DEVICE inline C unary_op(C v, const UnaryParams& p) {
  constexpr bool kFloat = std::is_floating_point_v<C>;
  if constexpr (Op == UnaryOp::neg) {
    return C(-v);
  } else if constexpr (Op == UnaryOp::abs) {
    // fabs clears the sign bit, so abs(-0.0) is +0.0 (a compare-and-negate keeps -0.0)
    if constexpr (kFloat) return std::fabs(v);
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
      return static_cast<C>(truncate_like_x86(d > p.b ? p.b : d));
    }
  } else if constexpr (Op == UnaryOp::exp) {
    return std::exp(v);
  } else if constexpr (Op == UnaryOp::log) {
    return std::log(v);
  } else if constexpr (Op == UnaryOp::log1p) {
    return std::log1p(v);
  } else if constexpr (Op == UnaryOp::sqrt) {
    return std::sqrt(v);
  } else if constexpr (Op == UnaryOp::rsqrt) {
    return C(1) / std::sqrt(v);  // two correctly rounded steps (the GPU's rsqrt() is approximate)
  } else if constexpr (Op == UnaryOp::sin) {
    return std::sin(v);
  } else if constexpr (Op == UnaryOp::cos) {
    return std::cos(v);
  } else if constexpr (Op == UnaryOp::tanh) {
    return std::tanh(v);
  } else if constexpr (Op == UnaryOp::sigmoid) {
    return sigmoid(v);
  } else if constexpr (Op == UnaryOp::leakyRelu) {
    return v > C(0) ? v : v * static_cast<C>(p.a);
  } else if constexpr (Op == UnaryOp::elu) {
    return v > C(0) ? v : static_cast<C>(p.a) * std::expm1(v);
  } else if constexpr (Op == UnaryOp::gelu) {
    return C(0.5) * v * (C(1) + std::erf(v * C(0.70710678118654752440)));
  } else if constexpr (Op == UnaryOp::geluTanh) {
    const C k = C(0.79788456080286535588);  // sqrt(2/pi)
    return C(0.5) * v * (C(1) + std::tanh(k * (v + C(0.044715) * v * v * v)));
  } else if constexpr (Op == UnaryOp::silu) {
    return v * sigmoid(v);
  } else if constexpr (Op == UnaryOp::softplus) {
    // beta = a, threshold = b: above it the function is linear to float precision
    const C beta = static_cast<C>(p.a), threshold = static_cast<C>(p.b);
    const C z = beta * v;
    return z > threshold ? v : std::log1p(std::exp(z)) / beta;
  } else if constexpr (Op == UnaryOp::reciprocal) {
    return C(1) / v;
  } else {
    static_assert(Op == UnaryOp::erf, "every unary op has a branch above");
    return std::erf(v);
  }
}

}  // namespace tg

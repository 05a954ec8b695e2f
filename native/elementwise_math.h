// The binary, comparison and cast rules, shared by native/cpu/elementwise.cc and
// cuda/elementwise.cu / fill_cast.cu so that both devices compute the same values:
// each op loads into the compute type (float for the half types, int32 for uint8 and
// bool), applies the rule and stores with the destination's rule.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "half.h"
#include "host_device.h"
#include "ops.h"

namespace tg {

// NaN test of a compute value; integers are never NaN.
template <typename C>
TG_HOST_DEVICE inline bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>) return v != v;
  return false;
}

// Integer power by squaring: a negative exponent gives 0 except for base +-1.
// Unsigned arithmetic wraps mod 2^64 without undefined behaviour; the store keeps
// the low bits, those a wrapping int64 product would have.
TG_HOST_DEVICE inline int64_t int_pow(int64_t x, int64_t y) {
  if (y < 0) return x == 1 ? 1 : (x == -1 ? ((y & 1) ? -1 : 1) : 0);
  uint64_t r = 1, base = static_cast<uint64_t>(x);
  for (int64_t e = y; e > 0; e >>= 1, base *= base)
    if (e & 1) r *= base;
  return static_cast<int64_t>(r);
}

// One binary op in the compute type of T, stored as T. maximum and minimum return
// a NaN first operand (and a NaN second one, since both compares fail). div reaches
// only float types (TG_BINARY_OPS' second column).
template <BinaryOp Op, typename T>
TG_HOST_DEVICE inline T binary_op(compute_t<T> x, compute_t<T> y) {
  using L = Compute<T>;
  if constexpr (Op == BinaryOp::add) return L::store(x + y);
  else if constexpr (Op == BinaryOp::sub) return L::store(x - y);
  else if constexpr (Op == BinaryOp::mul) return L::store(x * y);
  else if constexpr (Op == BinaryOp::div) return L::store(x / y);
  else if constexpr (Op == BinaryOp::maximum) return L::store((x > y || is_nan(x)) ? x : y);
  else if constexpr (Op == BinaryOp::minimum) return L::store((x < y || is_nan(x)) ? x : y);
  else {
    static_assert(Op == BinaryOp::pow, "every binary op has a branch above");
    if constexpr (std::is_floating_point_v<compute_t<T>>) return L::store(std::pow(x, y));
    else return L::store(int_pow(x, y));
  }
}

template <CompareOp Op, typename C>
TG_HOST_DEVICE inline boolean compare_op(C x, C y) {
  bool r;
  if constexpr (Op == CompareOp::eq) r = x == y;
  else if constexpr (Op == CompareOp::ne) r = x != y;
  else if constexpr (Op == CompareOp::lt) r = x < y;
  else if constexpr (Op == CompareOp::le) r = x <= y;
  else if constexpr (Op == CompareOp::gt) r = x > y;
  else {
    static_assert(Op == CompareOp::ge, "every compare op has a branch above");
    r = x >= y;
  }
  return boolean{static_cast<uint8_t>(r)};
}

// One element converted from S to D. A float going to an integer type has no value
// in C++ when it is NaN or out of range, so it is pinned: NaN becomes 0 (true for
// bool, as in PyTorch), others are clamped to int32's range and truncated, then
// stored with the destination's rule (uint8 wraps mod 256).
template <typename S, typename D>
TG_HOST_DEVICE inline D cast_value(S s) {
  const auto v = Compute<S>::load(s);
  if constexpr (std::is_integral_v<compute_t<D>> && std::is_floating_point_v<decltype(v)>) {
    double d = static_cast<double>(v);
    if constexpr (std::is_same_v<D, boolean>) {
      return Compute<D>::store(d != 0.0 ? 1 : 0);
    } else {
      if (!(v == v)) return Compute<D>::store(0);
      const double lo = -2147483648.0, hi = 2147483647.0;
      d = d < lo ? lo : (d > hi ? hi : d);
      return Compute<D>::store(static_cast<int64_t>(d));
    }
  } else {
    return Compute<D>::store(v);
  }
}

}  // namespace tg

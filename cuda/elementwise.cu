// Binary and comparison kernels over a broadcast Iter (out, a, b): each element
// loads both operands into the compute type (float for the half types, int32 for
// uint8 and bool), applies the op and stores, exactly as native/cpu/elementwise.cc.
// The op is a template argument, so each (dtype, op) kernel is one straight-line
// loop body; ops the CPU refuses for a dtype (div on integers) are never
// instantiated and throw the CPU's error.
#include <stdexcept>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "common.cuh"
#include "iter_loop.cuh"

namespace tg::cuda {

namespace {

// Integer power by squaring, as the CPU: a negative exponent gives 0 except for
// base +-1. Unsigned arithmetic wraps mod 2^64 without undefined behaviour, and its
// low bits are those of the CPU's (wrapping) int64 product, all the store keeps.
__device__ __forceinline__ int64_t int_pow(int64_t x, int64_t y) {
  if (y < 0) return x == 1 ? 1 : (x == -1 ? ((y & 1) ? -1 : 1) : 0);
  uint64_t r = 1, base = static_cast<uint64_t>(x);
  for (int64_t e = y; e > 0; e >>= 1, base *= base)
    if (e & 1) r *= base;
  return static_cast<int64_t>(r);
}

// One binary op in the compute type C of T, stored as T. maximum and minimum
// return a NaN first operand (and a NaN second one, since both compares fail).
template <BinaryOp Op, typename T>
__device__ __forceinline__ T binary_op(compute_t<T> x, compute_t<T> y) {
  using L = Compute<T>;
  if constexpr (Op == BinaryOp::add) return L::store(x + y);
  else if constexpr (Op == BinaryOp::sub) return L::store(x - y);
  else if constexpr (Op == BinaryOp::mul) return L::store(x * y);
  else if constexpr (Op == BinaryOp::div) return L::store(x / y);  // float types only
  else if constexpr (Op == BinaryOp::maximum) return L::store((x > y || is_nan(x)) ? x : y);
  else if constexpr (Op == BinaryOp::minimum) return L::store((x < y || is_nan(x)) ? x : y);
  else {
    static_assert(Op == BinaryOp::pow, "every binary op has a branch above");
    if constexpr (std::is_floating_point_v<compute_t<T>>) return L::store(pow(x, y));
    else return L::store(int_pow(x, y));
  }
}

template <CompareOp Op, typename C>
__device__ __forceinline__ bool compare_op(C x, C y) {
  if constexpr (Op == CompareOp::eq) return x == y;
  else if constexpr (Op == CompareOp::ne) return x != y;
  else if constexpr (Op == CompareOp::lt) return x < y;
  else if constexpr (Op == CompareOp::le) return x <= y;
  else if constexpr (Op == CompareOp::gt) return x > y;
  else {
    static_assert(Op == CompareOp::ge, "every compare op has a branch above");
    return x >= y;
  }
}

// out[o0] = a[o1] op b[o2] for one element of the walk.
template <typename T, BinaryOp Op>
struct BinaryElement {
  T* out;
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t (&off)[3]) const {
    using L = Compute<T>;
    out[off[0]] = binary_op<Op, T>(L::load(a[off[1]]), L::load(b[off[2]]));
  }
};

template <typename T, CompareOp Op>
struct CompareElement {
  boolean* out;
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t (&off)[3]) const {
    using L = Compute<T>;
    out[off[0]] = boolean{static_cast<uint8_t>(compare_op<Op>(L::load(a[off[1]]), L::load(b[off[2]])))};
  }
};

}  // namespace

template <typename T>
void binary(BinaryOp op, const Iter& it, T* out, const T* a, const T* b) {
  constexpr bool kFloat = std::is_floating_point_v<compute_t<T>>;
  switch (op) {
    // the table's second column says whether integer dtypes reach the op
#define TG_CASE(name, ints)                                                              \
  case BinaryOp::name:                                                                   \
    if constexpr (ints || kFloat)                                                        \
      return launch_iter_loop<3>(it, BinaryElement<T, BinaryOp::name>{out, a, b});     \
    break;
    TG_BINARY_OPS(TG_CASE)
#undef TG_CASE
    default: break;
  }
  throw std::invalid_argument("binary: op not available for this dtype");
}

template <typename T>
void compare(CompareOp op, const Iter& it, boolean* out, const T* a, const T* b) {
  switch (op) {
#define TG_CASE(name, ints) \
  case CompareOp::name: return launch_iter_loop<3>(it, CompareElement<T, CompareOp::name>{out, a, b});
    TG_COMPARE_OPS(TG_CASE)
#undef TG_CASE
    default: break;
  }
  throw std::invalid_argument("compare: unknown op");
}

#define TG_INST(T)                                                        \
  template void binary<T>(BinaryOp, const Iter&, T*, const T*, const T*); \
  template void compare<T>(CompareOp, const Iter&, boolean*, const T*, const T*);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

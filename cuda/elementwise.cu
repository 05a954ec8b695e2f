// Binary and comparison kernels over a broadcast Iter (out, a, b): each element
// loads both operands into the compute type and applies native/elementwise_math.h's
// rule, the CPU's.
// The op is a template argument, so each (dtype, op) kernel is one straight-line
// loop body; ops the CPU refuses for a dtype (div on integers) are never
// instantiated and throw the CPU's error.
#include <stdexcept>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "../native/elementwise_math.h"
#include "common.cuh"
#include "iter_loop.cuh"

namespace tg::cuda {

namespace {

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
    out[off[0]] = compare_op<Op>(L::load(a[off[1]]), L::load(b[off[2]]));
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

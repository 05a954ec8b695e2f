// Unary, binary and comparison kernels, and fill and cast. Each loads storage
// values into the compute type (float for half types), applies the op and stores;
// the op switch sits outside the loops so each loop body is one inlined functor.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "../elementwise_math.h"
#include "../kernels.h"
#include "../unary_math.h"
#include "instantiate.h"
#include "threadpool.h"
#include "walk.h"

namespace tg::cpu {

namespace {

template <typename T, typename F>
void map_unary(const T* x, T* y, int64_t n, F f) {
  using L = Compute<T>;
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = L::store(f(L::load(x[i])));
  });
}

// Binary walk with contiguous and scalar-operand fast paths the compiler vectorizes.
template <typename O, typename T, typename F>
void map_binary(const Iter& it, O* out, const T* a, const T* b, F f) {
  using L = Compute<T>;
  walk(it, [&](const int64_t* off, int64_t n, const int64_t* s) {
    O* o = out + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(L::load(pa[i]), L::load(pb[i]));
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
      const auto vb = L::load(pb[0]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(L::load(pa[i]), vb);
    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
      const auto va = L::load(pa[0]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(va, L::load(pb[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(L::load(pa[i * s[1]]), L::load(pb[i * s[2]]));
    }
  });
}

}  // namespace

template <typename T>
void fill(T* out, int64_t n, double value) {
  const T v = Compute<T>::store(static_cast<compute_t<T>>(value));
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = v;
  });
}

template <typename S, typename D>
void cast(const S* src, D* dst, int64_t n) {
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = cast_value<S, D>(src[i]);
  });
}

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, const UnaryParams& p) {
  using C = compute_t<T>;
  constexpr bool kFloat = std::is_floating_point_v<C>;
  switch (op) {
    // the table's second column says whether integer dtypes reach the op
#define TG_CASE(name, ints)                                                                     \
  case UnaryOp::name:                                                                           \
    if constexpr (ints || kFloat)                                                               \
      return map_unary(x, y, n, [p](C v) { return unary_op<UnaryOp::name>(v, p); });           \
    break;
    TG_UNARY_OPS(TG_CASE)
#undef TG_CASE
    default: break;
  }
  throw std::invalid_argument("unary: op not available for this dtype");
}

template <typename T>
void binary(BinaryOp op, const Iter& it, T* out, const T* a, const T* b) {
  using C = compute_t<T>;
  constexpr bool kFloat = std::is_floating_point_v<C>;
  switch (op) {
    // the table's second column says whether integer dtypes reach the op
#define TG_CASE(name, ints)                                                                          \
  case BinaryOp::name:                                                                               \
    if constexpr (ints || kFloat)                                                                    \
      return map_binary(it, out, a, b, [](C x, C y) { return binary_op<BinaryOp::name, T>(x, y); }); \
    break;
    TG_BINARY_OPS(TG_CASE)
#undef TG_CASE
    default: break;
  }
  throw std::invalid_argument("binary: op not available for this dtype");
}

template <typename T>
void compare(CompareOp op, const Iter& it, boolean* out, const T* a, const T* b) {
  using C = compute_t<T>;
  switch (op) {
#define TG_CASE(name, ints) \
  case CompareOp::name: return map_binary(it, out, a, b, [](C x, C y) { return compare_op<CompareOp::name>(x, y); });
    TG_COMPARE_OPS(TG_CASE)
#undef TG_CASE
    default: break;
  }
  throw std::invalid_argument("compare: unknown op");
}

#define TG_INST(T)                                                                    \
  template void fill<T>(T*, int64_t, double);                                         \
  template void unary<T>(UnaryOp, const T*, T*, int64_t, const UnaryParams&);         \
  template void binary<T>(BinaryOp, const Iter&, T*, const T*, const T*);             \
  template void compare<T>(CompareOp, const Iter&, boolean*, const T*, const T*);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

#define TG_INST_CAST(S, D) template void cast<S, D>(const S*, D*, int64_t);
TG_FOR_ALL_TYPE_PAIRS(TG_INST_CAST)
#undef TG_INST_CAST

}  // namespace tg::cpu

// Unary, binary and comparison kernels, and fill and cast. Each loads storage
// values into the compute type (float for half types), applies the op and stores;
// the op switch sits outside the loops so each loop body is one inlined functor.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

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

template <typename C>
bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
  return false;
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
    for (int64_t i = b; i < e; ++i) {
      auto v = Compute<S>::load(src[i]);
      if constexpr (std::is_integral_v<compute_t<D>> && std::is_floating_point_v<decltype(v)>) {
        double d = static_cast<double>(v);
        if (std::is_same_v<D, boolean>) {  // NaN is true, as in PyTorch
          dst[i] = Compute<D>::store(d != 0.0 ? 1 : 0);
          continue;
        }
        // NaN and out-of-range floats have no integer value; pin them instead of UB.
        if (!(v == v)) {
          dst[i] = Compute<D>::store(0);
          continue;
        }
        const double lo = -2147483648.0, hi = 2147483647.0;
        d = d < lo ? lo : (d > hi ? hi : d);
        dst[i] = Compute<D>::store(static_cast<int64_t>(d));
      } else {
        dst[i] = Compute<D>::store(v);
      }
    }
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
  using L = Compute<T>;
  switch (op) {
    case BinaryOp::add: return map_binary(it, out, a, b, [](C x, C y) { return L::store(x + y); });
    case BinaryOp::sub: return map_binary(it, out, a, b, [](C x, C y) { return L::store(x - y); });
    case BinaryOp::mul: return map_binary(it, out, a, b, [](C x, C y) { return L::store(x * y); });
    case BinaryOp::maximum:
      return map_binary(it, out, a, b,
                        [](C x, C y) { return L::store((x > y || is_nan(x)) ? x : y); });
    case BinaryOp::minimum:
      return map_binary(it, out, a, b,
                        [](C x, C y) { return L::store((x < y || is_nan(x)) ? x : y); });
    case BinaryOp::pow:
      if constexpr (std::is_floating_point_v<C>) {
        return map_binary(it, out, a, b, [](C x, C y) { return L::store(std::pow(x, y)); });
      } else {
        return map_binary(it, out, a, b, [](C x, C y) {
          // integer power by squaring; negative exponents give 0 except for base +-1
          if (y < 0) return L::store(x == 1 ? 1 : (x == -1 ? ((y & 1) ? -1 : 1) : 0));
          int64_t r = 1, base = x;
          for (int64_t e = y; e > 0; e >>= 1, base *= base)
            if (e & 1) r *= base;
          return L::store(r);
        });
      }
    case BinaryOp::div:
      if constexpr (std::is_floating_point_v<C>) {
        return map_binary(it, out, a, b, [](C x, C y) { return L::store(x / y); });
      }
      break;
    default: break;
  }
  throw std::invalid_argument("binary: op not available for this dtype");
}

template <typename T>
void compare(CompareOp op, const Iter& it, boolean* out, const T* a, const T* b) {
  using C = compute_t<T>;
  auto B = [](bool v) { return boolean{static_cast<uint8_t>(v)}; };
  switch (op) {
    case CompareOp::eq: return map_binary(it, out, a, b, [&](C x, C y) { return B(x == y); });
    case CompareOp::ne: return map_binary(it, out, a, b, [&](C x, C y) { return B(x != y); });
    case CompareOp::lt: return map_binary(it, out, a, b, [&](C x, C y) { return B(x < y); });
    case CompareOp::le: return map_binary(it, out, a, b, [&](C x, C y) { return B(x <= y); });
    case CompareOp::gt: return map_binary(it, out, a, b, [&](C x, C y) { return B(x > y); });
    case CompareOp::ge: return map_binary(it, out, a, b, [&](C x, C y) { return B(x >= y); });
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

// Reductions and softmax over the middle axis of an (outer, r, inner) block.
// Callers move the reduced axes together first, so one layout serves every set of
// axes. Sums accumulate in double (int64 for integers).
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "../elementwise_math.h"
#include "../kernels.h"
#include "instantiate.h"
#include "walk.h"

namespace tg::cpu {

namespace {

// max/min that propagate NaN and report the first position of the extreme value
template <typename T, bool kMax>
void arg_extreme(const T* x, T* y, int32_t* indices, int64_t outer, int64_t r, int64_t inner) {
  using L = Compute<T>;
  using C = compute_t<T>;
  parallel_for(outer * inner, (kParallelGrain + r - 1) / r, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t o = p / inner, i = p % inner;
      const T* base = x + o * r * inner + i;
      C best = L::load(base[0]);
      int64_t at = 0;
      for (int64_t j = 1; j < r && !is_nan(best); ++j) {
        C v = L::load(base[j * inner]);
        if (is_nan(v) || (kMax ? v > best : v < best)) {
          best = v;
          at = j;
        }
      }
      y[p] = L::store(best);
      if (indices) indices[p] = static_cast<int32_t>(at);
    }
  });
}

template <typename T, typename A, typename F>
void fold(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, A init, F f) {
  using L = Compute<T>;
  if (inner == 1) {
    parallel_for(outer, (kParallelGrain + r - 1) / r, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const T* row = x + o * r;
        A acc = init;
        for (int64_t j = 0; j < r; ++j) acc = f(acc, static_cast<A>(L::load(row[j])));
        y[o] = L::store(acc);
      }
    });
    return;
  }
  // Walk r outside and inner inside so reads stay contiguous.
  parallel_for(outer, (kParallelGrain + r * inner - 1) / (r * inner), [&](int64_t o0, int64_t o1) {
    std::vector<A> acc(inner);
    for (int64_t o = o0; o < o1; ++o) {
      std::fill(acc.begin(), acc.end(), init);
      const T* block = x + o * r * inner;
      for (int64_t j = 0; j < r; ++j)
        for (int64_t i = 0; i < inner; ++i)
          acc[i] = f(acc[i], static_cast<A>(L::load(block[j * inner + i])));
      for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = L::store(acc[i]);
    }
  });
}

}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int32_t* indices, int64_t outer, int64_t r,
            int64_t inner) {
  using A = accum_t<T>;
  if (r == 0) {  // empty reduction: the identity, as PyTorch gives for sum and prod
    A v = op == ReduceOp::prod ? A(1) : A(0);
    for (int64_t p = 0; p < outer * inner; ++p) y[p] = Compute<T>::store(v);
    return;
  }
  switch (op) {
    case ReduceOp::sum: return fold(x, y, outer, r, inner, A(0), [](A a, A v) { return a + v; });
    case ReduceOp::prod: return fold(x, y, outer, r, inner, A(1), [](A a, A v) { return a * v; });
    case ReduceOp::max: return arg_extreme<T, true>(x, y, indices, outer, r, inner);
    case ReduceOp::min: return arg_extreme<T, false>(x, y, indices, outer, r, inner);
    default: break;
  }
  throw std::invalid_argument("reduce: unknown op");
}

// Stable softmax: subtract the row max before exp; log-softmax as x - max - log(sum).
template <typename T>
void softmax(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, bool log) {
  using L = Compute<T>;
  using C = compute_t<T>;
  parallel_for(outer * inner, (kParallelGrain + r - 1) / (r ? r : 1), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t o = p / inner, i = p % inner;
      const T* in = x + o * r * inner + i;
      T* out = y + o * r * inner + i;
      C m = -std::numeric_limits<C>::infinity();
      for (int64_t j = 0; j < r; ++j) m = std::max(m, L::load(in[j * inner]));
      if (std::isinf(m) && m < 0) m = 0;  // a row of -inf stays finite in the shift
      double sum = 0;
      for (int64_t j = 0; j < r; ++j) sum += std::exp(static_cast<double>(L::load(in[j * inner]) - m));
      if (log) {
        C shift = m + static_cast<C>(std::log(sum));
        for (int64_t j = 0; j < r; ++j) out[j * inner] = L::store(L::load(in[j * inner]) - shift);
      } else {
        C inv = static_cast<C>(1.0 / sum);
        for (int64_t j = 0; j < r; ++j)
          out[j * inner] = L::store(std::exp(L::load(in[j * inner]) - m) * inv);
      }
    }
  });
}

#define TG_INST(T) \
  template void reduce<T>(ReduceOp, const T*, T*, int32_t*, int64_t, int64_t, int64_t);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST
#define TG_INST(T) template void softmax<T>(const T*, T*, int64_t, int64_t, int64_t, bool);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu

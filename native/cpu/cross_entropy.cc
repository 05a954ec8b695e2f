// Softmax cross-entropy at class indices, fused (the contract is in kernel_list.inc, the
// formulas in ../cross_entropy_math.h). The forward reads each row of logits twice (max,
// then exp and the smoothing sum) and writes the position's loss, its log-sum-exp and its
// weight; the backward writes the whole gradient in one more read. Composed from
// logSoftmax, gather and the weight and smoothing terms, the same loss takes about eight
// passes and as many temporaries each way.
//
// Positions are walked in tiles: up to kTile consecutive columns of inner in one outer
// block, the class loop outside and the tile inside, so reads stay contiguous when
// inner > 1. When inner == 1 a tile is one contiguous row (kRow drops the tile loop).
// Sums accumulate in double; exp runs in the compute type (float for half types).
#include <algorithm>
#include <cmath>
#include <limits>

#include "../cross_entropy_math.h"
#include "../kernels.h"
#include "instantiate.h"
#include "walk.h"

namespace tg::cpu {

namespace {

constexpr int64_t kTile = 64;

// Positions (o, i0 .. i0 + width - 1) of the (outer, c, inner) block.
struct Tile {
  int64_t o, i0, width;
};

// Runs fn(tile) for every tile on the pool, about kParallelGrain elements per task.
template <typename F>
void for_each_tile(const CrossEntropyArgs& a, const F& fn) {
  const int64_t width = std::min(a.inner, kTile);
  const int64_t per_block = (a.inner + width - 1) / width;
  const int64_t cost = std::max<int64_t>(a.c * width, 1);
  parallel_for(a.outer * per_block, (kParallelGrain + cost - 1) / cost, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / per_block, i0 = t % per_block * width;
      fn(Tile{o, i0, std::min(width, a.inner - i0)});
    }
  });
}

template <typename T>
double weight_sum_of(const T* weight, int64_t c) {
  if (weight == nullptr) return static_cast<double>(c);
  double s = 0;
  for (int64_t j = 0; j < c; ++j) s += Compute<T>::load(weight[j]);
  return s;
}

template <bool kRow, typename T>
void forward_tile(const CrossEntropyArgs& a, const Tile& tile, const T* x, const int32_t* target, const T* weight,
                  double weight_sum, T* loss, compute_t<T>* lse, T* weight_used) {
  using L = Compute<T>;
  using C = compute_t<T>;
  const int64_t n = kRow ? 1 : tile.width, stride = a.inner;
  const T* block = x + tile.o * a.c * a.inner + tile.i0;  // (class j, column i) at block[j * stride + i]
  C m[kTile];
  double exp_sum[kTile], weighted_shift[kTile];
  for (int64_t i = 0; i < n; ++i) {
    m[i] = -std::numeric_limits<C>::infinity();
    exp_sum[i] = weighted_shift[i] = 0;
  }
  for (int64_t j = 0; j < a.c; ++j)
    for (int64_t i = 0; i < n; ++i) m[i] = std::max(m[i], L::load(block[j * stride + i]));
  for (int64_t i = 0; i < n; ++i)
    if (std::isinf(m[i]) && m[i] < 0) m[i] = 0;  // a row of -inf stays finite in the shift, as in softmax
  for (int64_t j = 0; j < a.c; ++j) {
    const double w = weight ? L::load(weight[j]) : 1.0;
    for (int64_t i = 0; i < n; ++i) {
      const C d = L::load(block[j * stride + i]) - m[i];
      exp_sum[i] += std::exp(d);
      weighted_shift[i] += w * d;
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = tile.o * a.inner + tile.i0 + i;
    const double log_sum = std::log(exp_sum[i]);
    lse[p] = static_cast<C>(m[i] + log_sum);
    const int32_t t = target[p];
    double l = 0, w_t = 0;
    if (cross_entropy_counts(t, a.c, a.ignore_index)) {
      w_t = weight ? L::load(weight[t]) : 1.0;
      const double target_shift = L::load(block[t * stride + i]) - m[i];
      l = cross_entropy_loss<double>(log_sum, target_shift, w_t, weighted_shift[i], weight_sum, a.smoothing,
                                     1.0 / static_cast<double>(a.c));
    }
    loss[p] = L::store(l);
    if (weight_used) weight_used[p] = L::store(w_t);
  }
}

template <bool kRow, typename T>
void backward_tile(const CrossEntropyArgs& a, const Tile& tile, const T* x, const int32_t* target, const T* weight,
                   double weight_sum, const compute_t<T>* lse, const T* gloss, T* gx) {
  using L = Compute<T>;
  using C = compute_t<T>;
  const int64_t n = kRow ? 1 : tile.width, stride = a.inner;
  const int64_t offset = tile.o * a.c * a.inner + tile.i0;
  const T* block = x + offset;
  T* out = gx + offset;
  CrossEntropyGrad<C> scales[kTile];
  C shift[kTile];
  int32_t t[kTile];
  bool counts[kTile];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = tile.o * a.inner + tile.i0 + i;
    t[i] = target[p];
    counts[i] = cross_entropy_counts(t[i], a.c, a.ignore_index);
    const C w_t = counts[i] && weight ? L::load(weight[t[i]]) : C(1);
    scales[i] = cross_entropy_grad<C>(L::load(gloss[p]), w_t, static_cast<C>(weight_sum), static_cast<C>(a.smoothing),
                                      static_cast<C>(1.0 / static_cast<double>(a.c)));
    shift[i] = lse[p];
  }
  for (int64_t j = 0; j < a.c; ++j) {
    const C w = weight ? L::load(weight[j]) : C(1);
    for (int64_t i = 0; i < n; ++i) {
      const C g = scales[i].at(std::exp(L::load(block[j * stride + i]) - shift[i]), w, j == t[i]);
      out[j * stride + i] = L::store(counts[i] ? g : C(0));
    }
  }
}

}  // namespace

template <typename T>
void cross_entropy_forward(const CrossEntropyArgs& a, const T* x, const int32_t* target, const T* weight, T* loss,
                           compute_t<T>* lse, T* weight_used) {
  if (a.outer * a.inner == 0) return;
  const double weight_sum = weight_sum_of(weight, a.c);
  const bool row = a.inner == 1;
  for_each_tile(a, [&](const Tile& tile) {
    if (row)
      forward_tile<true>(a, tile, x, target, weight, weight_sum, loss, lse, weight_used);
    else
      forward_tile<false>(a, tile, x, target, weight, weight_sum, loss, lse, weight_used);
  });
}

template <typename T>
void cross_entropy_backward(const CrossEntropyArgs& a, const T* x, const int32_t* target, const T* weight,
                            const compute_t<T>* lse, const T* gloss, T* gx) {
  if (a.outer * a.inner == 0) return;
  const double weight_sum = weight_sum_of(weight, a.c);
  const bool row = a.inner == 1;
  for_each_tile(a, [&](const Tile& tile) {
    if (row)
      backward_tile<true>(a, tile, x, target, weight, weight_sum, lse, gloss, gx);
    else
      backward_tile<false>(a, tile, x, target, weight, weight_sum, lse, gloss, gx);
  });
}

#define TG_INST(T)                                                                                        \
  template void cross_entropy_forward<T>(const CrossEntropyArgs&, const T*, const int32_t*, const T*, T*, \
                                         compute_t<T>*, T*);                                              \
  template void cross_entropy_backward<T>(const CrossEntropyArgs&, const T*, const int32_t*, const T*,    \
                                          const compute_t<T>*, const T*, T*);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu

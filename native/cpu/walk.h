// Parallel walk over an Iter: rows of the innermost dim are handed to
// fn(offsets, length, inner_strides), with offsets in elements per operand.
#pragma once
#include <cstdint>

#include "../kernels.h"
#include "threadpool.h"

namespace tg::cpu {

constexpr int64_t kParallelGrain = 32768;  // elements per task below which threads cost more

template <typename F>
void walk(const Iter& it, F&& fn) {
  const int nd = it.ndim;
  const int64_t len = it.shape[nd - 1];
  if (len == 0) return;
  const int64_t rows = it.numel() / len;
  int64_t inner[4] = {0, 0, 0, 0};
  for (int o = 0; o < it.nops; ++o) inner[o] = it.strides[o][nd - 1];
  if (rows == 1) {
    // one long row (the common contiguous case after dims merge): split the row itself
    parallel_for(len, kParallelGrain, [&](int64_t b, int64_t e) {
      int64_t off[4];
      for (int o = 0; o < it.nops; ++o) off[o] = it.offset[o] + b * inner[o];
      fn(off, e - b, inner);
    });
    return;
  }
  parallel_for(rows, (kParallelGrain + len - 1) / len, [&](int64_t r0, int64_t r1) {
    int64_t idx[kMaxDims] = {0};
    int64_t off[4];
    // decompose r0 into the outer multi-index
    int64_t rem = r0;
    for (int d = nd - 2; d >= 0; --d) {
      idx[d] = rem % it.shape[d];
      rem /= it.shape[d];
    }
    for (int o = 0; o < it.nops; ++o) {
      off[o] = it.offset[o];
      for (int d = 0; d < nd - 1; ++d) off[o] += idx[d] * it.strides[o][d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      fn(off, len, inner);
      for (int d = nd - 2; d >= 0; --d) {  // advance the outer index like an odometer
        ++idx[d];
        for (int o = 0; o < it.nops; ++o) off[o] += it.strides[o][d];
        if (idx[d] < it.shape[d]) break;
        for (int o = 0; o < it.nops; ++o) off[o] -= it.shape[d] * it.strides[o][d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace tg::cpu

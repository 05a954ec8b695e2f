// Builds an Iter from a shape and per-operand strides: drops size-1 dims and
// merges dims that are contiguous for every operand, so most walks become one
// long inner loop.
#pragma once
#include <vector>

#include "kernels.h"

namespace tg {

inline Iter make_iter(const std::vector<int64_t>& shape,
                      const std::vector<const std::vector<int64_t>*>& strides) {
  Iter it;
  it.nops = static_cast<int>(strides.size());
  int nd = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (nd > 0) {
      bool mergeable = true;
      for (int o = 0; o < it.nops; ++o)
        if (it.strides[o][nd - 1] != (*strides[o])[d] * shape[d]) mergeable = false;
      if (mergeable) {
        it.shape[nd - 1] *= shape[d];
        for (int o = 0; o < it.nops; ++o) it.strides[o][nd - 1] = (*strides[o])[d];
        continue;
      }
    }
    it.shape[nd] = shape[d];
    for (int o = 0; o < it.nops; ++o) it.strides[o][nd] = (*strides[o])[d];
    ++nd;
  }
  if (nd == 0) {  // a scalar, or all dims of size 1
    it.shape[0] = 1;
    for (int o = 0; o < it.nops; ++o) it.strides[o][0] = 1;
    nd = 1;
  }
  for (int i = 0; i < shape.size(); ++i)
    if (shape[i] == 0) {
      it.shape[0] = 0;
      nd = 1;
    }
  it.ndim = nd;
  return it;
}

// Largest element offset an operand reaches (plus one), for bounds re-checks.
inline int64_t iter_extent(const Iter& it, int op) {
  if (it.numel() == 0) return 0;
  int64_t hi = it.offset[op];
  for (int d = 0; d < it.ndim; ++d) {
    if (it.strides[op][d] < 0) return -1;
    hi += (it.shape[d] - 1) * it.strides[op][d];
  }
  return hi + 1;
}

}  // namespace tg

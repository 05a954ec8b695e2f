// indexSelect, gather and scatterAdd. Index values were range-checked by the
// glue before these run.
#include <cstring>

#include "../kernels.h"
#include "instantiate.h"
#include "walk.h"

namespace tg::cpu {

// src (outer, src_dim, inner) -> out (outer, n_index, inner)
void index_select(int esize, const char* src, const int32_t* index, char* out, int64_t outer,
                  int64_t src_dim, int64_t n_index, int64_t inner) {
  const int64_t row = inner * esize;
  parallel_for(outer * n_index, (kParallelGrain + inner - 1) / (inner ? inner : 1),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   int64_t o = r / n_index, j = r % n_index;
                   std::memcpy(out + r * row, src + (o * src_dim + index[j]) * row, row);
                 }
               });
}

namespace {

// Calls f(position in index, src offset, out offset) for every index element, where
// the offset along `dim` uses the index value for src (gather) or out (scatter).
template <typename F>
void for_each_index(const IndexArgs& a, const int32_t* index, bool index_picks_src, F&& f) {
  int64_t n = 1;
  for (int d = 0; d < a.ndim; ++d) n *= a.index_shape[d];
  int64_t idx[kMaxDims] = {0};
  for (int64_t p = 0; p < n; ++p) {
    int64_t so = 0, oo = 0;
    for (int d = 0; d < a.ndim; ++d) {
      int64_t c = d == a.dim ? index[p] : idx[d];
      so += (d == a.dim && !index_picks_src ? idx[d] : c) * a.src_strides[d];
      oo += (d == a.dim && index_picks_src ? idx[d] : c) * a.out_strides[d];
    }
    f(so, oo);
    for (int d = a.ndim - 1; d >= 0; --d) {
      if (++idx[d] < a.index_shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

// out[i][j][k] = src[i][index[i][j][k]][k]  (dim = 1)
void gather(int esize, const IndexArgs& a, const char* src, const int32_t* index, char* out) {
  for_each_index(a, index, true, [&](int64_t so, int64_t oo) {
    std::memcpy(out + oo * esize, src + so * esize, esize);
  });
}

// out[i][index[i][j][k]][k] += src[i][j][k]  (dim = 1); serial, since indices may repeat
template <typename T>
void scatter_add(const IndexArgs& a, T* out, const int32_t* index, const T* src) {
  using L = Compute<T>;
  for_each_index(a, index, false, [&](int64_t so, int64_t oo) {
    out[oo] = L::store(L::load(out[oo]) + L::load(src[so]));
  });
}

#define TG_INST(T) template void scatter_add<T>(const IndexArgs&, T*, const int32_t*, const T*);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu

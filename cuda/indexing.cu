// indexSelect, gather and scatterAdd, as native/cpu/indexing.cc. index_select and
// gather move elements without arithmetic, written once per element size
// (element_size.cuh); scatter_add adds, so it is written per dtype, with atomics
// since indices may repeat (the CPU runs it serially for the same reason; the
// order of the adds to one element, and so float rounding, may differ from it).
//
// The glue range-checks index values before these run; the kernels check again so
// that bad data can never touch memory outside a tensor: an index element that
// fails reads as 0 (index_select, gather) or adds nothing (scatter_add).
#include "../native/cpu/instantiate.h"
#include "atomic_add.cuh"
#include "common.cuh"
#include "element_size.cuh"

namespace tg::cuda {

namespace {

// src (outer, src_dim, inner) -> out (outer, n_index, inner):
// out[o][j][c] = src[o][index[j]][c]
template <typename W>
__global__ void index_select_kernel(const W* src, const int32_t* index, W* out, int64_t total,
                                    int64_t src_dim, int64_t n_index, int64_t inner) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t row = e / inner;  // (o, j)
    const int64_t c = e - row * inner;
    const int64_t o = row / n_index;
    const int64_t j = row - o * n_index;
    const int32_t v = index[j];
    out[e] = (v >= 0 && v < src_dim) ? src[(o * src_dim + v) * inner + c] : W(0);
  }
}

// Element offsets in src (so) and out (oo) for position p of the index tensor
// (contiguous, row-major over a.index_shape). Along a.dim the index value picks
// the src element (gather) or the out element (scatter); every other coordinate
// is p's own. A 0-d walk (ndim 0) is the single element at offset 0.
//
// The returned range check can only reject negative values: IndexArgs does not
// carry the size of the dimension the index value addresses, so the upper bound
// rests on the glue's check.
template <bool kIndexPicksSrc>
__device__ __forceinline__ bool index_offsets(const IndexArgs& a, const int32_t* index, int64_t p,
                                              int64_t& so, int64_t& oo) {
  so = 0;
  oo = 0;
  bool in_range = true;
  int64_t rem = p;
  for (int d = a.ndim - 1; d >= 0; --d) {
    const int64_t extent = a.index_shape[d];
    const int64_t i = rem % extent;
    rem /= extent;
    int64_t s = i, o = i;
    if (d == a.dim) {
      const int32_t v = index[p];
      in_range = v >= 0;
      if (kIndexPicksSrc) s = v;
      else o = v;
    }
    so += s * a.src_strides[d];
    oo += o * a.out_strides[d];
  }
  return in_range;
}

// out[i][j][k] = src[i][index[i][j][k]][k]  (dim = 1), over the n elements of index
template <typename W>
__global__ void gather_kernel(const __grid_constant__ IndexArgs a, int64_t n, const W* src,
                              const int32_t* index, W* out) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < n; p += step) {
    int64_t so, oo;
    const bool in_range = index_offsets<true>(a, index, p, so, oo);
    out[oo] = in_range ? src[so] : W(0);
  }
}

// out[i][index[i][j][k]][k] += src[i][j][k]  (dim = 1), over the n elements of index
template <typename T>
__global__ void scatter_add_kernel(const __grid_constant__ IndexArgs a, int64_t n, T* out,
                                   const int32_t* index, const T* src) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < n; p += step) {
    int64_t so, oo;
    if (index_offsets<false>(a, index, p, so, oo)) atomic_add(out + oo, src[so]);
  }
}

int64_t index_numel(const IndexArgs& a) {
  int64_t n = 1;
  for (int d = 0; d < a.ndim; ++d) n *= a.index_shape[d];
  return n;
}

}  // namespace

void index_select(int esize, const char* src, const int32_t* index, char* out, int64_t outer,
                  int64_t src_dim, int64_t n_index, int64_t inner) {
  by_element_size(esize, [&](auto word) {
    using W = decltype(word);
    const int64_t total = outer * n_index * inner;
    if (total <= 0) return;
    index_select_kernel<W><<<grid_for(total), kThreads, 0, stream()>>>(
        reinterpret_cast<const W*>(src), index, reinterpret_cast<W*>(out), total, src_dim, n_index, inner);
    TG_CUDA_LAUNCH_CHECK();
  });
}

void gather(int esize, const IndexArgs& a, const char* src, const int32_t* index, char* out) {
  by_element_size(esize, [&](auto word) {
    using W = decltype(word);
    const int64_t n = index_numel(a);
    if (n <= 0) return;
    gather_kernel<W><<<grid_for(n), kThreads, 0, stream()>>>(a, n, reinterpret_cast<const W*>(src), index,
                                                             reinterpret_cast<W*>(out));
    TG_CUDA_LAUNCH_CHECK();
  });
}

template <typename T>
void scatter_add(const IndexArgs& a, T* out, const int32_t* index, const T* src) {
  const int64_t n = index_numel(a);
  if (n <= 0) return;
  scatter_add_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(a, n, out, index, src);
  TG_CUDA_LAUNCH_CHECK();
}

#define TG_INST(T) template void scatter_add<T>(const IndexArgs&, T*, const int32_t*, const T*);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

// How a tile loader finds the elements of a GEMM operand (gemm_tile.cuh): a source
// maps element (x, k) of an operand (x: a row of A or a column of B) to global
// memory, zero outside the operand, and reads it in runs of V consecutive elements.
// The dense source below serves the GEMM and the convolution weights; the
// convolution gathers (conv_gemm.cuh) have the same shape:
//
//   Elem, along_k            the storage type; the direction of the runs
//   to_batch(b)              moves to matrix b of a batch (or group)
//   run<V>(x, k) -> Run      a thread's cursor for the run starting at (x, k) of a
//                            block's first k-tile: what stays fixed as the tile moves
//                            along K, computed once per block
//   load<V>(run, kk, out)    that run, kk further along K
#pragma once
#include <cstdint>
#include <cstring>

#include "common.cuh"

namespace tg::cuda::tile {

// ---- vector access ----------------------------------------------------------

template <int Bytes>
struct Word {};
template <> struct Word<2> { using type = uint16_t; };
template <> struct Word<4> { using type = uint32_t; };
template <> struct Word<8> { using type = uint2; };
template <> struct Word<16> { using type = uint4; };

// sizes a run can be loaded or stored in as one word
__host__ __device__ constexpr bool is_word_size(int64_t bytes) {
  return bytes == 2 || bytes == 4 || bytes == 8 || bytes == 16;
}
template <int Bytes>
constexpr bool kHasWord = is_word_size(Bytes);

// V consecutive elements at p (aligned to their total size when that is a word size).
template <typename T, int V>
__host__ __device__ __forceinline__ void load_vector(const T* p, T (&out)[V]) {
  if constexpr (kHasWord<V * sizeof(T)>) {
    using W = typename Word<V * sizeof(T)>::type;
    const W w = *reinterpret_cast<const W*>(p);
    memcpy(out, &w, sizeof(W));
  } else {
    for (int i = 0; i < V; ++i) out[i] = p[i];
  }
}
template <typename T, int V>
__host__ __device__ __forceinline__ void store_vector(T* p, const T (&v)[V]) {
  if constexpr (kHasWord<V * sizeof(T)>) {
    using W = typename Word<V * sizeof(T)>::type;
    W w;
    memcpy(&w, v, sizeof(W));
    *reinterpret_cast<W*>(p) = w;
  } else {
    for (int i = 0; i < V; ++i) p[i] = v[i];
  }
}

inline bool aligned_to(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

// ---- the dense source ---------------------------------------------------------

// Element (x, k) of a strided matrix at p[x * sx + k * sk], matrices batch_stride
// apart, zero outside rows x depth. Runs go along k or along x; `vector` (set by
// make_dense) says a whole in-bounds run is one aligned vector load: the run's
// direction has stride 1 and every run start is aligned to the run's size.
template <typename T>
struct DenseSource {
  using Elem = T;
  const T* p = nullptr;
  int64_t sx = 0, sk = 0, batch_stride = 0, rows = 0, depth = 0;
  bool along_k = true, vector = false;

  struct Run {
    const T* ptr;    // element (x, k)
    int64_t k_left;  // depth - k
    int x_count;     // along k: V when row x exists, else 0; along x: rows inside (0..V)
  };

  __host__ __device__ void to_batch(int64_t b) { p += b * batch_stride; }

  template <int V>
  __host__ __device__ __forceinline__ Run run(int64_t x, int64_t k) const {
    return {p + x * sx + k * sk, depth - k, int(along_k ? (x < rows ? V : 0) : imin(imax(rows - x, 0), V))};
  }
  // elements of the run, kk further along K, inside the operand: always a prefix
  template <int V>
  __host__ __device__ __forceinline__ int valid(const Run& r, int64_t kk) const {
    if (along_k) return r.x_count ? int(imin(imax(r.k_left - kk, 0), V)) : 0;
    return kk < r.k_left ? r.x_count : 0;
  }
  template <int V>
  __host__ __device__ __forceinline__ void load(const Run& r, int64_t kk, T (&v)[V]) const {
    const int n = valid<V>(r, kk);
    const T* q = r.ptr + kk * sk;
    if (vector && n == V) return load_vector(q, v);
    const int64_t step = along_k ? sk : sx;
#pragma unroll
    for (int i = 0; i < V; ++i) v[i] = i < n ? q[i * step] : T{};
  }
};

// A dense operand (x, k) -> p[x * ld + k] when k_contiguous, else p[k * ld + x],
// read in runs of `run` elements along `along_k` (the tensor-core register path
// reads every operand along k; otherwise along its contiguous direction).
template <typename T>
DenseSource<T> make_dense(const T* p, bool k_contiguous, int64_t ld, int64_t rows, int64_t depth,
                          int64_t batch_stride, int run, bool along_k) {
  DenseSource<T> s;
  s.p = p;
  s.sx = k_contiguous ? ld : 1;
  s.sk = k_contiguous ? 1 : ld;
  s.batch_stride = batch_stride;
  s.rows = rows;
  s.depth = depth;
  s.along_k = along_k;
  const int64_t bytes = int64_t(run) * int64_t(sizeof(T));
  s.vector = along_k == k_contiguous && is_word_size(bytes) && aligned_to(p, bytes) && ld % run == 0 &&
             batch_stride % run == 0;
  return s;
}

}  // namespace tg::cuda::tile

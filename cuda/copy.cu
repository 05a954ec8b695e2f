// Data-movement kernels: strided copy (transpose, permute, expand, slice, cat,
// pad), where, and the triangle mask, as native/cpu/copy.cc. They move elements of
// 1, 2, 4 or 8 bytes without arithmetic, so each kernel is written once over the
// unsigned word of the element's size (element_size.cuh). A copy whose walk is one
// contiguous run on both sides is a cudaMemcpyAsync: the copy engine's bandwidth
// with no kernel of ours.
#include "common.cuh"
#include "element_size.cuh"
#include "iter_loop.cuh"

namespace tg::cuda {

namespace {

// dst[o0] = src[o1]
template <typename W>
struct CopyElement {
  W* dst;
  const W* src;
  __device__ void operator()(const int64_t (&off)[2]) const { dst[off[0]] = src[off[1]]; }
};

// out[o0] = cond[o1] ? a[o2] : b[o3]; any non-zero byte is true, as on the CPU.
template <typename W>
struct WhereElement {
  W* out;
  const boolean* cond;
  const W* a;
  const W* b;
  __device__ void operator()(const int64_t (&off)[4]) const {
    out[off[0]] = cond[off[1]].value ? a[off[2]] : b[off[3]];
  }
};

// (batch, rows, cols) -> (batch, rows, cols): keeps element (i, j) of every matrix
// when j <= i + k (lower) or j >= i + k (upper), else writes 0, the all-zero bit
// pattern of every dtype we store. Elementwise, so src == dst works in place.
template <typename W>
__global__ void tri_kernel(const W* src, W* dst, int64_t total, int64_t rows, int64_t cols,
                           int64_t k, bool upper) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t r = e / cols;
    const int64_t j = e - r * cols;
    const int64_t diagonal = j - r % rows;  // j - i, compared with k: never overflows, for any k
    const bool keep = upper ? diagonal >= k : diagonal <= k;
    dst[e] = keep ? src[e] : W(0);
  }
}

}  // namespace

void copy_strided(const Iter& it, int esize, char* dst, const char* src) {
  by_element_size(esize, [&](auto word) {
    using W = decltype(word);
    const int64_t n = it.numel();
    if (n <= 0) return;
    if (it.ndim == 1 && it.strides[0][0] == 1 && it.strides[1][0] == 1) {
      TG_CUDA_CHECK(cudaMemcpyAsync(dst + it.offset[0] * esize, src + it.offset[1] * esize,
                                    static_cast<size_t>(n) * esize, cudaMemcpyDeviceToDevice, stream()));
      return;
    }
    launch_iter_loop<2>(it, CopyElement<W>{reinterpret_cast<W*>(dst), reinterpret_cast<const W*>(src)});
  });
}

void where(const Iter& it, int esize, char* out, const boolean* cond, const char* a, const char* b) {
  by_element_size(esize, [&](auto word) {
    using W = decltype(word);
    launch_iter_loop<4>(it, WhereElement<W>{reinterpret_cast<W*>(out), cond, reinterpret_cast<const W*>(a),
                                            reinterpret_cast<const W*>(b)});
  });
}

void tri(int esize, const char* src, char* dst, int64_t batch, int64_t rows, int64_t cols,
         int64_t k, bool upper) {
  by_element_size(esize, [&](auto word) {
    using W = decltype(word);
    const int64_t total = batch * rows * cols;
    if (total <= 0) return;
    tri_kernel<W><<<grid_for(total), kThreads, 0, stream()>>>(
        reinterpret_cast<const W*>(src), reinterpret_cast<W*>(dst), total, rows, cols, k, upper);
    TG_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tg::cuda

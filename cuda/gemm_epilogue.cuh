// What happens to a GEMM accumulator on its way to memory, fused into the tile
// kernel so the output is written once: C = act(alpha * acc + beta * C + bias),
// computed in the storage type's compute type (float for the half types, which are
// rounded once, at the store). The order of operations and the integer wrapping are
// those of the CPU reference (native/cpu/gemm_reference.cc): alpha before beta,
// beta == 0 never reads C (it may hold NaN garbage), bias per column, activation last.
//
// An epilogue is a small struct with
//   store(batch, split, row, col, acc)   row/col may lie past the matrix: it checks.
// MatrixEpilogue writes a row-major C; the convolution passes bring their own
// (conv.cu). A K split across blocks writes fp32 (compute-type) partial sums first
// (TileOutput below) and finish_splits then sums them, in a fixed order so results
// are deterministic, and hands each sum to the same epilogue.
#pragma once
#include <cstdint>
#include <type_traits>

#include "common.cuh"

namespace tg::cuda::tile {

// Integers wrap as unsigned 32-bit arithmetic does (the CPU's int32 sums wrap the
// same way in practice; here it is also defined behaviour).
template <typename C>
__host__ __device__ __forceinline__ C wrapping_add(C a, C b) {
  if constexpr (std::is_integral_v<C>) return static_cast<C>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
  else return a + b;
}
template <typename C>
__host__ __device__ __forceinline__ C wrapping_mul(C a, C b) {
  if constexpr (std::is_integral_v<C>) return static_cast<C>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
  else return a * b;
}

// The two GELUs, out of line: the epilogue applies them to each of a thread's
// accumulators once per tile, and inlined 64 times they would only bloat the
// kernels. float computes in float (as the CPU's float kernels); every other
// compute type in double, truncated back for the integers (the CPU reference).
template <typename C>
__host__ __device__ __noinline__ C gelu_erf(C v) {
  if constexpr (std::is_same_v<C, float>) return 0.5f * v * (1.0f + erff(v * 0.70710678118654752440f));
  const double x = static_cast<double>(v);
  return static_cast<C>(0.5 * x * (1.0 + erf(x * 0.70710678118654752440)));
}
template <typename C>
__host__ __device__ __noinline__ C gelu_tanh(C v) {
  if constexpr (std::is_same_v<C, float>)
    return 0.5f * v * (1.0f + tanhf(0.79788456080286535588f * (v + 0.044715f * v * v * v)));
  const double x = static_cast<double>(v);
  return static_cast<C>(0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x))));
}

// The fused activation; relu keeps NaN (a compare, not fmax).
template <typename C>
__host__ __device__ __forceinline__ C activate(C v, GemmAct act) {
  switch (act) {
    case GemmAct::relu: return v < C(0) ? C(0) : v;
    case GemmAct::gelu: return gelu_erf(v);
    case GemmAct::geluTanh: return gelu_tanh(v);
    default: return v;
  }
}

// C (rows, cols) row-major with leading dimension ldc, stride_c between the
// matrices of a batch. has_product is false when K == 0 or alpha == 0: then the
// product term is exactly 0 (alpha is never multiplied by anything).
template <typename T>
struct MatrixEpilogue {
  using C = compute_t<T>;
  T* c = nullptr;
  const T* bias = nullptr;  // (cols) or null
  int64_t ldc = 0, stride_c = 0, rows = 0, cols = 0;
  C alpha = C(1), beta = C(0);
  GemmAct act = GemmAct::none;
  bool has_product = true;

  template <typename Acc>
  __host__ __device__ __forceinline__ void store(int64_t batch, int, int64_t row, int64_t col, Acc acc) const {
    if (row >= rows || col >= cols) return;
    T* p = c + batch * stride_c + row * ldc + col;
    C v = has_product ? wrapping_mul(alpha, static_cast<C>(acc)) : C(0);
    if (beta != C(0)) v = wrapping_add(v, wrapping_mul(beta, Compute<T>::load(*p)));
    if (bias) v = wrapping_add(v, Compute<T>::load(bias[col]));
    *p = Compute<T>::template store<C>(activate(v, act));
  }
};

// Where the tile kernel puts an accumulator: into the epilogue, or, when K is split
// over `splits` blocks, into partial[batch][split][row][col] for finish_splits.
template <typename Epi, typename Acc>
struct TileOutput {
  Epi epi;
  Acc* partial = nullptr;
  int64_t rows = 0, cols = 0;
  int splits = 1;

  __device__ __forceinline__ void store(int64_t batch, int split, int64_t row, int64_t col, Acc acc) const {
    if (partial == nullptr) return epi.store(batch, split, row, col, acc);
    if (row < rows && col < cols) partial[((batch * splits + split) * rows + row) * cols + col] = acc;
  }
};

// (batch, splits, rows, cols) partial sums -> epi, summed in split order. With
// splits == 0 (partial unused) every element gets a zero sum: the K == 0 case.
template <typename Epi, typename Acc>
__global__ void finish_splits_kernel(const Acc* partial, int splits, int64_t batch, int64_t rows, int64_t cols,
                                     const Epi epi) {
  const int64_t plane = rows * cols, total = batch * plane;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = i / plane, rc = i - b * plane, row = rc / cols, col = rc - row * cols;
    Acc sum = Acc(0);
    for (int s = 0; s < splits; ++s) sum += partial[(b * splits + s) * plane + rc];
    epi.store(b, 0, row, col, sum);
  }
}

template <typename Acc, typename Epi>
void finish_splits(const Acc* partial, int splits, int64_t batch, int64_t rows, int64_t cols, const Epi& epi) {
  const int64_t total = batch * rows * cols;
  if (total <= 0) return;
  finish_splits_kernel<Epi, Acc><<<grid_for(total), kThreads, 0, stream()>>>(partial, splits, batch, rows, cols, epi);
  TG_CUDA_LAUNCH_CHECK();
}

}  // namespace tg::cuda::tile

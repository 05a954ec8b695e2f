// Every kernel's declaration: the contract between dispatch.cc and the kernels.
// Kernels receive valid buffers, sizes and strides (in elements) and only compute.
// Shapes in comments: (outer, r, inner) means a row-major block reduced over r.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dtype.h"
#include "ops.h"

namespace tg {

constexpr int kMaxDims = 16;

// A broadcast walk over `shape` for up to four operands; operand 0 is the output.
// Strides may be 0 (broadcast). Built by make_iter(), which merges adjacent dims.
struct Iter {
  int ndim = 0;
  int nops = 0;
  int64_t shape[kMaxDims];
  int64_t strides[4][kMaxDims];
  int64_t offset[4] = {0, 0, 0, 0};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
};

struct UnaryParams {
  double a = 0, b = 0;  // leakyRelu slope; elu alpha; softplus beta, threshold; clamp lo, hi
};

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
};

// Gather/scatter along `dim` with an index tensor of shape index_shape
// (contiguous int32); src and out strides are in elements.
struct IndexArgs {
  int ndim = 0;
  int dim = 0;
  int64_t index_shape[kMaxDims];
  int64_t src_strides[kMaxDims];
  int64_t out_strides[kMaxDims];
};

namespace cpu {

template <typename T>
void fill(T* out, int64_t n, double value);
template <typename S, typename D>
void cast(const S* src, D* dst, int64_t n);

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, const UnaryParams& p);
template <typename T>
void binary(BinaryOp op, const Iter& it, T* out, const T* a, const T* b);
template <typename T>
void compare(CompareOp op, const Iter& it, boolean* out, const T* a, const T* b);

// Byte-level kernels: they move elements of `esize` bytes without arithmetic.
void copy_strided(const Iter& it, int esize, char* dst, const char* src);
void where(const Iter& it, int esize, char* out, const boolean* cond, const char* a, const char* b);
void tri(int esize, const char* src, char* dst, int64_t batch, int64_t rows, int64_t cols,
         int64_t k, bool upper);
void index_select(int esize, const char* src, const int32_t* index, char* out, int64_t outer,
                  int64_t src_dim, int64_t n_index, int64_t inner);
void gather(int esize, const IndexArgs& a, const char* src, const int32_t* index, char* out);
template <typename T>
void scatter_add(const IndexArgs& a, T* out, const int32_t* index, const T* src);

// (outer, r, inner) -> (outer, inner); indices (may be null) get the arg position.
template <typename T>
void reduce(ReduceOp op, const T* x, T* y, int32_t* indices, int64_t outer, int64_t r,
            int64_t inner);
template <typename T>
void softmax(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, bool log);

// C = alpha * op(A) op(B) + beta * C, batched with element strides between matrices.
template <typename T>
void gemm(const GemmArgs& g, const T* a, const T* b, T* c);

// Philox4x32-10 counter-based numbers: element i depends only on (seed, offset + i).
template <typename T>
void random(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset, double p1,
            double p2);

}  // namespace cpu

// CUDA entry points. Built from cuda/ when nvcc is present, else from
// cuda/stub.cc, where each one throws a clear error.
namespace cuda {
bool available();
int device_count();
const char* status();  // why CUDA is or is not usable, for error messages
void* alloc(size_t bytes);
void free(void* p, size_t bytes);
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
}  // namespace cuda

}  // namespace tg

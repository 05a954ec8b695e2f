// THE device x dtype switch: each function picks the cpu:: kernel instance for a
// dtype, or the cuda:: entry for a CUDA storage. Nothing else switches on dtype.
#pragma once
#include "kernels.h"

namespace tg::dispatch {

void fill(Device dev, DType t, void* out, int64_t n, double value);
void cast(Device dev, DType src_t, const void* src, DType dst_t, void* dst, int64_t n);
void unary(Device dev, DType t, UnaryOp op, const void* x, void* y, int64_t n, const UnaryParams& p);
void binary(Device dev, DType t, BinaryOp op, const Iter& it, void* out, const void* a, const void* b);
void compare(Device dev, DType t, CompareOp op, const Iter& it, void* out, const void* a,
             const void* b);
void where(Device dev, DType t, const Iter& it, void* out, const void* cond, const void* a,
           const void* b);
void copy_strided(Device dev, DType t, const Iter& it, void* dst, const void* src);
void tri(Device dev, DType t, const void* src, void* dst, int64_t batch, int64_t rows, int64_t cols,
         int64_t k, bool upper);
void index_select(Device dev, DType t, const void* src, const int32_t* index, void* out,
                  int64_t outer, int64_t src_dim, int64_t n_index, int64_t inner);
void gather(Device dev, DType t, const IndexArgs& a, const void* src, const int32_t* index, void* out);
void scatter_add(Device dev, DType t, const IndexArgs& a, void* out, const int32_t* index,
                 const void* src);
void reduce(Device dev, DType t, ReduceOp op, const void* x, void* y, int32_t* indices,
            int64_t outer, int64_t r, int64_t inner);
void softmax(Device dev, DType t, const void* x, void* y, int64_t outer, int64_t r, int64_t inner,
             bool log);
void gemm(Device dev, DType t, const GemmArgs& g, const void* a, const void* b, void* c);
void random(Device dev, DType t, RandomKind kind, void* out, int64_t n, uint64_t seed,
            uint64_t offset, double p1, double p2);
// forward: (a, b, bias, out) = (x, w, bias or null, y); gradInput: (gy, w, -, gx);
// gradWeight: (x, gy, -, gw); gradBias: (gy, -, -, gb)
void conv2d(Device dev, DType t, ConvKind kind, const ConvArgs& args, const void* a, const void* b,
            const void* bias, void* out);
// indices: written by max, read by maxBackward, unused (null) otherwise
void pool2d(Device dev, DType t, PoolKind kind, const PoolArgs& args, const void* src, void* dst,
            int32_t* indices);

// tensors: every param and state of dtype t, every grad (and copy) of grad_t, on
// device dev (see OptimTensor)
void optim_step(Device dev, DType t, DType grad_t, const OptimArgs& a, const OptimTensor* tensors,
                int64_t count);
void amp_unscale(Device dev, DType t, const AmpTensor* tensors, int64_t count, double inv_scale,
                 float* found_inf);
// x, weight (or null), loss, weight_used (or null) and gloss, gx in dtype t; lse in t's
// compute type (float32, or float64 for float64)
void cross_entropy_forward(Device dev, DType t, const CrossEntropyArgs& a, const void* x, const int32_t* target,
                           const void* weight, void* loss, void* lse, void* weight_used);
void cross_entropy_backward(Device dev, DType t, const CrossEntropyArgs& a, const void* x, const int32_t* target,
                            const void* weight, const void* lse, const void* gloss, void* gx);

}  // namespace tg::dispatch

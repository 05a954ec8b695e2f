#include "dispatch.h"

#include <stdexcept>
#include <string>

namespace tg::dispatch {

namespace {

// Calls body with T bound to the storage type of dtype t.
#define TG_SWITCH_DTYPE(t, ...)                                      \
  switch (t) {                                                       \
    case DType::k_float32: { using T = float; __VA_ARGS__; break; }  \
    case DType::k_float64: { using T = double; __VA_ARGS__; break; } \
    case DType::k_float16: { using T = half; __VA_ARGS__; break; }   \
    case DType::k_bfloat16: { using T = bfloat16; __VA_ARGS__; break; } \
    case DType::k_int32: { using T = int32_t; __VA_ARGS__; break; }  \
    case DType::k_uint8: { using T = uint8_t; __VA_ARGS__; break; }  \
    case DType::k_bool: { using T = boolean; __VA_ARGS__; break; }   \
    default: throw std::invalid_argument("unknown dtype");           \
  }

// Calls body with T bound to one of the floating storage types; op names the caller.
#define TG_SWITCH_FLOATING(t, op, ...)                                 \
  switch (t) {                                                         \
    case DType::k_float32: { using T = float; __VA_ARGS__; break; }    \
    case DType::k_float64: { using T = double; __VA_ARGS__; break; }   \
    case DType::k_float16: { using T = half; __VA_ARGS__; break; }     \
    case DType::k_bfloat16: { using T = bfloat16; __VA_ARGS__; break; } \
    default: throw std::invalid_argument(std::string(op) + ": needs a floating-point dtype, got " + dtype_name(t)); \
  }

// The kernel call for a device: both namespaces declare the same kernels
// (kernel_list.inc), so one expression serves both backends.
#define TG_ON(dev, ...) ((dev) == Device::kCuda ? cuda::__VA_ARGS__ : cpu::__VA_ARGS__)

}  // namespace

void fill(Device dev, DType t, void* out, int64_t n, double value) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, fill<T>(static_cast<T*>(out), n, value)));
}

void cast(Device dev, DType src_t, const void* src, DType dst_t, void* dst, int64_t n) {
  TG_SWITCH_DTYPE(src_t, {
    using S = T;
    TG_SWITCH_DTYPE(dst_t, TG_ON(dev, cast<S, T>(static_cast<const S*>(src), static_cast<T*>(dst), n)));
  });
}

void unary(Device dev, DType t, UnaryOp op, const void* x, void* y, int64_t n, const UnaryParams& p) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, unary<T>(op, static_cast<const T*>(x), static_cast<T*>(y), n, p)));
}

void binary(Device dev, DType t, BinaryOp op, const Iter& it, void* out, const void* a, const void* b) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, binary<T>(op, it, static_cast<T*>(out), static_cast<const T*>(a),
                                          static_cast<const T*>(b))));
}

void compare(Device dev, DType t, CompareOp op, const Iter& it, void* out, const void* a,
             const void* b) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, compare<T>(op, it, static_cast<boolean*>(out), static_cast<const T*>(a),
                                           static_cast<const T*>(b))));
}

void where(Device dev, DType t, const Iter& it, void* out, const void* cond, const void* a,
           const void* b) {
  TG_ON(dev, where(it, static_cast<int>(dtype_size(t)), static_cast<char*>(out),
                   static_cast<const boolean*>(cond), static_cast<const char*>(a),
                   static_cast<const char*>(b)));
}

void copy_strided(Device dev, DType t, const Iter& it, void* dst, const void* src) {
  TG_ON(dev, copy_strided(it, static_cast<int>(dtype_size(t)), static_cast<char*>(dst),
                          static_cast<const char*>(src)));
}

void tri(Device dev, DType t, const void* src, void* dst, int64_t batch, int64_t rows, int64_t cols,
         int64_t k, bool upper) {
  TG_ON(dev, tri(static_cast<int>(dtype_size(t)), static_cast<const char*>(src), static_cast<char*>(dst),
                 batch, rows, cols, k, upper));
}

void index_select(Device dev, DType t, const void* src, const int32_t* index, void* out,
                  int64_t outer, int64_t src_dim, int64_t n_index, int64_t inner) {
  TG_ON(dev, index_select(static_cast<int>(dtype_size(t)), static_cast<const char*>(src), index,
                          static_cast<char*>(out), outer, src_dim, n_index, inner));
}

void gather(Device dev, DType t, const IndexArgs& a, const void* src, const int32_t* index, void* out) {
  TG_ON(dev, gather(static_cast<int>(dtype_size(t)), a, static_cast<const char*>(src), index,
                    static_cast<char*>(out)));
}

void scatter_add(Device dev, DType t, const IndexArgs& a, void* out, const int32_t* index,
                 const void* src) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, scatter_add<T>(a, static_cast<T*>(out), index, static_cast<const T*>(src))));
}

void reduce(Device dev, DType t, ReduceOp op, const void* x, void* y, int32_t* indices,
            int64_t outer, int64_t r, int64_t inner) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, reduce<T>(op, static_cast<const T*>(x), static_cast<T*>(y), indices,
                                          outer, r, inner)));
}

void softmax(Device dev, DType t, const void* x, void* y, int64_t outer, int64_t r, int64_t inner,
             bool log) {
  TG_SWITCH_FLOATING(t, "softmax", TG_ON(dev, softmax<T>(static_cast<const T*>(x), static_cast<T*>(y),
                                                         outer, r, inner, log)));
}

void gemm(Device dev, DType t, const GemmArgs& g, const void* a, const void* b, void* c) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, gemm<T>(g, static_cast<const T*>(a), static_cast<const T*>(b),
                                        static_cast<T*>(c))));
}

void random(Device dev, DType t, RandomKind kind, void* out, int64_t n, uint64_t seed,
            uint64_t offset, double p1, double p2) {
  TG_SWITCH_DTYPE(t, TG_ON(dev, random<T>(kind, static_cast<T*>(out), n, seed, offset, p1, p2)));
}

void conv2d(Device dev, DType t, ConvKind kind, const ConvArgs& args, const void* a, const void* b,
            const void* bias, void* out) {
  TG_SWITCH_FLOATING(t, "conv2d", {
    const T* pa = static_cast<const T*>(a);
    const T* pb = static_cast<const T*>(b);
    T* po = static_cast<T*>(out);
    switch (kind) {
      case ConvKind::forward: TG_ON(dev, conv2d_forward<T>(args, pa, pb, static_cast<const T*>(bias), po)); break;
      case ConvKind::gradInput: TG_ON(dev, conv2d_grad_input<T>(args, pa, pb, po)); break;
      case ConvKind::gradWeight: TG_ON(dev, conv2d_grad_weight<T>(args, pa, pb, po)); break;
      case ConvKind::gradBias: TG_ON(dev, conv2d_grad_bias<T>(args, pa, po)); break;
      default: throw std::invalid_argument("conv2d: unknown kind");
    }
  });
}

void pool2d(Device dev, DType t, PoolKind kind, const PoolArgs& args, const void* src, void* dst,
            int32_t* indices) {
  TG_SWITCH_FLOATING(t, "pool2d", {
    const T* ps = static_cast<const T*>(src);
    T* pd = static_cast<T*>(dst);
    switch (kind) {
      case PoolKind::max: TG_ON(dev, max_pool2d<T>(args, ps, pd, indices)); break;
      case PoolKind::maxBackward: TG_ON(dev, max_pool2d_backward<T>(args, ps, indices, pd)); break;
      case PoolKind::avg: TG_ON(dev, avg_pool2d<T>(args, ps, pd)); break;
      case PoolKind::avgBackward: TG_ON(dev, avg_pool2d_backward<T>(args, ps, pd)); break;
      case PoolKind::adaptiveAvg: TG_ON(dev, adaptive_avg_pool2d<T>(args, ps, pd)); break;
      case PoolKind::adaptiveAvgBackward: TG_ON(dev, adaptive_avg_pool2d_backward<T>(args, ps, pd)); break;
      default: throw std::invalid_argument("pool2d: unknown kind");
    }
  });
}

void optim_step(Device dev, DType t, DType grad_t, const OptimArgs& a, const OptimTensor* tensors,
                int64_t count) {
  auto is = [&](DType p, DType g) { return t == p && grad_t == g; };
  if (is(DType::k_float32, DType::k_float32)) return TG_ON(dev, optim_step<float, float>(a, tensors, count));
  if (is(DType::k_float64, DType::k_float64)) return TG_ON(dev, optim_step<double, double>(a, tensors, count));
  if (is(DType::k_float32, DType::k_float16)) return TG_ON(dev, optim_step<float, half>(a, tensors, count));
  if (is(DType::k_float32, DType::k_bfloat16)) return TG_ON(dev, optim_step<float, bfloat16>(a, tensors, count));
  throw std::invalid_argument(std::string("optimStep: no update for ") + dtype_name(t) + " parameters with " +
                              dtype_name(grad_t) + " gradients (half parameters train through float32 master weights)");
}

void amp_unscale(Device dev, DType t, const AmpTensor* tensors, int64_t count, double inv_scale,
                 float* found_inf) {
  TG_SWITCH_FLOATING(t, "ampUnscale", TG_ON(dev, amp_unscale<T>(tensors, count, inv_scale, found_inf)));
}

void cross_entropy_forward(Device dev, DType t, const CrossEntropyArgs& a, const void* x, const int32_t* target,
                           const void* weight, void* loss, void* lse, void* weight_used) {
  TG_SWITCH_FLOATING(t, "crossEntropy",
                     TG_ON(dev, cross_entropy_forward<T>(a, static_cast<const T*>(x), target,
                                                         static_cast<const T*>(weight), static_cast<T*>(loss),
                                                         static_cast<compute_t<T>*>(lse), static_cast<T*>(weight_used))));
}

void cross_entropy_backward(Device dev, DType t, const CrossEntropyArgs& a, const void* x, const int32_t* target,
                            const void* weight, const void* lse, const void* gloss, void* gx) {
  TG_SWITCH_FLOATING(t, "crossEntropyBackward",
                     TG_ON(dev, cross_entropy_backward<T>(a, static_cast<const T*>(x), target,
                                                          static_cast<const T*>(weight),
                                                          static_cast<const compute_t<T>*>(lse),
                                                          static_cast<const T*>(gloss), static_cast<T*>(gx))));
}

}  // namespace tg::dispatch

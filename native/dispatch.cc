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

// The CUDA backend's kernels come with its own issue; until then a CUDA tensor
// can be created, copied and read back, and compute on it says so clearly.
void cuda_only_copies(Device dev, const char* op) {
  if (dev == Device::kCuda)
    throw std::runtime_error(std::string(op) +
                             ": this build has CUDA memory and copies only; run the op on cpu "
                             "tensors (t.to('cpu'))");
}

}  // namespace

void fill(Device dev, DType t, void* out, int64_t n, double value) {
  cuda_only_copies(dev, "fill");
  TG_SWITCH_DTYPE(t, cpu::fill<T>(static_cast<T*>(out), n, value));
}

void cast(Device dev, DType src_t, const void* src, DType dst_t, void* dst, int64_t n) {
  cuda_only_copies(dev, "cast");
  TG_SWITCH_DTYPE(src_t, {
    using S = T;
    TG_SWITCH_DTYPE(dst_t, cpu::cast<S, T>(static_cast<const S*>(src), static_cast<T*>(dst), n));
  });
}

void unary(Device dev, DType t, UnaryOp op, const void* x, void* y, int64_t n, const UnaryParams& p) {
  cuda_only_copies(dev, "unary");
  TG_SWITCH_DTYPE(t, cpu::unary<T>(op, static_cast<const T*>(x), static_cast<T*>(y), n, p));
}

void binary(Device dev, DType t, BinaryOp op, const Iter& it, void* out, const void* a, const void* b) {
  cuda_only_copies(dev, "binary");
  TG_SWITCH_DTYPE(t, cpu::binary<T>(op, it, static_cast<T*>(out), static_cast<const T*>(a),
                                    static_cast<const T*>(b)));
}

void compare(Device dev, DType t, CompareOp op, const Iter& it, void* out, const void* a,
             const void* b) {
  cuda_only_copies(dev, "compare");
  TG_SWITCH_DTYPE(t, cpu::compare<T>(op, it, static_cast<boolean*>(out), static_cast<const T*>(a),
                                     static_cast<const T*>(b)));
}

void where(Device dev, DType t, const Iter& it, void* out, const void* cond, const void* a,
           const void* b) {
  cuda_only_copies(dev, "where");
  cpu::where(it, static_cast<int>(dtype_size(t)), static_cast<char*>(out),
             static_cast<const boolean*>(cond), static_cast<const char*>(a),
             static_cast<const char*>(b));
}

void copy_strided(Device dev, DType t, const Iter& it, void* dst, const void* src) {
  cuda_only_copies(dev, "copy");
  cpu::copy_strided(it, static_cast<int>(dtype_size(t)), static_cast<char*>(dst),
                    static_cast<const char*>(src));
}

void tri(Device dev, DType t, const void* src, void* dst, int64_t batch, int64_t rows, int64_t cols,
         int64_t k, bool upper) {
  cuda_only_copies(dev, "tri");
  cpu::tri(static_cast<int>(dtype_size(t)), static_cast<const char*>(src), static_cast<char*>(dst),
           batch, rows, cols, k, upper);
}

void index_select(Device dev, DType t, const void* src, const int32_t* index, void* out,
                  int64_t outer, int64_t src_dim, int64_t n_index, int64_t inner) {
  cuda_only_copies(dev, "indexSelect");
  cpu::index_select(static_cast<int>(dtype_size(t)), static_cast<const char*>(src), index,
                    static_cast<char*>(out), outer, src_dim, n_index, inner);
}

void gather(Device dev, DType t, const IndexArgs& a, const void* src, const int32_t* index, void* out) {
  cuda_only_copies(dev, "gather");
  cpu::gather(static_cast<int>(dtype_size(t)), a, static_cast<const char*>(src), index,
              static_cast<char*>(out));
}

void scatter_add(Device dev, DType t, const IndexArgs& a, void* out, const int32_t* index,
                 const void* src) {
  cuda_only_copies(dev, "scatterAdd");
  TG_SWITCH_DTYPE(t, cpu::scatter_add<T>(a, static_cast<T*>(out), index, static_cast<const T*>(src)));
}

void reduce(Device dev, DType t, ReduceOp op, const void* x, void* y, int32_t* indices,
            int64_t outer, int64_t r, int64_t inner) {
  cuda_only_copies(dev, "reduce");
  TG_SWITCH_DTYPE(t, cpu::reduce<T>(op, static_cast<const T*>(x), static_cast<T*>(y), indices,
                                    outer, r, inner));
}

void softmax(Device dev, DType t, const void* x, void* y, int64_t outer, int64_t r, int64_t inner,
             bool log) {
  cuda_only_copies(dev, "softmax");
  switch (t) {
    case DType::k_float32: return cpu::softmax(static_cast<const float*>(x), static_cast<float*>(y), outer, r, inner, log);
    case DType::k_float64: return cpu::softmax(static_cast<const double*>(x), static_cast<double*>(y), outer, r, inner, log);
    case DType::k_float16: return cpu::softmax(static_cast<const half*>(x), static_cast<half*>(y), outer, r, inner, log);
    case DType::k_bfloat16: return cpu::softmax(static_cast<const bfloat16*>(x), static_cast<bfloat16*>(y), outer, r, inner, log);
    default: throw std::invalid_argument("softmax: needs a floating-point dtype");
  }
}

void gemm(Device dev, DType t, const GemmArgs& g, const void* a, const void* b, void* c) {
  cuda_only_copies(dev, "gemm");
  TG_SWITCH_DTYPE(t, cpu::gemm<T>(g, static_cast<const T*>(a), static_cast<const T*>(b),
                                  static_cast<T*>(c)));
}

void random(Device dev, DType t, RandomKind kind, void* out, int64_t n, uint64_t seed,
            uint64_t offset, double p1, double p2) {
  cuda_only_copies(dev, "random");
  TG_SWITCH_DTYPE(t, cpu::random<T>(kind, static_cast<T*>(out), n, seed, offset, p1, p2));
}

// Calls body with T bound to float or double; conv and pooling have no other kernels.
#define TG_SWITCH_FLOAT(t, op, ...)                                    \
  switch (t) {                                                         \
    case DType::k_float32: { using T = float; __VA_ARGS__; break; }    \
    case DType::k_float64: { using T = double; __VA_ARGS__; break; }   \
    default: throw std::invalid_argument(std::string(op) + ": needs float32 or float64, got " + dtype_name(t)); \
  }

void conv2d(Device dev, DType t, ConvKind kind, const ConvArgs& args, const void* a, const void* b,
            const void* bias, void* out) {
  cuda_only_copies(dev, "conv2d");
  TG_SWITCH_FLOAT(t, "conv2d", {
    const T* pa = static_cast<const T*>(a);
    const T* pb = static_cast<const T*>(b);
    T* po = static_cast<T*>(out);
    switch (kind) {
      case ConvKind::forward: cpu::conv2d_forward<T>(args, pa, pb, static_cast<const T*>(bias), po); break;
      case ConvKind::gradInput: cpu::conv2d_grad_input<T>(args, pa, pb, po); break;
      case ConvKind::gradWeight: cpu::conv2d_grad_weight<T>(args, pa, pb, po); break;
      case ConvKind::gradBias: cpu::conv2d_grad_bias<T>(args, pa, po); break;
      default: throw std::invalid_argument("conv2d: unknown kind");
    }
  });
}

void pool2d(Device dev, DType t, PoolKind kind, const PoolArgs& args, const void* src, void* dst,
            int32_t* indices) {
  cuda_only_copies(dev, "pool2d");
  TG_SWITCH_FLOAT(t, "pool2d", {
    const T* ps = static_cast<const T*>(src);
    T* pd = static_cast<T*>(dst);
    switch (kind) {
      case PoolKind::max: cpu::max_pool2d<T>(args, ps, pd, indices); break;
      case PoolKind::maxBackward: cpu::max_pool2d_backward<T>(args, ps, indices, pd); break;
      case PoolKind::avg: cpu::avg_pool2d<T>(args, ps, pd); break;
      case PoolKind::avgBackward: cpu::avg_pool2d_backward<T>(args, ps, pd); break;
      case PoolKind::adaptiveAvg: cpu::adaptive_avg_pool2d<T>(args, ps, pd); break;
      case PoolKind::adaptiveAvgBackward: cpu::adaptive_avg_pool2d_backward<T>(args, ps, pd); break;
      default: throw std::invalid_argument("pool2d: unknown kind");
    }
  });
}

void optim_step(Device dev, DType t, const OptimArgs& a, const OptimTensor* tensors, int64_t count) {
  cuda_only_copies(dev, "optimStep");
  switch (t) {
    case DType::k_float32: return cpu::optim_step<float>(a, tensors, count);
    case DType::k_float64: return cpu::optim_step<double>(a, tensors, count);
    case DType::k_float16: return cpu::optim_step<half>(a, tensors, count);
    case DType::k_bfloat16: return cpu::optim_step<bfloat16>(a, tensors, count);
    default: throw std::invalid_argument(std::string("optimStep: needs a floating-point dtype, got ") + dtype_name(t));
  }
}

void amp_unscale(Device dev, DType t, const AmpTensor* tensors, int64_t count, double inv_scale,
                 float* found_inf) {
  cuda_only_copies(dev, "ampUnscale");
  switch (t) {
    case DType::k_float32: return cpu::amp_unscale<float>(tensors, count, inv_scale, found_inf);
    case DType::k_float64: return cpu::amp_unscale<double>(tensors, count, inv_scale, found_inf);
    case DType::k_float16: return cpu::amp_unscale<half>(tensors, count, inv_scale, found_inf);
    case DType::k_bfloat16: return cpu::amp_unscale<bfloat16>(tensors, count, inv_scale, found_inf);
    default: throw std::invalid_argument(std::string("ampUnscale: needs a floating-point dtype, got ") + dtype_name(t));
  }
}

}  // namespace tg::dispatch

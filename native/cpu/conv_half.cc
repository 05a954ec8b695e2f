// fp16 and bf16 convolution and pooling on the CPU: the operands are widened to
// float32 once, the float32 kernel runs (products of halves are exact in float32
// and the sums accumulate there), and the result is rounded to the half type once.
// That is the precision of a half-precision op with fp32 accumulation; a native
// half micro-kernel would only save the widening pass.
#include <vector>

#include "../kernels.h"

namespace tg::cpu {

namespace {

template <typename H>
std::vector<float> widen(const H* x, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  if (n > 0) cast<H, float>(x, out.data(), n);
  return out;
}

template <typename H>
void narrow(const std::vector<float>& x, H* out) {
  if (!x.empty()) cast<float, H>(x.data(), out, static_cast<int64_t>(x.size()));
}

int64_t input_numel(const ConvArgs& a) { return a.n * a.c * a.h * a.w; }
int64_t weight_numel(const ConvArgs& a) { return a.oc * (a.c / a.groups) * a.kh * a.kw; }
int64_t output_numel(const ConvArgs& a) { return a.n * a.oc * a.oh * a.ow; }
int64_t plane_in(const PoolArgs& a) { return a.planes * a.h * a.w; }
int64_t plane_out(const PoolArgs& a) { return a.planes * a.oh * a.ow; }

template <typename H>
void widened_conv2d_forward(const ConvArgs& a, const H* x, const H* w, const H* bias, H* y) {
  auto fx = widen(x, input_numel(a)), fw = widen(w, weight_numel(a));
  std::vector<float> fb = bias ? widen(bias, a.oc) : std::vector<float>();
  std::vector<float> fy(static_cast<size_t>(output_numel(a)));
  conv2d_forward<float>(a, fx.data(), fw.data(), bias ? fb.data() : nullptr, fy.data());
  narrow(fy, y);
}

template <typename H>
void widened_conv2d_grad_input(const ConvArgs& a, const H* gy, const H* w, H* gx) {
  auto fgy = widen(gy, output_numel(a)), fw = widen(w, weight_numel(a));
  std::vector<float> fgx(static_cast<size_t>(input_numel(a)));
  conv2d_grad_input<float>(a, fgy.data(), fw.data(), fgx.data());
  narrow(fgx, gx);
}

template <typename H>
void widened_conv2d_grad_weight(const ConvArgs& a, const H* x, const H* gy, H* gw) {
  auto fx = widen(x, input_numel(a)), fgy = widen(gy, output_numel(a));
  std::vector<float> fgw(static_cast<size_t>(weight_numel(a)));
  conv2d_grad_weight<float>(a, fx.data(), fgy.data(), fgw.data());
  narrow(fgw, gw);
}

template <typename H>
void widened_conv2d_grad_bias(const ConvArgs& a, const H* gy, H* gb) {
  auto fgy = widen(gy, output_numel(a));
  std::vector<float> fgb(static_cast<size_t>(a.oc));
  conv2d_grad_bias<float>(a, fgy.data(), fgb.data());
  narrow(fgb, gb);
}

// Pooling forward (src: input planes) and backward (src: output-gradient planes).
template <typename H>
void widened_max_pool2d(const PoolArgs& a, const H* x, H* y, int32_t* indices) {
  auto fx = widen(x, plane_in(a));
  std::vector<float> fy(static_cast<size_t>(plane_out(a)));
  max_pool2d<float>(a, fx.data(), fy.data(), indices);
  narrow(fy, y);
}

template <typename H>
void widened_max_pool2d_backward(const PoolArgs& a, const H* gy, const int32_t* indices, H* gx) {
  auto fgy = widen(gy, plane_out(a));
  std::vector<float> fgx(static_cast<size_t>(plane_in(a)));
  max_pool2d_backward<float>(a, fgy.data(), indices, fgx.data());
  narrow(fgx, gx);
}

// The kernels that map input planes to output planes (forward) or back (backward)
// with no indices share one shape of wrapper.
template <typename H, void (*F)(const PoolArgs&, const float*, float*), bool backward>
void pool_planes(const PoolArgs& a, const H* src, H* dst) {
  auto fsrc = widen(src, backward ? plane_out(a) : plane_in(a));
  std::vector<float> fdst(static_cast<size_t>(backward ? plane_in(a) : plane_out(a)));
  F(a, fsrc.data(), fdst.data());
  narrow(fdst, dst);
}

template <typename H>
void widened_avg_pool2d(const PoolArgs& a, const H* x, H* y) {
  pool_planes<H, avg_pool2d<float>, false>(a, x, y);
}
template <typename H>
void widened_avg_pool2d_backward(const PoolArgs& a, const H* gy, H* gx) {
  pool_planes<H, avg_pool2d_backward<float>, true>(a, gy, gx);
}
template <typename H>
void widened_adaptive_avg_pool2d(const PoolArgs& a, const H* x, H* y) {
  pool_planes<H, adaptive_avg_pool2d<float>, false>(a, x, y);
}
template <typename H>
void widened_adaptive_avg_pool2d_backward(const PoolArgs& a, const H* gy, H* gx) {
  pool_planes<H, adaptive_avg_pool2d_backward<float>, true>(a, gy, gx);
}

}  // namespace

// The half types' kernels are explicit specializations of the kernel templates,
// delegating to the widening wrappers above.
#define TG_SPECIALIZE(T)                                                                             \
  template <> void conv2d_forward<T>(const ConvArgs& a, const T* x, const T* w, const T* b, T* y) { \
    widened_conv2d_forward(a, x, w, b, y);                                                           \
  }                                                                                                  \
  template <> void conv2d_grad_input<T>(const ConvArgs& a, const T* gy, const T* w, T* gx) {        \
    widened_conv2d_grad_input(a, gy, w, gx);                                                         \
  }                                                                                                  \
  template <> void conv2d_grad_weight<T>(const ConvArgs& a, const T* x, const T* gy, T* gw) {       \
    widened_conv2d_grad_weight(a, x, gy, gw);                                                        \
  }                                                                                                  \
  template <> void conv2d_grad_bias<T>(const ConvArgs& a, const T* gy, T* gb) {                     \
    widened_conv2d_grad_bias(a, gy, gb);                                                             \
  }                                                                                                  \
  template <> void max_pool2d<T>(const PoolArgs& a, const T* x, T* y, int32_t* idx) {               \
    widened_max_pool2d(a, x, y, idx);                                                                \
  }                                                                                                  \
  template <> void max_pool2d_backward<T>(const PoolArgs& a, const T* gy, const int32_t* idx, T* gx) { \
    widened_max_pool2d_backward(a, gy, idx, gx);                                                     \
  }                                                                                                  \
  template <> void avg_pool2d<T>(const PoolArgs& a, const T* x, T* y) { widened_avg_pool2d(a, x, y); } \
  template <> void avg_pool2d_backward<T>(const PoolArgs& a, const T* gy, T* gx) {                  \
    widened_avg_pool2d_backward(a, gy, gx);                                                          \
  }                                                                                                  \
  template <> void adaptive_avg_pool2d<T>(const PoolArgs& a, const T* x, T* y) {                    \
    widened_adaptive_avg_pool2d(a, x, y);                                                            \
  }                                                                                                  \
  template <> void adaptive_avg_pool2d_backward<T>(const PoolArgs& a, const T* gy, T* gx) {         \
    widened_adaptive_avg_pool2d_backward(a, gy, gx);                                                 \
  }
TG_SPECIALIZE(::tg::half)
TG_SPECIALIZE(::tg::bfloat16)
#undef TG_SPECIALIZE

}  // namespace tg::cpu

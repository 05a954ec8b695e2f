// Plane kernels of the direct (depthwise) convolution, compiled once per ISA
// (conv_direct.inc) so the stencils use the widest vector unit; conv.cc picks a
// set by the ISA isa.cc chose and does the padding, scheduling and scratch.
#pragma once
#include <cstdint>

namespace tg::cpu {

// Output (oh, ow) positions over a padded plane p with row pitch `pitch`; output
// (i, j) reads p[(i*sh + a*dh)*pitch + j*sw + b*dw] for tap (a, b) of a kh x kw
// kernel. The caller's padding keeps every one of those reads inside p.
struct Stencil {
  int64_t oh, ow, kh, kw, sh, sw, dh, dw, pitch;
};

template <typename T>
struct DirectKernels {
  // y[i*ypitch + j] += sum of taps w[a*kw + b] * p[...]: forward, and grad-input of a
  // stride-1 convolution (the same stencil with the kernel flipped over gy)
  void (*stencil)(const Stencil& s, const T* p, const T* w, T* y, int64_t ypitch);
  // p[...] += w[a*kw + b] * g[i*ow + j] for every tap: grad-input of a strided convolution
  void (*scatter)(const Stencil& s, const T* g, const T* w, T* p);
  // gw[a*kw + b] += sum over (i, j) of g[i*gpitch + j] * p[...]: grad-weight. With
  // stride 1 and gpitch == pitch, g's columns past ow must be zero.
  void (*correlate)(const Stencil& s, const T* g, int64_t gpitch, const T* p, T* gw);
};

#define TG_CONV_DIRECT_DECLARE(ns)                                                       \
  namespace ns {                                                                         \
  template <typename T>                                                                  \
  void stencil(const Stencil& s, const T* p, const T* w, T* y, int64_t ypitch);          \
  template <typename T>                                                                  \
  void scatter(const Stencil& s, const T* g, const T* w, T* p);                          \
  template <typename T>                                                                  \
  void correlate(const Stencil& s, const T* g, int64_t gpitch, const T* p, T* gw);       \
  }
TG_CONV_DIRECT_DECLARE(generic)
TG_CONV_DIRECT_DECLARE(avx2)
TG_CONV_DIRECT_DECLARE(avx512)
#undef TG_CONV_DIRECT_DECLARE

}  // namespace tg::cpu

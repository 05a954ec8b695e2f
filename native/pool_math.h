// The pooling windows' rules, shared by native/cpu/pool.cc and cuda/pool.cu (PyTorch's):
// max and average windows start at i*stride - pad and are clipped to the input;
// adaptive windows are [floor(i*size/out), ceil((i+1)*size/out)). Windows are
// separable, so each is worked out along one dimension at a time.
#pragma once
#include <cstdint>

#include "host_device.h"

namespace tg {

// One output row (or column) of a window: input index of tap 0, the taps [t0, t1)
// that land in [0, size), and its share of an average's divisor.
struct Span {
  int64_t first, t0, t1, count;
};

// Output i's window along a dimension of `size` (kernel k, stride, pad, dilation).
TG_HOST_DEVICE inline Span window_span(int64_t i, int64_t size, int64_t k, int64_t stride, int64_t pad,
                                       int64_t dil, bool include_pad) {
  Span s;
  s.first = i * stride - pad;
  s.t0 = s.first >= 0 ? 0 : (-s.first + dil - 1) / dil;
  s.t1 = size - s.first <= 0 ? 0 : imin(k, (size - 1 - s.first) / dil + 1);
  if (s.t1 < s.t0) s.t1 = s.t0;
  // the padded window may reach past the padding (ceil mode): that part never counts
  s.count = include_pad ? imin(s.first + k, size + pad) - s.first : s.t1 - s.t0;
  return s;
}

// Output i's adaptive window, as a span of dilation 1.
TG_HOST_DEVICE inline Span adaptive_span(int64_t i, int64_t out, int64_t size) {
  const int64_t a = (i * size) / out, b = ((i + 1) * size + out - 1) / out;
  return {a, 0, b - a, b - a};
}

}  // namespace tg

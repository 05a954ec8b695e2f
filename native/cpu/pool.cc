// 2-D pooling over independent (h, w) planes (N*C of them for NCHW), with the window
// rules of native/pool_math.h (PyTorch's). Windows are separable, so each call first
// works out which taps of an output row land inside the input and, per kernel column,
// the range of output columns whose tap lands inside. The inner loops then run along
// a whole output row for one tap at a time: no per-element index arithmetic, no
// branches to mispredict, and the same order of taps per output as PyTorch (so ties
// and NaNs agree).
// Planes are split over the pool; each backward task owns whole input planes, so
// scattering overlapping windows needs no atomics.
#include <algorithm>
#include <limits>
#include <vector>

#include "../kernels.h"
#include "../pool_math.h"
#include "threadpool.h"
#include "walk.h"

namespace tg::cpu {

namespace {

// The windows of every output along one dim.
std::vector<Span> window_spans(int64_t out, int64_t size, int64_t k, int64_t stride, int64_t pad,
                               int64_t dil, bool include_pad) {
  std::vector<Span> v(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) v[i] = window_span(i, size, k, stride, pad, dil, include_pad);
  return v;
}

// For each kernel column t: the output columns [lo, hi) whose tap t lands inside.
struct ColRange {
  int64_t lo, hi;
};

std::vector<ColRange> col_ranges(const PoolArgs& a, int64_t dil) {
  std::vector<ColRange> v(static_cast<size_t>(a.kw));
  for (int64_t t = 0; t < a.kw; ++t) {
    const int64_t off = t * dil - a.pad_w;  // column j reads input column j*stride + off
    int64_t lo = off >= 0 ? 0 : (-off + a.stride_w - 1) / a.stride_w;
    int64_t hi = a.w - 1 - off < 0 ? 0 : (a.w - 1 - off) / a.stride_w + 1;
    lo = std::min(lo, a.ow);
    hi = std::max(lo, std::min(hi, a.ow));
    v[t] = {lo, hi};
  }
  return v;
}

std::vector<Span> adaptive_spans(int64_t out, int64_t size) {
  std::vector<Span> v(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) v[i] = adaptive_span(i, out, size);
  return v;
}

// Runs fn(plane) over all planes, about kParallelGrain elements of work per task.
template <typename F>
void for_planes(int64_t planes, int64_t work_per_plane, F&& fn) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_plane, 1));
  parallel_for(planes, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) fn(p);
  });
}

// y = mean over each window of a max/avg-style pooling (dilation 1).
template <typename T>
void window_average(const PoolArgs& a, const T* x, T* y) {
  const std::vector<Span> rows = window_spans(a.oh, a.h, a.kh, a.stride_h, a.pad_h, 1, a.count_include_pad);
  const std::vector<Span> cols = window_spans(a.ow, a.w, a.kw, a.stride_w, a.pad_w, 1, a.count_include_pad);
  const std::vector<ColRange> taps = col_ranges(a, 1);
  const int64_t hw = a.h * a.w, ohw = a.oh * a.ow;
  for_planes(a.planes, ohw * a.kh * a.kw, [&](int64_t p) {
    const T* xp = x + p * hw;
    for (int64_t oi = 0; oi < a.oh; ++oi) {
      const Span& r = rows[oi];
      T* yrow = y + p * ohw + oi * a.ow;
      std::fill(yrow, yrow + a.ow, T(0));
      for (int64_t ti = r.t0; ti < r.t1; ++ti) {
        const T* xrow = xp + (r.first + ti) * a.w;
        for (int64_t tj = 0; tj < a.kw; ++tj) {
          const int64_t off = tj - a.pad_w;
          for (int64_t j = taps[tj].lo; j < taps[tj].hi; ++j) yrow[j] += xrow[j * a.stride_w + off];
        }
      }
      for (int64_t j = 0; j < a.ow; ++j) yrow[j] /= static_cast<T>(r.count * cols[j].count);
    }
  });
}

// gx = each gy spread evenly over its window: the adjoint of window_average.
template <typename T>
void window_average_backward(const PoolArgs& a, const T* gy, T* gx) {
  const std::vector<Span> rows = window_spans(a.oh, a.h, a.kh, a.stride_h, a.pad_h, 1, a.count_include_pad);
  const std::vector<Span> cols = window_spans(a.ow, a.w, a.kw, a.stride_w, a.pad_w, 1, a.count_include_pad);
  const std::vector<ColRange> taps = col_ranges(a, 1);
  const int64_t hw = a.h * a.w, ohw = a.oh * a.ow;
  for_planes(a.planes, ohw * a.kh * a.kw + hw, [&](int64_t p) {
    thread_local std::vector<T> share;
    share.resize(static_cast<size_t>(a.ow));
    T* gxp = gx + p * hw;
    std::fill(gxp, gxp + hw, T(0));
    for (int64_t oi = 0; oi < a.oh; ++oi) {
      const Span& r = rows[oi];
      const T* grow = gy + p * ohw + oi * a.ow;
      for (int64_t j = 0; j < a.ow; ++j) share[j] = grow[j] / static_cast<T>(r.count * cols[j].count);
      for (int64_t ti = r.t0; ti < r.t1; ++ti) {
        T* xrow = gxp + (r.first + ti) * a.w;
        for (int64_t tj = 0; tj < a.kw; ++tj) {
          const int64_t off = tj - a.pad_w;
          for (int64_t j = taps[tj].lo; j < taps[tj].hi; ++j) xrow[j * a.stride_w + off] += share[j];
        }
      }
    }
  });
}

// Adaptive windows vary in size. Per output row, the input rows of its window are
// first summed into one row (a vector add along w), then each output column sums
// its span of that row: most of the work runs along contiguous rows.
template <typename T>
void span_average(const PoolArgs& a, const std::vector<Span>& rows, const std::vector<Span>& cols,
                  const T* x, T* y) {
  const int64_t hw = a.h * a.w, ohw = a.oh * a.ow;
  for_planes(a.planes, ohw + hw, [&](int64_t p) {
    thread_local std::vector<T> acc;
    acc.resize(static_cast<size_t>(a.w));
    const T* xp = x + p * hw;
    T* yp = y + p * ohw;
    for (int64_t oi = 0; oi < a.oh; ++oi) {
      const Span& r = rows[oi];
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t ti = r.t0; ti < r.t1; ++ti) {
        const T* xrow = xp + (r.first + ti) * a.w;
        for (int64_t j = 0; j < a.w; ++j) acc[j] += xrow[j];
      }
      for (int64_t oj = 0; oj < a.ow; ++oj) {
        const Span& c = cols[oj];
        T sum = 0;
        for (int64_t tj = c.t0; tj < c.t1; ++tj) sum += acc[c.first + tj];
        yp[oi * a.ow + oj] = sum / static_cast<T>(r.count * c.count);
      }
    }
  });
}

// The adjoint: per output row, each input column's share of that row's gradients,
// then that share added to every input row of the window.
template <typename T>
void span_average_backward(const PoolArgs& a, const std::vector<Span>& rows,
                           const std::vector<Span>& cols, const T* gy, T* gx) {
  const int64_t hw = a.h * a.w, ohw = a.oh * a.ow;
  for_planes(a.planes, ohw + hw, [&](int64_t p) {
    thread_local std::vector<T> share;
    share.resize(static_cast<size_t>(a.w));
    T* gxp = gx + p * hw;
    const T* gyp = gy + p * ohw;
    std::fill(gxp, gxp + hw, T(0));
    for (int64_t oi = 0; oi < a.oh; ++oi) {
      const Span& r = rows[oi];
      std::fill(share.begin(), share.end(), T(0));
      for (int64_t oj = 0; oj < a.ow; ++oj) {
        const Span& c = cols[oj];
        const T g = gyp[oi * a.ow + oj] / static_cast<T>(r.count * c.count);
        for (int64_t tj = c.t0; tj < c.t1; ++tj) share[c.first + tj] += g;
      }
      for (int64_t ti = r.t0; ti < r.t1; ++ti) {
        T* row = gxp + (r.first + ti) * a.w;
        for (int64_t j = 0; j < a.w; ++j) row[j] += share[j];
      }
    }
  });
}

}  // namespace

template <typename T>
void max_pool2d(const PoolArgs& a, const T* x, T* y, int32_t* indices) {
  const std::vector<Span> rows = window_spans(a.oh, a.h, a.kh, a.stride_h, a.pad_h, a.dil_h, false);
  const std::vector<Span> cols = window_spans(a.ow, a.w, a.kw, a.stride_w, a.pad_w, a.dil_w, false);
  const std::vector<ColRange> taps = col_ranges(a, a.dil_w);
  const int64_t hw = a.h * a.w, ohw = a.oh * a.ow;
  for_planes(a.planes, ohw * a.kh * a.kw, [&](int64_t p) {
    const T* xp = x + p * hw;
    for (int64_t oi = 0; oi < a.oh; ++oi) {
      const Span& r = rows[oi];
      T* best = y + p * ohw + oi * a.ow;
      int32_t* at = indices + p * ohw + oi * a.ow;
      // an all -inf window still points at its first element; a dilated window can
      // miss the input altogether and points nowhere (-1)
      for (int64_t j = 0; j < a.ow; ++j) {
        const Span& c = cols[j];
        best[j] = -std::numeric_limits<T>::infinity();
        at[j] = r.t0 < r.t1 && c.t0 < c.t1
                    ? static_cast<int32_t>((r.first + r.t0 * a.dil_h) * a.w + c.first + c.t0 * a.dil_w)
                    : -1;
      }
      for (int64_t ti = r.t0; ti < r.t1; ++ti) {
        const int64_t row = (r.first + ti * a.dil_h) * a.w;
        const T* xrow = xp + row;
        for (int64_t tj = 0; tj < a.kw; ++tj) {
          const int64_t off = tj * a.dil_w - a.pad_w;
          for (int64_t j = taps[tj].lo; j < taps[tj].hi; ++j) {
            const int64_t idx = j * a.stride_w + off;
            const T v = xrow[idx];
            // ties keep the first position, a NaN wins (the last one)
            const bool take = v > best[j] || v != v;
            best[j] = take ? v : best[j];
            at[j] = take ? static_cast<int32_t>(row + idx) : at[j];
          }
        }
      }
    }
  });
}

template <typename T>
void max_pool2d_backward(const PoolArgs& a, const T* gy, const int32_t* indices, T* gx) {
  const int64_t hw = a.h * a.w, ohw = a.oh * a.ow;
  for_planes(a.planes, ohw + hw, [&](int64_t p) {
    T* gxp = gx + p * hw;
    const T* gyp = gy + p * ohw;
    const int32_t* ip = indices + p * ohw;
    std::fill(gxp, gxp + hw, T(0));
    for (int64_t o = 0; o < ohw; ++o)
      if (ip[o] >= 0) gxp[ip[o]] += gyp[o];
  });
}

template <typename T>
void avg_pool2d(const PoolArgs& a, const T* x, T* y) {
  window_average(a, x, y);
}

template <typename T>
void avg_pool2d_backward(const PoolArgs& a, const T* gy, T* gx) {
  window_average_backward(a, gy, gx);
}

template <typename T>
void adaptive_avg_pool2d(const PoolArgs& a, const T* x, T* y) {
  span_average(a, adaptive_spans(a.oh, a.h), adaptive_spans(a.ow, a.w), x, y);
}

template <typename T>
void adaptive_avg_pool2d_backward(const PoolArgs& a, const T* gy, T* gx) {
  span_average_backward(a, adaptive_spans(a.oh, a.h), adaptive_spans(a.ow, a.w), gy, gx);
}

#define TG_INST(T)                                                                     \
  template void max_pool2d<T>(const PoolArgs&, const T*, T*, int32_t*);               \
  template void max_pool2d_backward<T>(const PoolArgs&, const T*, const int32_t*, T*); \
  template void avg_pool2d<T>(const PoolArgs&, const T*, T*);                          \
  template void avg_pool2d_backward<T>(const PoolArgs&, const T*, T*);                 \
  template void adaptive_avg_pool2d<T>(const PoolArgs&, const T*, T*);                 \
  template void adaptive_avg_pool2d_backward<T>(const PoolArgs&, const T*, T*);
TG_INST(float)
TG_INST(double)
#undef TG_INST

}  // namespace tg::cpu

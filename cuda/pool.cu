// 2-D pooling over independent (h, w) planes (N*C of them for NCHW), with the window
// rules of native/pool_math.h, the CPU's (PyTorch's). Planes are (planes, h, w) ->
// (planes, oh, ow).
//
// Forward kernels give each output its own thread, which walks its window's taps in
// the CPU's order (rows, then columns), so max ties keep the first position, the last
// NaN wins, and average sums round the same way. The average backward kernels are
// gathers: each input element sums the shares of the outputs whose windows hold it,
// in the order the CPU's scatter adds them, so they need no atomics, no zeroing pass,
// and give the CPU's bits. Max backward scatters instead (the indices may point
// anywhere in the plane): gx is zeroed, then each gradient is added at its index with
// atomicAdd; indices outside [0, h*w) are skipped.
//
// half and bfloat16 compute in float; their max backward accumulates into float
// scratch and rounds once at the end.
#include <cmath>
#include <type_traits>

#include "../native/cpu/instantiate.h"
#include "../native/pool_math.h"
#include "common.cuh"
#include "scratch.cuh"

namespace tg::cuda {

namespace {


__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Position (plane, row, column) of flat index e in (planes, rows, cols).
struct Pos {
  int64_t p, i, j;
};
__device__ __forceinline__ Pos unflatten(int64_t e, int64_t rows, int64_t cols) {
  const int64_t j = e % cols, t = e / cols;
  return {t / rows, t % rows, j};
}

template <typename F>
__device__ __forceinline__ void grid_stride(int64_t n, F&& f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) f(e);
}

template <typename T>
__global__ void max_pool_kernel(const PoolArgs a, const T* x, T* y, int32_t* indices) {
  using L = Compute<T>;
  using C = compute_t<T>;
  grid_stride(a.planes * a.oh * a.ow, [&](int64_t o) {
    const Pos q = unflatten(o, a.oh, a.ow);
    const Span r = window_span(q.i, a.h, a.kh, a.stride_h, a.pad_h, a.dil_h, false);
    const Span c = window_span(q.j, a.w, a.kw, a.stride_w, a.pad_w, a.dil_w, false);
    const T* xp = x + q.p * a.h * a.w;
    // an all -inf window still points at its first element; a dilated window can
    // miss the input altogether and points nowhere (-1)
    C best = -INFINITY;
    int64_t at = r.t0 < r.t1 && c.t0 < c.t1 ? (r.first + r.t0 * a.dil_h) * a.w + c.first + c.t0 * a.dil_w : -1;
    for (int64_t ti = r.t0; ti < r.t1; ++ti) {
      const int64_t row = (r.first + ti * a.dil_h) * a.w + c.first;
      for (int64_t tj = c.t0; tj < c.t1; ++tj) {
        const int64_t idx = row + tj * a.dil_w;
        const C v = L::load(xp[idx]);
        if (v > best || v != v) {  // ties keep the first position, a NaN wins (the last one)
          best = v;
          at = idx;
        }
      }
    }
    y[o] = L::store(best);
    if (indices != nullptr) indices[o] = static_cast<int32_t>(at);
  });
}

// acc[plane, index] += gy for every output whose index lies in the plane.
template <typename T, typename Acc>
__global__ void max_pool_scatter_kernel(const PoolArgs a, const T* gy, const int32_t* indices, Acc* acc) {
  const int64_t hw = a.h * a.w, ohw = a.oh * a.ow;
  grid_stride(a.planes * ohw, [&](int64_t o) {
    const int64_t idx = indices[o];
    if (idx >= 0 && idx < hw) atomicAdd(acc + o / ohw * hw + idx, static_cast<Acc>(Compute<T>::load(gy[o])));
  });
}

template <typename T>
__global__ void store_kernel(const float* src, T* dst, int64_t n) {
  grid_stride(n, [&](int64_t e) { dst[e] = Compute<T>::store(src[e]); });
}

template <typename T>
__global__ void avg_pool_kernel(const PoolArgs a, const T* x, T* y) {
  using L = Compute<T>;
  using C = compute_t<T>;
  grid_stride(a.planes * a.oh * a.ow, [&](int64_t o) {
    const Pos q = unflatten(o, a.oh, a.ow);
    const Span r = window_span(q.i, a.h, a.kh, a.stride_h, a.pad_h, 1, a.count_include_pad);
    const Span c = window_span(q.j, a.w, a.kw, a.stride_w, a.pad_w, 1, a.count_include_pad);
    const T* xp = x + q.p * a.h * a.w;
    C sum = 0;
    for (int64_t ti = r.t0; ti < r.t1; ++ti) {
      const T* xrow = xp + (r.first + ti) * a.w + c.first;
      for (int64_t tj = c.t0; tj < c.t1; ++tj) sum += L::load(xrow[tj]);
    }
    y[o] = L::store(sum / static_cast<C>(r.count * c.count));
  });
}

// gx at (row, col) sums gy / divisor over the outputs whose windows hold it, in the
// CPU scatter's order: output rows ascending, and within a row output columns
// descending (the CPU walks kernel columns ascending).
template <typename T>
__global__ void avg_pool_backward_kernel(const PoolArgs a, const T* gy, T* gx) {
  using L = Compute<T>;
  using C = compute_t<T>;
  grid_stride(a.planes * a.h * a.w, [&](int64_t e) {
    const Pos q = unflatten(e, a.h, a.w);
    // output i holds input row y when i*stride - pad <= y <= i*stride - pad + k - 1
    const int64_t i0 = imax(0, -floor_div(-(q.i + a.pad_h - a.kh + 1), a.stride_h));
    const int64_t i1 = imin(a.oh - 1, floor_div(q.i + a.pad_h, a.stride_h));
    const int64_t j0 = imax(0, -floor_div(-(q.j + a.pad_w - a.kw + 1), a.stride_w));
    const int64_t j1 = imin(a.ow - 1, floor_div(q.j + a.pad_w, a.stride_w));
    const T* gp = gy + q.p * a.oh * a.ow;
    C sum = 0;
    for (int64_t oi = i0; oi <= i1; ++oi) {
      const Span r = window_span(oi, a.h, a.kh, a.stride_h, a.pad_h, 1, a.count_include_pad);
      for (int64_t oj = j1; oj >= j0; --oj) {
        const Span c = window_span(oj, a.w, a.kw, a.stride_w, a.pad_w, 1, a.count_include_pad);
        sum += L::load(gp[oi * a.ow + oj]) / static_cast<C>(r.count * c.count);
      }
    }
    gx[e] = L::store(sum);
  });
}

// The CPU's order: per input column, the rows of the window summed first, then the
// columns' sums added.
template <typename T>
__global__ void adaptive_avg_pool_kernel(const PoolArgs a, const T* x, T* y) {
  using L = Compute<T>;
  using C = compute_t<T>;
  grid_stride(a.planes * a.oh * a.ow, [&](int64_t o) {
    const Pos q = unflatten(o, a.oh, a.ow);
    const Span r = adaptive_span(q.i, a.oh, a.h);
    const Span c = adaptive_span(q.j, a.ow, a.w);
    const T* xp = x + q.p * a.h * a.w + r.first * a.w + c.first;
    C sum = 0;
    for (int64_t tj = 0; tj < c.t1; ++tj) {
      C column = 0;
      for (int64_t ti = 0; ti < r.t1; ++ti) column += L::load(xp[ti * a.w + tj]);
      sum += column;
    }
    y[o] = L::store(sum / static_cast<C>(r.count * c.count));
  });
}

// gx at (row, col): per output row holding it (ascending), the shares of that row's
// outputs holding the column (ascending) summed, then those sums added: the CPU's order.
template <typename T>
__global__ void adaptive_avg_pool_backward_kernel(const PoolArgs a, const T* gy, T* gx) {
  using L = Compute<T>;
  using C = compute_t<T>;
  grid_stride(a.planes * a.h * a.w, [&](int64_t e) {
    const Pos q = unflatten(e, a.h, a.w);
    const T* gp = gy + q.p * a.oh * a.ow;
    C total = 0;
    // floor(y*oh/h) is the first output whose window holds y; later ones follow
    for (int64_t oi = q.i * a.oh / a.h; oi < a.oh; ++oi) {
      const Span r = adaptive_span(oi, a.oh, a.h);
      if (r.first > q.i) break;
      if (r.first + r.t1 <= q.i) continue;
      C share = 0;
      for (int64_t oj = q.j * a.ow / a.w; oj < a.ow; ++oj) {
        const Span c = adaptive_span(oj, a.ow, a.w);
        if (c.first > q.j) break;
        if (c.first + c.t1 <= q.j) continue;
        share += L::load(gp[oi * a.ow + oj]) / static_cast<C>(r.count * c.count);
      }
      total += share;
    }
    gx[e] = L::store(total);
  });
}

// One thread per item of n in a grid-stride loop; n == 0 launches nothing.
template <typename... Params, typename... Args>
void launch_over(int64_t n, void (*kernel)(Params...), Args... args) {
  if (n <= 0) return;
  kernel<<<grid_for(n), kThreads, 0, stream()>>>(args...);
  TG_CUDA_LAUNCH_CHECK();
}

int64_t outputs(const PoolArgs& a) { return a.planes * a.oh * a.ow; }
int64_t inputs(const PoolArgs& a) { return a.planes * a.h * a.w; }

}  // namespace

template <typename T>
void max_pool2d(const PoolArgs& a, const T* x, T* y, int32_t* indices) {
  launch_over(outputs(a), max_pool_kernel<T>, a, x, y, indices);
}

template <typename T>
void max_pool2d_backward(const PoolArgs& a, const T* gy, const int32_t* indices, T* gx) {
  const int64_t n = inputs(a);
  if (n == 0) return;
  if constexpr (std::is_same_v<T, compute_t<T>>) {  // float, double: add in place
    TG_CUDA_CHECK(cudaMemsetAsync(gx, 0, static_cast<size_t>(n) * sizeof(T), stream()));
    launch_over(outputs(a), max_pool_scatter_kernel<T, T>, a, gy, indices, gx);
  } else {  // half types: add in float, round once
    Scratch<float> acc(n);
    TG_CUDA_CHECK(cudaMemsetAsync(acc.get(), 0, static_cast<size_t>(n) * sizeof(float), stream()));
    launch_over(outputs(a), max_pool_scatter_kernel<T, float>, a, gy, indices, acc.get());
    launch_over(n, store_kernel<T>, acc.get(), gx, n);
  }
}

template <typename T>
void avg_pool2d(const PoolArgs& a, const T* x, T* y) {
  launch_over(outputs(a), avg_pool_kernel<T>, a, x, y);
}

template <typename T>
void avg_pool2d_backward(const PoolArgs& a, const T* gy, T* gx) {
  launch_over(inputs(a), avg_pool_backward_kernel<T>, a, gy, gx);
}

template <typename T>
void adaptive_avg_pool2d(const PoolArgs& a, const T* x, T* y) {
  launch_over(outputs(a), adaptive_avg_pool_kernel<T>, a, x, y);
}

template <typename T>
void adaptive_avg_pool2d_backward(const PoolArgs& a, const T* gy, T* gx) {
  launch_over(inputs(a), adaptive_avg_pool_backward_kernel<T>, a, gy, gx);
}

#define TG_INST(T)                                                                     \
  template void max_pool2d<T>(const PoolArgs&, const T*, T*, int32_t*);               \
  template void max_pool2d_backward<T>(const PoolArgs&, const T*, const int32_t*, T*); \
  template void avg_pool2d<T>(const PoolArgs&, const T*, T*);                          \
  template void avg_pool2d_backward<T>(const PoolArgs&, const T*, T*);                 \
  template void adaptive_avg_pool2d<T>(const PoolArgs&, const T*, T*);                 \
  template void adaptive_avg_pool2d_backward<T>(const PoolArgs&, const T*, T*);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

// 2-D convolution (NCHW) over the one GEMM entry, by im2col in blocks.
//
// Per image n and group g, with P = oh*ow output positions and R = cg*kh*kw
// (cg = c / groups input channels per group, ocg = oc / groups outputs per group):
//   forward      y[n,g] (ocg,P)  = W[g] (ocg,R) @ col (R,P), plus the bias per row
//   grad-input   col (R,P)       = W[g]^T @ gy[n,g] (ocg,P); col2im adds col into gx[n,g]
//   grad-weight  gW[g] (ocg,R)  += gy[n,g] (ocg,P) @ col^T (P,R), summed over images
// At stride 1 grad-input is itself a convolution of gy (kernel flipped, channel dims
// swapped), which runs as a forward: im2col's copies cost less than col2im's adds.
// col is built for a block of output positions at a time, sized to stay in L2, in
// scratch that belongs to the thread and only grows, so a training loop faults in
// no fresh pages. A 1x1, stride-1, unpadded kernel needs no col: the input plane
// already is that matrix.
//
// Work is split over (image, group) pairs when there are enough of them; a GEMM
// called inside a pool task runs on that thread alone. With fewer pairs than
// threads (batch 1) the loop runs on the caller and the GEMM and im2col/col2im
// spread over the pool instead.
//
// One input channel per group (depthwise, or a single-channel input) leaves the
// GEMM with R = kh*kw, too thin to pay for packing: direct loops do that case.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../kernels.h"
#include "conv_direct.h"
#include "isa.h"
#include "threadpool.h"
#include "walk.h"

// the portable set of direct-convolution plane kernels
#define TG_ISA_NS generic
#include "conv_direct.inc"
#undef TG_ISA_NS

namespace tg::cpu {

namespace {

// Bytes of one col block: with the GEMM's packed panels it still fits the 1 MiB L2.
constexpr int64_t kColBlockBytes = 256 * 1024;

// Per-thread scratch slots that only grow; pool workers and the JS thread each keep
// theirs for the life of the process.
enum Slot { kColSlot, kAccSlot, kPadSlot, kFlipSlot, kPartialSlot, kWeightSlot, kNumSlots };

template <typename T>
T* scratch(Slot slot, int64_t n) {
  thread_local std::vector<T> bufs[kNumSlots];
  std::vector<T>& b = bufs[slot];
  if (static_cast<int64_t>(b.size()) < n) b.resize(static_cast<size_t>(n));
  return b.data();
}

struct Shape {
  int64_t cg, ocg, kk, r, p, hw;
  bool no_col;  // 1x1, stride 1, no padding: the input plane is col itself
};

Shape shape_of(const ConvArgs& a) {
  Shape s;
  s.cg = a.c / a.groups;
  s.ocg = a.oc / a.groups;
  s.kk = a.kh * a.kw;
  s.r = s.cg * s.kk;
  s.p = a.oh * a.ow;
  s.hw = a.h * a.w;
  s.no_col = a.kh == 1 && a.kw == 1 && a.stride_h == 1 && a.stride_w == 1 && a.pad_h == 0 &&
             a.pad_w == 0 && a.oh == a.h && a.ow == a.w;
  return s;
}

// Output columns [lo, hi) of a row whose input column j*stride + off lies in [0, w).
inline void valid_cols(int64_t off, int64_t stride, int64_t w, int64_t ow, int64_t& lo,
                       int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  hi = w - 1 - off < 0 ? 0 : (w - 1 - off) / stride + 1;
  lo = std::min(lo, ow);
  hi = std::min(hi, ow);
  if (hi < lo) hi = lo;
}

// Columns per block: all of P when it fits the budget, else balanced blocks of whole
// output rows (im2col then copies whole rows), or of a multiple of 16 columns (a
// whole number of SIMD vectors) when one row alone is over the budget.
int64_t block_cols(int64_t r, int64_t p, int64_t ow, size_t esize) {
  const int64_t fit = kColBlockBytes / (std::max<int64_t>(r, 1) * static_cast<int64_t>(esize));
  if (fit >= p) return std::max<int64_t>(p, 1);
  if (fit >= ow) {
    const int64_t oh = p / ow, nblocks = (oh + fit / ow - 1) / (fit / ow);
    return (oh + nblocks - 1) / nblocks * ow;
  }
  const int64_t step = std::max<int64_t>(fit, 16);
  const int64_t nblocks = (p + step - 1) / step;
  return std::min(p, ((p + nblocks - 1) / nblocks + 15) / 16 * 16);
}

// parallel_for grain: items per chunk for at least kParallelGrain elements of work
// (inside a pool task parallel_for runs inline whatever the grain).
inline int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_item, 1));
}

// col (R, p1-p0) for output positions [p0, p1) of the cg channels at x (one group
// of one image). Row (c, ki, kj) of col is, per output row of the block, a run of
// one input row shifted by the tap, with zeros where the tap lands in the padding.
// kj is the outer loop so a tap's valid output columns [lo, hi) are worked out
// once; a whole output row at stride 1 is then zeros, one memcpy, zeros.
template <typename T>
void im2col(const ConvArgs& a, const Shape& s, const T* x, int64_t p0, int64_t p1, T* col) {
  const int64_t pb = p1 - p0;
  const int64_t oi_first = p0 / a.ow, oj_first = p0 % a.ow;
  parallel_for(s.cg, grain_for(pb * s.kk), [&](int64_t c0, int64_t c1) {
    for (int64_t kj = 0; kj < a.kw; ++kj) {
      const int64_t off = kj * a.dil_w - a.pad_w;  // output column j reads j*stride + off
      int64_t lo, hi;
      valid_cols(off, a.stride_w, a.w, a.ow, lo, hi);
      for (int64_t ci = c0; ci < c1; ++ci) {
        const T* xc = x + ci * s.hw;
        for (int64_t ki = 0; ki < a.kh; ++ki) {
          T* dst = col + ((ci * a.kh + ki) * a.kw + kj) * pb;
          int64_t ih = oi_first * a.stride_h - a.pad_h + ki * a.dil_h, j0 = oj_first;
          for (int64_t q = 0; q < pb; ih += a.stride_h, j0 = 0) {
            const int64_t n = std::min(a.ow - j0, pb - q);  // this output row's run
            T* d = dst + q;
            if (static_cast<uint64_t>(ih) >= static_cast<uint64_t>(a.h)) {
              std::memset(d, 0, static_cast<size_t>(n) * sizeof(T));
            } else if (j0 == 0 && n == a.ow && a.stride_w == 1) {
              for (int64_t j = 0; j < lo; ++j) d[j] = T(0);
              std::memcpy(d + lo, xc + ih * a.w + lo + off, static_cast<size_t>(hi - lo) * sizeof(T));
              for (int64_t j = hi; j < n; ++j) d[j] = T(0);
            } else {
              const T* xrow = xc + ih * a.w;
              for (int64_t j = 0; j < n; ++j) {
                const int64_t oj = j0 + j;
                d[j] = oj >= lo && oj < hi ? xrow[oj * a.stride_w + off] : T(0);
              }
            }
            q += n;
          }
        }
      }
    }
  });
}

// Adds col (R, p1-p0) back into the cg input channels at gx: the adjoint of im2col.
// Split by channel, so no two tasks touch the same input element.
template <typename T>
void col2im_add(const ConvArgs& a, const Shape& s, const T* col, int64_t p0, int64_t p1, T* gx) {
  const int64_t pb = p1 - p0;
  const int64_t oi_first = p0 / a.ow, oj_first = p0 % a.ow;
  parallel_for(s.cg, grain_for(pb * s.kk), [&](int64_t c0, int64_t c1) {
    for (int64_t kj = 0; kj < a.kw; ++kj) {
      const int64_t off = kj * a.dil_w - a.pad_w;
      int64_t lo, hi;
      valid_cols(off, a.stride_w, a.w, a.ow, lo, hi);
      for (int64_t ci = c0; ci < c1; ++ci) {
        T* gc = gx + ci * s.hw;
        for (int64_t ki = 0; ki < a.kh; ++ki) {
          const T* src = col + ((ci * a.kh + ki) * a.kw + kj) * pb;
          int64_t ih = oi_first * a.stride_h - a.pad_h + ki * a.dil_h, j0 = oj_first;
          for (int64_t q = 0; q < pb; ih += a.stride_h, j0 = 0) {
            const int64_t n = std::min(a.ow - j0, pb - q);
            if (static_cast<uint64_t>(ih) < static_cast<uint64_t>(a.h)) {
              // output columns [l, u) of this run land inside the input row
              const int64_t l = std::max(lo, j0), u = std::min(hi, j0 + n);
              const T* __restrict sr = src + q;  // sr[j - j0] is output column j
              T* __restrict grow = gc + ih * a.w;
              if (a.stride_w == 1) {
                for (int64_t j = l; j < u; ++j) grow[j + off] += sr[j - j0];
              } else {
                for (int64_t j = l; j < u; ++j) grow[j * a.stride_w + off] += sr[j - j0];
              }
            }
            q += n;
          }
        }
      }
    }
  });
}

template <typename T>
void add_row_bias(T* y, int64_t rows, int64_t cols, int64_t ld, const T* bias) {
  for (int64_t i = 0; i < rows; ++i) {
    const T b = bias[i];
    T* row = y + i * ld;
    for (int64_t j = 0; j < cols; ++j) row[j] += b;
  }
}

// Whether to give each pool thread whole (image, group) units: only when they
// split evenly or are many, else the caller's GEMM balances better.
bool split_units(int64_t units) {
  const int64_t threads = get_num_threads();
  return threads > 1 && units >= threads && (units % threads == 0 || units >= 4 * threads);
}

// Runs fn(unit) for every (image, group) unit: spread over the pool when they split
// well (each GEMM then runs on its task's thread), else in order on the caller
// (each GEMM and im2col then spreads over the pool itself).
template <typename F>
void for_units(int64_t units, F&& fn) {
  if (split_units(units)) {
    parallel_for(units, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) fn(u);
    });
  } else {
    for (int64_t u = 0; u < units; ++u) fn(u);
  }
}

// ---- GEMM path -------------------------------------------------------------

// y (ocg, P) of one image and group.
template <typename T>
void forward_unit(const ConvArgs& a, const Shape& s, const T* x, const T* w, const T* bias, T* y) {
  if (s.r == 0) {  // no input channels: the output is the bias
    for (int64_t i = 0; i < s.ocg; ++i) std::fill(y + i * s.p, y + (i + 1) * s.p, bias ? bias[i] : T(0));
    return;
  }
  GemmArgs g;
  g.m = s.ocg;
  g.k = s.r;
  g.lda = s.r;
  g.ldc = s.p;
  if (s.no_col) {
    g.n = s.p;
    g.ldb = s.p;
    gemm<T>(g, w, x, y);
    if (bias) add_row_bias(y, s.ocg, s.p, s.p, bias);
    return;
  }
  const int64_t pb = block_cols(s.r, s.p, a.ow, sizeof(T));
  T* col = scratch<T>(kColSlot, s.r * pb);
  for (int64_t p0 = 0; p0 < s.p; p0 += pb) {
    const int64_t p1 = std::min(s.p, p0 + pb);
    im2col(a, s, x, p0, p1, col);
    g.n = p1 - p0;
    g.ldb = p1 - p0;
    gemm<T>(g, w, col, y + p0);
    if (bias) add_row_bias(y + p0, s.ocg, p1 - p0, s.p, bias);
  }
}

// gx (cg, h, w) of one image and group.
template <typename T>
void grad_input_unit(const ConvArgs& a, const Shape& s, const T* gy, const T* w, T* gx) {
  if (s.ocg == 0 || s.r == 0) {
    std::fill(gx, gx + s.cg * s.hw, T(0));
    return;
  }
  GemmArgs g;
  g.trans_a = true;  // W[g] is stored (ocg, R)
  g.m = s.r;
  g.k = s.ocg;
  g.lda = s.r;
  g.ldb = s.p;
  if (s.no_col) {
    g.n = s.p;
    g.ldc = s.p;
    gemm<T>(g, w, gy, gx);
    return;
  }
  std::fill(gx, gx + s.cg * s.hw, T(0));
  const int64_t pb = block_cols(s.r, s.p, a.ow, sizeof(T));
  T* col = scratch<T>(kColSlot, s.r * pb);
  for (int64_t p0 = 0; p0 < s.p; p0 += pb) {
    const int64_t p1 = std::min(s.p, p0 + pb);
    g.n = p1 - p0;
    g.ldc = p1 - p0;
    gemm<T>(g, w, gy + p0, col);
    col2im_add(a, s, col, p0, p1, gx);
  }
}

// gw (ocg, R) of one group, summed over images [n0, n1); overwrites gw.
template <typename T>
void grad_weight_group(const ConvArgs& a, const Shape& s, int64_t group, int64_t n0, int64_t n1,
                       const T* x, const T* gy, T* gw) {
  if (n1 <= n0 || s.p == 0 || s.r == 0) {
    std::fill(gw, gw + s.ocg * s.r, T(0));
    return;
  }
  GemmArgs g;
  g.trans_b = true;  // col is stored (R, P)
  g.m = s.ocg;
  g.n = s.r;
  g.lda = s.p;
  g.ldc = s.r;
  const int64_t pb = s.no_col ? s.p : block_cols(s.r, s.p, a.ow, sizeof(T));
  T* col = s.no_col ? nullptr : scratch<T>(kColSlot, s.r * pb);
  bool first = true;
  for (int64_t n = n0; n < n1; ++n) {
    const T* xg = x + (n * a.c + group * s.cg) * s.hw;
    const T* gyg = gy + (n * a.oc + group * s.ocg) * s.p;
    for (int64_t p0 = 0; p0 < s.p; p0 += pb) {
      const int64_t p1 = std::min(s.p, p0 + pb);
      g.k = p1 - p0;
      g.beta = first ? 0 : 1;
      first = false;
      if (s.no_col) {
        g.ldb = s.p;
        gemm<T>(g, gyg + p0, xg + p0, gw);
      } else {
        im2col(a, s, xg, p0, p1, col);
        g.ldb = p1 - p0;
        gemm<T>(g, gyg + p0, col, gw);
      }
    }
  }
}

// ---- direct path: one input channel per group --------------------------------
//
// Each plane is first copied into zero padding, so the plane kernels (per ISA, in
// conv_direct.inc) run over whole rows with no bounds tests. With stride 1 the
// output is computed at the padded plane's row pitch and copied out, so a plane is
// one long vector loop instead of many short rows.

// Depthwise-style layers; a single-channel input with many filters has M = oc for
// the GEMM and goes there.
bool direct(const ConvArgs& a, const Shape& s) { return s.cg == 1 && (a.groups > 1 || s.ocg < 4); }

template <typename T>
DirectKernels<T> direct_kernels() {
  const char* isa = isa_kernels().name;
  // "avx512bf16" and "amx" differ from "avx512" only in their bfloat16 GEMM
  if (std::strcmp(isa, "avx512") == 0 || std::strcmp(isa, "avx512bf16") == 0 || std::strcmp(isa, "amx") == 0)
    return {avx512::stencil<T>, avx512::scatter<T>, avx512::correlate<T>};
  if (std::strcmp(isa, "avx2") == 0) return {avx2::stencil<T>, avx2::scatter<T>, avx2::correlate<T>};
  return {generic::stencil<T>, generic::scatter<T>, generic::correlate<T>};
}

// dst (rows, cols) = the (h, w) plane src with its (0, 0) at (top, left), clipped;
// zeros elsewhere.
template <typename T>
void place(const T* src, int64_t h, int64_t w, int64_t top, int64_t left, T* dst, int64_t rows,
           int64_t cols) {
  const int64_t c0 = std::clamp<int64_t>(left, 0, cols), c1 = std::clamp<int64_t>(left + w, c0, cols);
  for (int64_t r = 0; r < rows; ++r) {
    T* d = dst + r * cols;
    const int64_t i = r - top;
    if (i < 0 || i >= h) {
      std::fill(d, d + cols, T(0));
      continue;
    }
    std::fill(d, d + c0, T(0));
    std::memcpy(d + c0, src + i * w + (c0 - left), static_cast<size_t>(c1 - c0) * sizeof(T));
    std::fill(d + c1, d + cols, T(0));
  }
}

// rows of n elements from a plane of pitch `from` to one of pitch `to`
template <typename T>
void copy_rows(const T* src, int64_t from, T* dst, int64_t to, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(dst + i * to, src + i * from, static_cast<size_t>(n) * sizeof(T));
}

// The input plane padded so every tap of every output lands inside, whatever oh/ow
// the caller chose: input at (pad_h, pad_w).
Stencil forward_stencil(const ConvArgs& a, int64_t& rows) {
  rows = std::max(a.h + a.pad_h, (a.oh - 1) * a.stride_h + (a.kh - 1) * a.dil_h + 1);
  const int64_t cols = std::max(a.w + a.pad_w, (a.ow - 1) * a.stride_w + (a.kw - 1) * a.dil_w + 1);
  return {a.oh, a.ow, a.kh, a.kw, a.stride_h, a.stride_w, a.dil_h, a.dil_w, cols};
}

template <typename T>
void direct_forward(const ConvArgs& a, const Shape& s, const T* x, const T* w, const T* bias, T* y) {
  int64_t rows;
  const Stencil st = forward_stencil(a, rows);
  const bool flat = a.stride_h == 1 && a.stride_w == 1;
  const DirectKernels<T> k = direct_kernels<T>();
  parallel_for(a.n * a.c, grain_for(s.ocg * s.p * s.kk), [&](int64_t u0, int64_t u1) {
    T* xp = scratch<T>(kPadSlot, rows * st.pitch);
    T* yt = flat ? scratch<T>(kAccSlot, a.oh * st.pitch) : nullptr;
    for (int64_t u = u0; u < u1; ++u) {  // u = input plane (n, g), read by ocg outputs
      place(x + u * s.hw, a.h, a.w, a.pad_h, a.pad_w, xp, rows, st.pitch);
      const int64_t n = u / a.c, g = u % a.c;
      for (int64_t m = 0; m < s.ocg; ++m) {
        const int64_t o = g * s.ocg + m;
        T* yp = y + (n * a.oc + o) * s.p;
        const T b = bias ? bias[o] : T(0);
        if (flat) {
          std::fill(yt, yt + a.oh * st.pitch, b);
          k.stencil(st, xp, w + o * s.kk, yt, st.pitch);
          copy_rows(yt, st.pitch, yp, a.ow, a.oh, a.ow);
        } else {
          std::fill(yp, yp + s.p, b);
          k.stencil(st, xp, w + o * s.kk, yp, a.ow);
        }
      }
    }
  });
}

template <typename T>
void direct_grad_input(const ConvArgs& a, const Shape& s, const T* gy, const T* w, T* gx) {
  const DirectKernels<T> k = direct_kernels<T>();
  if (a.stride_h == 1 && a.stride_w == 1) {
    // stride 1: gx is the stencil of gy, padded by (span - 1 - pad), with the kernel
    // flipped; a gather, so each sum stays in registers
    const int64_t top = (a.kh - 1) * a.dil_h - a.pad_h, left = (a.kw - 1) * a.dil_w - a.pad_w;
    const int64_t rows = a.h + (a.kh - 1) * a.dil_h;
    const Stencil st{a.h, a.w, a.kh, a.kw, 1, 1, a.dil_h, a.dil_w, a.w + (a.kw - 1) * a.dil_w};
    parallel_for(a.n * a.c, grain_for(s.ocg * s.p * s.kk), [&](int64_t u0, int64_t u1) {
      T* gp = scratch<T>(kPadSlot, rows * st.pitch);
      T* acc = scratch<T>(kAccSlot, a.h * st.pitch);
      T* flipped = scratch<T>(kFlipSlot, s.kk);
      for (int64_t u = u0; u < u1; ++u) {  // u = input plane (n, g), fed by ocg outputs
        const int64_t n = u / a.c, g = u % a.c;
        std::fill(acc, acc + a.h * st.pitch, T(0));
        for (int64_t m = 0; m < s.ocg; ++m) {
          const int64_t o = g * s.ocg + m;
          place(gy + (n * a.oc + o) * s.p, a.oh, a.ow, top, left, gp, rows, st.pitch);
          for (int64_t t = 0; t < s.kk; ++t) flipped[t] = w[o * s.kk + s.kk - 1 - t];
          k.stencil(st, gp, flipped, acc, st.pitch);
        }
        copy_rows(acc, st.pitch, gx + u * s.hw, a.w, a.h, a.w);
      }
    });
    return;
  }
  // strided: scatter each output through its taps into a padded plane
  int64_t rows;
  const Stencil st = forward_stencil(a, rows);
  parallel_for(a.n * a.c, grain_for(s.ocg * s.p * s.kk), [&](int64_t u0, int64_t u1) {
    T* gp = scratch<T>(kPadSlot, rows * st.pitch);
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t n = u / a.c, g = u % a.c;
      std::fill(gp, gp + rows * st.pitch, T(0));
      for (int64_t m = 0; m < s.ocg; ++m) {
        const int64_t o = g * s.ocg + m;
        k.scatter(st, gy + (n * a.oc + o) * s.p, w + o * s.kk, gp);
      }
      copy_rows(gp + a.pad_h * st.pitch + a.pad_w, st.pitch, gx + u * s.hw, a.w, a.h, a.w);
    }
  });
}

template <typename T>
void direct_grad_weight(const ConvArgs& a, const Shape& s, const T* x, const T* gy, T* gw) {
  int64_t rows;
  const Stencil st = forward_stencil(a, rows);
  const bool flat = a.stride_h == 1 && a.stride_w == 1;
  const DirectKernels<T> k = direct_kernels<T>();
  // one task per input channel sums over every image itself: no partial sums to merge
  parallel_for(a.c, grain_for(a.n * s.ocg * s.p * s.kk), [&](int64_t g0, int64_t g1) {
    T* xp = scratch<T>(kPadSlot, rows * st.pitch);
    T* acc = scratch<T>(kFlipSlot, s.ocg * s.kk);
    // gy at the padded plane's pitch, its columns past ow zero, for one flat pass
    T* gt = flat ? scratch<T>(kAccSlot, a.oh * st.pitch) : nullptr;
    if (flat) std::fill(gt, gt + a.oh * st.pitch, T(0));
    for (int64_t g = g0; g < g1; ++g) {
      std::fill(acc, acc + s.ocg * s.kk, T(0));
      for (int64_t n = 0; n < a.n; ++n) {
        place(x + (n * a.c + g) * s.hw, a.h, a.w, a.pad_h, a.pad_w, xp, rows, st.pitch);
        for (int64_t m = 0; m < s.ocg; ++m) {
          const T* gyp = gy + (n * a.oc + g * s.ocg + m) * s.p;
          if (flat) {
            copy_rows(gyp, a.ow, gt, st.pitch, a.oh, a.ow);
            k.correlate(st, gt, st.pitch, xp, acc + m * s.kk);
          } else {
            k.correlate(st, gyp, a.ow, xp, acc + m * s.kk);
          }
        }
      }
      std::copy(acc, acc + s.ocg * s.kk, gw + g * s.ocg * s.kk);
    }
  });
}

}  // namespace

template <typename T>
void conv2d_forward(const ConvArgs& a, const T* x, const T* w, const T* bias, T* y) {
  const Shape s = shape_of(a);
  if (a.n == 0 || a.oc == 0 || s.p == 0) return;
  if (direct(a, s)) {
    direct_forward(a, s, x, w, bias, y);
    return;
  }
  for_units(a.n * a.groups, [&](int64_t u) {
    const int64_t n = u / a.groups, g = u % a.groups;
    forward_unit(a, s, x + (n * a.c + g * s.cg) * s.hw, w + g * s.ocg * s.r,
                 bias ? bias + g * s.ocg : nullptr, y + (n * a.oc + g * s.ocg) * s.p);
  });
}

template <typename T>
void conv2d_grad_input(const ConvArgs& a, const T* gy, const T* w, T* gx) {
  const Shape s = shape_of(a);
  if (a.n == 0 || a.c == 0 || s.hw == 0) return;
  if (direct(a, s)) {
    direct_grad_input(a, s, gy, w, gx);
    return;
  }
  if (a.stride_h == 1 && a.stride_w == 1 && !s.no_col && s.ocg > 0 && s.p > 0 && 2 * a.oc <= 3 * a.c) {
    // At stride 1, gx is itself a convolution: of gy, padded by span - 1 - pad, with
    // the kernel flipped and its two channel dims swapped. That runs as a forward
    // (im2col copies oc*kk rows, then GEMM) instead of GEMM then col2im's scattered
    // adds into c*kk rows, which cost about half again as much per element: worth it
    // unless the layer widens the channels. The padding may come out negative
    // (padding past the kernel's span): im2col takes that as a plain offset.
    ConvArgs t = a;
    t.c = a.oc, t.h = a.oh, t.w = a.ow, t.oc = a.c, t.oh = a.h, t.ow = a.w;
    t.pad_h = a.dil_h * (a.kh - 1) - a.pad_h;
    t.pad_w = a.dil_w * (a.kw - 1) - a.pad_w;
    const Shape ts = shape_of(t);
    // wt (c, ocg, kh, kw): wt[g*cg + i][j][tap] = w[g*ocg + j][i][kk - 1 - tap]
    T* wt = scratch<T>(kWeightSlot, a.oc * s.r);
    for (int64_t g = 0; g < a.groups; ++g)
      for (int64_t i = 0; i < s.cg; ++i)
        for (int64_t j = 0; j < s.ocg; ++j) {
          const T* src = w + ((g * s.ocg + j) * s.cg + i) * s.kk;
          T* dst = wt + ((g * s.cg + i) * s.ocg + j) * s.kk;
          for (int64_t tap = 0; tap < s.kk; ++tap) dst[tap] = src[s.kk - 1 - tap];
        }
    for_units(a.n * a.groups, [&](int64_t u) {
      const int64_t n = u / a.groups, g = u % a.groups;
      forward_unit(t, ts, gy + (n * a.oc + g * s.ocg) * s.p, wt + g * s.cg * ts.r, static_cast<const T*>(nullptr),
                   gx + (n * a.c + g * s.cg) * s.hw);
    });
    return;
  }
  for_units(a.n * a.groups, [&](int64_t u) {
    const int64_t n = u / a.groups, g = u % a.groups;
    grad_input_unit(a, s, gy + (n * a.oc + g * s.ocg) * s.p, w + g * s.ocg * s.r,
                    gx + (n * a.c + g * s.cg) * s.hw);
  });
}

template <typename T>
void conv2d_grad_weight(const ConvArgs& a, const T* x, const T* gy, T* gw) {
  const Shape s = shape_of(a);
  const int64_t wsize = a.oc * s.r;
  if (wsize == 0) return;
  if (a.n == 0 || s.p == 0) {
    std::fill(gw, gw + wsize, T(0));
    return;
  }
  if (direct(a, s)) {
    direct_grad_weight(a, s, x, gy, gw);
    return;
  }
  const int64_t threads = get_num_threads();
  const int64_t gsize = s.ocg * s.r;
  if (split_units(a.groups)) {
    // groups own disjoint slices of gw
    parallel_for(a.groups, 1, [&](int64_t g0, int64_t g1) {
      for (int64_t g = g0; g < g1; ++g) grad_weight_group(a, s, g, 0, a.n, x, gy, gw + g * gsize);
    });
    return;
  }
  if (threads > 1 && a.n >= threads) {
    // each thread sums its share of the images into its own copy; task 0 uses gw
    T* partial = scratch<T>(kPartialSlot, (threads - 1) * wsize);
    parallel_for(threads, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t n0 = a.n * t / threads, n1 = a.n * (t + 1) / threads;
        T* dst = t == 0 ? gw : partial + (t - 1) * wsize;
        for (int64_t g = 0; g < a.groups; ++g) grad_weight_group(a, s, g, n0, n1, x, gy, dst + g * gsize);
      }
    });
    parallel_for(wsize, kParallelGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t t = 1; t < threads; ++t) {
        const T* src = partial + (t - 1) * wsize;
        for (int64_t i = i0; i < i1; ++i) gw[i] += src[i];
      }
    });
    return;
  }
  for (int64_t g = 0; g < a.groups; ++g) grad_weight_group(a, s, g, 0, a.n, x, gy, gw + g * gsize);
}

template <typename T>
void conv2d_grad_bias(const ConvArgs& a, const T* gy, T* gb) {
  const int64_t p = a.oh * a.ow;
  parallel_for(a.oc, grain_for(a.n * p), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      // independent lanes, so the sum vectorizes without reassociating one chain
      constexpr int L = 64 / sizeof(T);
      T lane[L] = {};
      T rest = 0;
      for (int64_t n = 0; n < a.n; ++n) {
        const T* src = gy + (n * a.oc + o) * p;
        int64_t j = 0;
        for (; j + L <= p; j += L)
          for (int l = 0; l < L; ++l) lane[l] += src[j + l];
        for (; j < p; ++j) rest += src[j];
      }
      for (int l = 0; l < L; ++l) rest += lane[l];
      gb[o] = rest;
    }
  });
}

#define TG_INST(T)                                                                          \
  template void conv2d_forward<T>(const ConvArgs&, const T*, const T*, const T*, T*);       \
  template void conv2d_grad_input<T>(const ConvArgs&, const T*, const T*, T*);              \
  template void conv2d_grad_weight<T>(const ConvArgs&, const T*, const T*, T*);             \
  template void conv2d_grad_bias<T>(const ConvArgs&, const T*, T*);
TG_INST(float)
TG_INST(double)
#undef TG_INST

}  // namespace tg::cpu

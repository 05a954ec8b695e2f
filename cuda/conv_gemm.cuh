// The three convolution passes as implicit GEMMs on gemm_tile.cuh: the operands are
// gathered from the NCHW tensors as the tiles are loaded (no im2col buffer), and the
// outputs go straight to NCHW. Per group g (the GEMM batch), with cg = c / groups,
// ocg = oc / groups, kk = kh * kw, R = cg * kk, P = oh * ow positions per image:
//
//   forward      y (ocg, n*P)    = W[g] (ocg, R)        x im2col(x) (R, n*P)
//   grad-input   gx (cg, n*h*w)  = W[g]^T (cg, ocg*kk)  x gather(gy) (ocg*kk, n*h*w)
//   grad-weight  gw[g] (ocg, R)  = gy (ocg, n*P)        x im2col(x)^T (n*P, R)
//
// The position dimension runs over whole images, so one launch covers the batch.
// Every index below fits 31 bits: the launchers (conv.cu) check the planes and
// kernel sizes and cut the images into chunks where n*P would not fit, which lets
// the flat indices split with FastDivmod. Each source makes a per-thread cursor for
// its run once (what is fixed along the tile's X) and does the K-dependent part
// per k-tile, stepping through consecutive positions without dividing.
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "common.cuh"
#include "fast_divmod.cuh"
#include "gemm_tile.cuh"

namespace tg::cuda::tile {

// The geometry every source shares, as 32-bit values.
struct ConvGeometry {
  int h = 0, w = 0, oh = 0, ow = 0, kh = 0, kw = 0;
  int sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  FastDivmod taps, kw_div, ow_div, w_div, out_plane, in_plane, sh_div, sw_div;

  ConvGeometry() = default;
  explicit ConvGeometry(const ConvArgs& a)
      : h(int(a.h)), w(int(a.w)), oh(int(a.oh)), ow(int(a.ow)), kh(int(a.kh)), kw(int(a.kw)),
        sh(int(a.stride_h)), sw(int(a.stride_w)), ph(int(a.pad_h)), pw(int(a.pad_w)), dh(int(a.dil_h)),
        dw(int(a.dil_w)), taps(uint32_t(a.kh * a.kw)), kw_div(uint32_t(a.kw)), ow_div(uint32_t(imax(a.ow, 1))),
        w_div(uint32_t(imax(a.w, 1))), out_plane(uint32_t(imax(a.oh * a.ow, 1))),
        in_plane(uint32_t(imax(a.h * a.w, 1))), sh_div(uint32_t(a.stride_h)), sw_div(uint32_t(a.stride_w)) {}
};

__host__ __device__ __forceinline__ int clamp_count(int64_t left, int v) { return int(imin(imax(left, 0), v)); }

// im2col(x): element (r, pos), r = (c, ki, kj) < R, pos = (image, oi, oj) < npos, is
// x[image][c][oi*sh - ph + ki*dh][oj*sw - pw + kj*dw], zero in the padding.
// Runs go along pos: the GEMM's x for the forward pass (PosIsK false: x = pos,
// k = r), its k for grad-weight (PosIsK true: x = r, k = pos).
template <typename T, bool PosIsK>
struct Im2colSource {
  using Elem = T;
  static constexpr bool along_k = PosIsK;
  const T* x = nullptr;  // image 0, channel 0 of the group
  int64_t image_stride = 0, group_stride = 0, plane = 0;  // c*h*w, cg*h*w, h*w
  int r_count = 0, npos = 0;
  ConvGeometry geo;

  struct Run {
    int r;            // PosIsK: this run's r (fixed); else the r of k-tile 0
    int pos;          // PosIsK: the pos of k-tile 0; else this run's first pos (fixed)
    int oi, oj;       // PosIsK false: pos as a position in its image
    const T* image;   // PosIsK false: x at that image
    int64_t channel;  // PosIsK: c * h * w of r
    int ih0, iw0;     // PosIsK: ki*dh - ph, kj*dw - pw of r
  };

  __host__ __device__ void to_batch(int64_t g) { x += g * group_stride; }

  __host__ __device__ __forceinline__ void split_r(int r, int& c, int& ki, int& kj) const {
    uint32_t uc, tap, uki, ukj;
    geo.taps.divmod(uint32_t(r), uc, tap);
    geo.kw_div.divmod(tap, uki, ukj);
    c = int(uc), ki = int(uki), kj = int(ukj);
  }
  __host__ __device__ __forceinline__ const T* split_pos(int pos, int& oi, int& oj) const {
    uint32_t img, rem, uoi, uoj;
    geo.out_plane.divmod(uint32_t(pos), img, rem);
    geo.ow_div.divmod(rem, uoi, uoj);
    oi = int(uoi), oj = int(uoj);
    return x + int64_t(img) * image_stride;
  }

  template <int V>
  __host__ __device__ __forceinline__ Run run(int64_t gx, int64_t gk) const {
    Run r{};
    r.r = int(PosIsK ? gx : gk);
    r.pos = int(PosIsK ? gk : gx);
    if constexpr (PosIsK) {
      int c, ki, kj;
      split_r(r.r, c, ki, kj);
      r.channel = int64_t(c) * plane;
      r.ih0 = ki * geo.dh - geo.ph;
      r.iw0 = kj * geo.dw - geo.pw;
    } else {
      r.image = split_pos(r.pos, r.oi, r.oj);
    }
    return r;
  }

  template <int V>
  __host__ __device__ __forceinline__ void load(const Run& run, int64_t kk, T (&v)[V]) const {
    const int r = PosIsK ? run.r : run.r + int(kk), pos = PosIsK ? run.pos + int(kk) : run.pos;
    const int count = r < r_count ? clamp_count(int64_t(npos) - pos, V) : 0;
    int oi, oj, ih0, iw0;
    const T* base;  // channel c of the current image
    if constexpr (PosIsK) {
      base = split_pos(pos, oi, oj) + run.channel;
      ih0 = run.ih0, iw0 = run.iw0;
    } else {
      int c, ki, kj;
      split_r(r, c, ki, kj);
      base = run.image + int64_t(c) * plane;
      oi = run.oi, oj = run.oj;
      ih0 = ki * geo.dh - geo.ph, iw0 = kj * geo.dw - geo.pw;
    }
    int ih = oi * geo.sh + ih0, iw = oj * geo.sw + iw0;
#pragma unroll
    for (int e = 0; e < V; ++e) {
      const bool in = e < count && unsigned(ih) < unsigned(geo.h) && unsigned(iw) < unsigned(geo.w);
      v[e] = in ? base[int64_t(ih) * geo.w + iw] : T{};
      iw += geo.sw;
      if (++oj == geo.ow) {  // next output row, then next image
        oj = 0, iw = iw0, ih += geo.sh;
        if (++oi == geo.oh) oi = 0, ih = ih0, base += image_stride;
      }
    }
  }
};

// gather(gy) for grad-input: element (k, pos), k = (o, ki, kj) < ocg*kk, pos =
// (image, i, j) < npos, is gy[image][o][oi][oj] where i = oi*sh - ph + ki*dh and
// j likewise, when such an output position exists, else zero (the input position
// is not touched by that tap). Runs go along pos, the GEMM's x.
template <typename T>
struct GradInputSource {
  using Elem = T;
  static constexpr bool along_k = false;
  const T* gy = nullptr;  // image 0, output channel 0 of the group
  int64_t image_stride = 0, group_stride = 0, out_plane = 0;  // oc*P, ocg*P, P
  int k_count = 0, npos = 0;
  ConvGeometry geo;

  struct Run {
    int k;  // the k of k-tile 0
    int i, j, count;
    const T* image;  // gy at this run's first image
  };

  __host__ __device__ void to_batch(int64_t g) { gy += g * group_stride; }

  template <int V>
  __host__ __device__ __forceinline__ Run run(int64_t gx, int64_t gk) const {
    uint32_t img, rem, ui, uj;
    geo.in_plane.divmod(uint32_t(gx), img, rem);
    geo.w_div.divmod(rem, ui, uj);
    return {int(gk), int(ui), int(uj), clamp_count(int64_t(npos) - gx, V), gy + int64_t(img) * image_stride};
  }

  // output coordinate t / s of input offset t = i + pad - tap*dil, or -1 when there is none
  __host__ __device__ __forceinline__ static int source(int t, const FastDivmod& s, int extent) {
    if (t < 0) return -1;
    uint32_t q, rem;
    s.divmod(uint32_t(t), q, rem);
    return rem == 0 && int(q) < extent ? int(q) : -1;
  }

  template <int V>
  __host__ __device__ __forceinline__ void load(const Run& run, int64_t kk, T (&v)[V]) const {
    const int k = run.k + int(kk);
    const int count = k < k_count ? run.count : 0;
    uint32_t o, tap, ki, kj;
    geo.taps.divmod(uint32_t(k < k_count ? k : 0), o, tap);
    geo.kw_div.divmod(tap, ki, kj);
    const int ti0 = geo.ph - int(ki) * geo.dh, tj0 = geo.pw - int(kj) * geo.dw;
    const T* base = run.image + int64_t(o) * out_plane;  // channel o of the current image
    int i = run.i, j = run.j, ti = i + ti0, tj = j + tj0;
    int oi = source(ti, geo.sh_div, geo.oh);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      const int oj = source(tj, geo.sw_div, geo.ow);
      v[e] = e < count && oi >= 0 && oj >= 0 ? base[int64_t(oi) * geo.ow + oj] : T{};
      ++tj;
      if (++j == geo.w) {  // next input row, then next image
        j = 0, tj = tj0, ++ti;
        if (++i == geo.h) i = 0, ti = ti0, base += image_stride;
        oi = source(ti, geo.sh_div, geo.oh);
      }
    }
  }
};

// gy as grad-weight's A: element (o, pos), o < ocg, pos = (image, p) < npos, is
// gy[image][o][p]. Runs go along pos, the GEMM's k; with P a multiple of the run
// length (and gy aligned) a run never crosses an image and is one vector load.
template <typename T>
struct GradOutputRows {
  using Elem = T;
  static constexpr bool along_k = true;
  const T* gy = nullptr;  // image 0, output channel 0 of the group
  int64_t image_stride = 0, group_stride = 0;  // oc*P, ocg*P
  int rows = 0, npos = 0, plane_size = 0;
  FastDivmod plane;
  bool vector = false;

  struct Run {
    int pos;  // the pos of k-tile 0
    bool row_ok;
    int64_t row;  // o * P
  };

  __host__ __device__ void to_batch(int64_t g) { gy += g * group_stride; }

  template <int V>
  __host__ __device__ __forceinline__ Run run(int64_t gx, int64_t gk) const {
    return {int(gk), gx < rows, gx * plane_size};
  }

  template <int V>
  __host__ __device__ __forceinline__ void load(const Run& run, int64_t kk, T (&v)[V]) const {
    const int pos = run.pos + int(kk);
    const int count = run.row_ok ? clamp_count(int64_t(npos) - pos, V) : 0;
    uint32_t img, p;
    plane.divmod(uint32_t(pos), img, p);
    const T* q = gy + int64_t(img) * image_stride + run.row + p;
    if (vector && count == V) return load_vector(q, v);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      v[e] = e < count ? *q : T{};
      ++q;
      if (int(++p) == plane_size) p = 0, q += image_stride - plane_size;
    }
  }
};

// The forward and grad-input outputs: GEMM element (row, col) of group g is
// channel g*rows + row at position col = (image, p) of an NCHW tensor, plus the
// channel's bias (forward; may be null).
template <typename T>
struct PlaneEpilogue {
  using C = compute_t<T>;
  T* out = nullptr;  // image 0
  const T* bias = nullptr;
  int64_t image_stride = 0, plane_size = 0, rows = 0, cols = 0;
  FastDivmod plane;

  __host__ __device__ __forceinline__ int64_t offset(int64_t group, int64_t row, int64_t col) const {
    uint32_t img, p;
    plane.divmod(uint32_t(col), img, p);
    return int64_t(img) * image_stride + (group * rows + row) * plane_size + p;
  }

  template <typename Acc>
  __host__ __device__ __forceinline__ void store(int64_t group, int, int64_t row, int64_t col, Acc acc) const {
    if (row >= rows || col >= cols) return;
    C v = static_cast<C>(acc);
    if (bias) v += Compute<T>::load(bias[group * rows + row]);
    out[offset(group, row, col)] = Compute<T>::template store<C>(v);
  }
};

// ---- the passes as GEMMs ------------------------------------------------------

// cg = c / groups, ocg = oc / groups, kk taps, R = cg * kk, P output and hw input
// positions per image.
struct ConvShape {
  int64_t cg, ocg, kk, r, p, hw;
  explicit ConvShape(const ConvArgs& a)
      : cg(a.c / a.groups), ocg(a.oc / a.groups), kk(a.kh * a.kw), r(cg * kk), p(a.oh * a.ow), hw(a.h * a.w) {}
};

// The sources index with 31 bits; the margin covers tiles that overhang the
// matrix and positions stepped past its end.
constexpr int64_t kMaxConvIndex = INT32_MAX - 4096;

inline void require_conv_fits(const ConvArgs& a, const ConvShape& s) {
  const int64_t extents[] = {
      s.p, s.hw, s.r, s.ocg * s.kk,
      a.oh * a.stride_h + a.kh * a.dil_h + a.pad_h,  // input rows an output row reaches
      a.ow * a.stride_w + a.kw * a.dil_w + a.pad_w,
      a.h + a.pad_h + a.kh * a.dil_h,  // output rows an input row reaches (grad-input)
      a.w + a.pad_w + a.kw * a.dil_w,
  };
  for (int64_t e : extents)
    if (e > kMaxConvIndex)
      throw std::runtime_error("conv2d: a plane or the kernel is too large for the CUDA kernels (an index past 2^31)");
}

// Images per launch, so that the positions of one launch fit 31 bits.
inline int64_t images_per_launch(int64_t per_image) {
  return std::max<int64_t>(1, kMaxConvIndex / std::max<int64_t>(per_image, 1));
}

// One launch of a pass over images [n0, n0 + nc): operands, output, GEMM sizes.
template <typename SourceA, typename SourceB, typename Epi>
struct ConvGemm {
  SourceA a;
  SourceB b;
  Epi epi;
  int64_t m, n, k, batch;
};

// im2col(x) of images [n0, n0 + nc): the operand of forward and grad-weight
template <typename T, bool PosIsK>
Im2colSource<T, PosIsK> im2col_source(const ConvArgs& a, const ConvShape& s, const T* x, int64_t n0, int64_t nc) {
  Im2colSource<T, PosIsK> src;
  src.x = x + n0 * a.c * s.hw;
  src.image_stride = a.c * s.hw;
  src.group_stride = s.cg * s.hw;
  src.plane = s.hw;
  src.r_count = static_cast<int>(s.r);
  src.npos = static_cast<int>(nc * s.p);
  src.geo = ConvGeometry(a);
  return src;
}

// An NCHW output of `channels` channels and planes of `plane` positions, written from
// rows (channel of the group) x cols (image-major positions) tiles
template <typename T>
PlaneEpilogue<T> plane_epilogue(T* out, const T* bias, int64_t channels, int64_t plane, int64_t rows, int64_t nc) {
  PlaneEpilogue<T> epi;
  epi.out = out;
  epi.bias = bias;
  epi.image_stride = channels * plane;
  epi.plane_size = plane;
  epi.rows = rows;
  epi.cols = nc * plane;
  epi.plane = FastDivmod(static_cast<uint32_t>(plane));
  return epi;
}

// forward: y (ocg, nc*P) = W[g] (ocg, R) x im2col(x) (R, nc*P); `run` is A's run length
template <typename T>
ConvGemm<DenseSource<T>, Im2colSource<T, false>, PlaneEpilogue<T>> forward_gemm(
    const ConvArgs& a, const T* x, const T* w, const T* bias, T* y, int64_t n0, int64_t nc, int run) {
  const ConvShape s(a);
  ConvGemm<DenseSource<T>, Im2colSource<T, false>, PlaneEpilogue<T>> g;
  g.a = make_dense(w, true, s.r, s.ocg, s.r, s.ocg * s.r, run, true);
  g.b = im2col_source<T, false>(a, s, x, n0, nc);
  g.epi = plane_epilogue<T>(y + n0 * a.oc * s.p, bias, a.oc, s.p, s.ocg, nc);
  g.m = s.ocg, g.n = nc * s.p, g.k = s.r, g.batch = a.groups;
  return g;
}

// grad-input: gx (cg, nc*hw) = W[g]^T (cg, ocg*kk) x gather(gy) (ocg*kk, nc*hw), with
// wt holding every group's W^T row-major (cg, ocg*kk)
template <typename T>
ConvGemm<DenseSource<T>, GradInputSource<T>, PlaneEpilogue<T>> grad_input_gemm(
    const ConvArgs& a, const T* gy, const T* wt, T* gx, int64_t n0, int64_t nc, int run) {
  const ConvShape s(a);
  const int64_t depth = s.ocg * s.kk;
  ConvGemm<DenseSource<T>, GradInputSource<T>, PlaneEpilogue<T>> g;
  g.a = make_dense(wt, true, depth, s.cg, depth, s.cg * depth, run, true);
  g.b.gy = gy + n0 * a.oc * s.p;
  g.b.image_stride = a.oc * s.p;
  g.b.group_stride = s.ocg * s.p;
  g.b.out_plane = s.p;
  g.b.k_count = static_cast<int>(depth);
  g.b.npos = static_cast<int>(nc * s.hw);
  g.b.geo = ConvGeometry(a);
  g.epi = plane_epilogue<T>(gx + n0 * a.c * s.hw, nullptr, a.c, s.hw, s.cg, nc);
  g.m = s.cg, g.n = nc * s.hw, g.k = depth, g.batch = a.groups;
  return g;
}

// grad-weight: gw[g] (ocg, R) (+)= gy (ocg, nc*P) x im2col(x)^T (nc*P, R); the first
// launch overwrites gw, later ones (images past 2^31 positions) add to it
template <typename T>
ConvGemm<GradOutputRows<T>, Im2colSource<T, true>, MatrixEpilogue<T>> grad_weight_gemm(
    const ConvArgs& a, const T* x, const T* gy, T* gw, int64_t n0, int64_t nc, int run) {
  const ConvShape s(a);
  ConvGemm<GradOutputRows<T>, Im2colSource<T, true>, MatrixEpilogue<T>> g;
  g.a.gy = gy + n0 * a.oc * s.p;
  g.a.image_stride = a.oc * s.p;
  g.a.group_stride = s.ocg * s.p;
  g.a.rows = static_cast<int>(s.ocg);
  g.a.npos = static_cast<int>(nc * s.p);
  g.a.plane_size = static_cast<int>(s.p);
  g.a.plane = FastDivmod(static_cast<uint32_t>(s.p));
  const int64_t bytes = run * int64_t(sizeof(T));
  g.a.vector = is_word_size(bytes) && s.p % run == 0 && aligned_to(g.a.gy, bytes);
  g.b = im2col_source<T, true>(a, s, x, n0, nc);
  g.epi.c = gw;
  g.epi.ldc = s.r;
  g.epi.stride_c = s.ocg * s.r;
  g.epi.rows = s.ocg;
  g.epi.cols = s.r;
  g.epi.beta = n0 == 0 ? 0 : 1;
  g.m = s.ocg, g.n = s.r, g.k = nc * s.p, g.batch = a.groups;
  return g;
}

}  // namespace tg::cuda::tile

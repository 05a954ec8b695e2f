// Host-side check of the implicit-GEMM convolution (cuda/conv_gemm.cuh): the three
// passes are built exactly as conv.cu builds them (forward_gemm, grad_input_gemm,
// grad_weight_gemm, a launch per chunk of images), their sources are read the way
// the tile loaders read them (per block tile and K split: run<V> once at the block's
// origin, then load<V> k-tile by k-tile, runs placed by run_origin), the products are
// summed on the host and handed to the passes' own epilogues. The results must equal
// a direct convolution and its two gradients, and every element a source gives
// outside its operand must be zero. Random geometries with strides, padding,
// dilation, groups and odd sizes, for the tile shapes of the three maths (SIMT
// float 128x8 in runs of 4, the simple path 64x8 in runs of 2, tensor cores 128x32
// in runs of 8 half values, whose whole runs are vector loads). Prints one line per
// case; exits non-zero on a mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "../../cuda/conv_gemm.cuh"

using namespace tg;
using namespace tg::cuda::tile;

namespace {

// One GEMM operand (rows x depth) of one batch as the block loaders read it: blocks
// of X rows, K splits of k_per_split (a multiple of BK). Each element inside is read
// exactly once, and anything read outside must be zero; false (with a message) if not.
template <int X, int BK, int V, typename Source>
bool read_operand(Source src, int64_t batch, int64_t rows, int64_t depth, int64_t k_per_split,
                  std::vector<double>& out, const char* what) {
  using T = typename Source::Elem;
  src.to_batch(batch);
  out.assign(size_t(rows * depth), NAN);
  for (int64_t x0 = 0; x0 < rows; x0 += X)
    for (int64_t k0 = 0; k0 < depth; k0 += k_per_split) {
      const int64_t k_tiles = (std::min(depth, k0 + k_per_split) - k0 + BK - 1) / BK;
      for (int q = 0; q < X * BK / V; ++q) {
        int x, k;
        run_origin<X, BK, V>(q, src.along_k, x, k);
        const auto run = src.template run<V>(x0 + x, k0 + k);
        for (int64_t kt = 0; kt < k_tiles; ++kt) {
          T v[V];
          src.template load<V>(run, kt * BK, v);
          for (int e = 0; e < V; ++e) {
            const int64_t gx = x0 + x + (src.along_k ? 0 : e), gk = k0 + k + kt * BK + (src.along_k ? e : 0);
            const double value = Compute<T>::load(v[e]);
            if (gx >= rows || gk >= depth) {
              if (value != 0) return std::printf("%s: (%lld, %lld) outside reads %g\n", what, (long long)gx, (long long)gk, value), false;
              continue;
            }
            double& slot = out[size_t(gx * depth + gk)];
            if (!std::isnan(slot)) return std::printf("%s: (%lld, %lld) read twice\n", what, (long long)gx, (long long)gk), false;
            slot = value;
          }
        }
      }
    }
  for (size_t i = 0; i < out.size(); ++i)
    if (std::isnan(out[i])) return std::printf("%s: element %zu never read\n", what, i), false;
  return true;
}

// Runs one pass as the tile kernel would: per launch (chunk of images) and group,
// C = A (m x k) * B^T (n x k), each sum handed to the pass's epilogue.
template <int X, int BK, int V, typename Gemm>
bool run_pass(const Gemm& g, int64_t k_per_split, const char* what) {
  for (int64_t b = 0; b < g.batch; ++b) {
    std::vector<double> a, bt;
    if (!read_operand<X, BK, V>(g.a, b, g.m, g.k, k_per_split, a, what)) return false;
    if (!read_operand<X, BK, V>(g.b, b, g.n, g.k, k_per_split, bt, what)) return false;
    for (int64_t row = 0; row < g.m; ++row)
      for (int64_t col = 0; col < g.n; ++col) {
        double sum = 0;
        for (int64_t k = 0; k < g.k; ++k) sum += a[size_t(row * g.k + k)] * bt[size_t(col * g.k + k)];
        g.epi.store(b, 0, row, col, float(sum));
      }
  }
  return true;
}

struct Geometry {
  ConvArgs a;
  int64_t cg, ocg;
};

Geometry random_geometry(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  for (;;) {
    ConvArgs a;
    a.n = pick(1, 3), a.groups = pick(1, 3);
    const int64_t cg = pick(1, 4), ocg = pick(1, 5);
    a.c = cg * a.groups, a.oc = ocg * a.groups;
    a.h = pick(1, 17), a.w = pick(1, 19), a.kh = pick(1, 4), a.kw = pick(1, 4);
    a.stride_h = pick(1, 3), a.stride_w = pick(1, 3), a.pad_h = pick(0, 2), a.pad_w = pick(0, 2);
    a.dil_h = pick(1, 3), a.dil_w = pick(1, 2);
    a.oh = (a.h + 2 * a.pad_h - a.dil_h * (a.kh - 1) - 1) / a.stride_h + 1;
    a.ow = (a.w + 2 * a.pad_w - a.dil_w * (a.kw - 1) - 1) / a.stride_w + 1;
    if (a.h + 2 * a.pad_h - a.dil_h * (a.kh - 1) - 1 >= 0 && a.w + 2 * a.pad_w - a.dil_w * (a.kw - 1) - 1 >= 0)
      return {a, cg, ocg};
  }
}

// The direct convolution and its gradients, in double.
struct Reference {
  std::vector<double> y, gx, gw;
  Reference(const Geometry& s, const std::vector<double>& x, const std::vector<double>& w,
            const std::vector<double>& bias, const std::vector<double>& gy) {
    const ConvArgs& a = s.a;
    y.assign(size_t(a.n * a.oc * a.oh * a.ow), 0);
    gx.assign(size_t(a.n * a.c * a.h * a.w), 0);
    gw.assign(size_t(a.oc * s.cg * a.kh * a.kw), 0);
    for (int64_t n = 0; n < a.n; ++n)
      for (int64_t o = 0; o < a.oc; ++o)
        for (int64_t oi = 0; oi < a.oh; ++oi)
          for (int64_t oj = 0; oj < a.ow; ++oj) {
            const size_t yi = size_t(((n * a.oc + o) * a.oh + oi) * a.ow + oj);
            double sum = bias[size_t(o)];
            for (int64_t ci = 0; ci < s.cg; ++ci)
              for (int64_t ki = 0; ki < a.kh; ++ki)
                for (int64_t kj = 0; kj < a.kw; ++kj) {
                  const int64_t i = oi * a.stride_h - a.pad_h + ki * a.dil_h, j = oj * a.stride_w - a.pad_w + kj * a.dil_w;
                  if (i < 0 || i >= a.h || j < 0 || j >= a.w) continue;
                  const int64_t c = o / s.ocg * s.cg + ci;
                  const size_t xi = size_t(((n * a.c + c) * a.h + i) * a.w + j);
                  const size_t wi = size_t(((o * s.cg + ci) * a.kh + ki) * a.kw + kj);
                  sum += x[xi] * w[wi];
                  gx[xi] += gy[yi] * w[wi];
                  gw[wi] += gy[yi] * x[xi];
                }
            y[yi] = sum;
          }
  }
};

template <typename T>
std::vector<T> stored(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = Compute<T>::store(float(v[i]));
  return out;
}

template <typename T>
int mismatches(const std::vector<T>& got, const std::vector<double>& want) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) bad += !(double(Compute<T>::load(got[i])) == want[i]);
  return bad;
}

// One geometry through the three passes for tile shape X x BK, runs of V elements of T.
template <typename T, int X, int BK, int V>
int check(const Geometry& s, std::mt19937& rng) {
  const ConvArgs& a = s.a;
  const ConvShape shape(a);
  // small integers: every product and sum is exact in float and in half
  std::uniform_int_distribution<int> value(-2, 2);
  auto fill = [&](int64_t n) {
    std::vector<double> v(static_cast<size_t>(n));
    for (double& e : v) e = value(rng);
    return v;
  };
  const auto x = fill(a.n * a.c * a.h * a.w), w = fill(a.oc * s.cg * a.kh * a.kw), bias = fill(a.oc);
  const auto gy = fill(a.n * a.oc * a.oh * a.ow);
  const Reference ref(s, x, w, bias, gy);
  const auto xs = stored<T>(x), ws = stored<T>(w), bs = stored<T>(bias), gys = stored<T>(gy);
  // grad-input's A: every group's W^T, (cg, ocg*kk) row-major (conv.cu's transpose)
  std::vector<T> wt(ws.size());
  for (int64_t i = 0; i < int64_t(ws.size()); ++i) {
    const int64_t tap = i % shape.kk, t = i / shape.kk, ci = t % s.cg, oa = t / s.cg, g = oa / s.ocg, o = oa % s.ocg;
    wt[size_t(((g * s.cg + ci) * s.ocg + o) * shape.kk + tap)] = ws[size_t(i)];
  }
  std::vector<T> y(ref.y.size()), gx(ref.gx.size()), gw(ref.gw.size());
  // the first image alone, then the rest: launches past image 0 offset every pointer
  const int64_t chunks[2][2] = {{0, 1}, {1, a.n - 1}};
  // no K split, and splits of two k-tiles
  for (const int64_t k_per_split : {int64_t(1) << 40, int64_t(2 * BK)}) {
    for (const auto& chunk : chunks) {
      if (chunk[1] == 0) continue;
      const int64_t n0 = chunk[0], nc = chunk[1];
      if (!run_pass<X, BK, V>(forward_gemm<T>(a, xs.data(), ws.data(), bs.data(), y.data(), n0, nc, V), k_per_split,
                              "forward") ||
          !run_pass<X, BK, V>(grad_input_gemm<T>(a, gys.data(), wt.data(), gx.data(), n0, nc, V), k_per_split,
                              "grad-input") ||
          !run_pass<X, BK, V>(grad_weight_gemm<T>(a, xs.data(), gys.data(), gw.data(), n0, nc, V), k_per_split,
                              "grad-weight"))
        return -1;
    }
    const int bad = mismatches(y, ref.y) + mismatches(gx, ref.gx) + mismatches(gw, ref.gw);
    if (bad) return bad;
  }
  return 0;
}

}  // namespace

int main() {
  std::mt19937 rng(20261202);
  int failed = 0;
  const struct {
    const char* name;
    int (*run)(const Geometry&, std::mt19937&);
  } tiles[] = {
      {"float 128x8 runs of 4", check<float, 128, 8, 4>},
      {"double-path 64x8 runs of 2", check<float, 64, 8, 2>},
      {"half 128x32 runs of 8", check<tg::half, 128, 32, 8>},
  };
  for (const auto& t : tiles) {
    int errors = 0;
    for (int cases = 0; cases < 150 && errors == 0; ++cases) {
      const Geometry s = random_geometry(rng);
      errors = t.run(s, rng);
      if (errors != 0) {
        const ConvArgs& a = s.a;
        std::printf("%s: n %lld c %lld oc %lld groups %lld h %lld w %lld k %lldx%lld stride %lldx%lld pad %lldx%lld dil %lldx%lld: %d errors\n",
                    t.name, (long long)a.n, (long long)a.c, (long long)a.oc, (long long)a.groups, (long long)a.h,
                    (long long)a.w, (long long)a.kh, (long long)a.kw, (long long)a.stride_h, (long long)a.stride_w,
                    (long long)a.pad_h, (long long)a.pad_w, (long long)a.dil_h, (long long)a.dil_w, errors);
      }
    }
    std::printf("conv passes, %s: %d errors\n", t.name, errors < 0 ? 1 : errors);
    failed += errors != 0;
  }
  return failed ? 1 : 0;
}

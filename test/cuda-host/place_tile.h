// For the host checks of test/cuda-host. place_tile: an operand tile (X x BK, element (x, k) at
// src[x * BK + k]) placed in a shared-memory stage as the cp.async and register
// loaders place it (run_origin + Layout::offset), one float per 16-bit slot; unused
// slots stay NaN. False if a run is misaligned, leaves the stage or lands on
// another run's slots.
#pragma once
#include <cmath>
#include <random>
#include <vector>

#include "../../cuda/gemm_tile.cuh"

template <typename L>
bool place_tile(std::vector<float>& stage, const std::vector<float>& src) {
  constexpr int V = L::kV;
  for (int q = 0; q < L::X * L::BK / V; ++q) {
    int x, k;
    tg::cuda::tile::run_origin<L::X, L::BK, V>(q, L::kKMajor, x, k);
    const int off = L::offset(x, k);
    if (off % 16 != 0 || off + 16 > L::kBytes) return false;
    for (int e = 0; e < V; ++e) {
      float& slot = stage[off / 2 + e];
      if (!std::isnan(slot)) return false;
      slot = src[(L::kKMajor ? x : x + e) * L::BK + (L::kKMajor ? k + e : k)];
    }
  }
  return true;
}

// A block tile's two operands for math M: small integers (exact products and sums in
// float), as element arrays and placed in their stages.
template <typename M>
struct TileOperands {
  std::vector<float> a, b;    // (row, k) and (column, k)
  std::vector<float> sa, sb;  // the stages of A and B
  bool placed;

  explicit TileOperands(std::mt19937& rng)
      : a(M::BM * M::BK), b(M::BN * M::BK), sa(M::LayoutA::kBytes / 2, NAN), sb(M::LayoutB::kBytes / 2, NAN) {
    std::uniform_int_distribution<int> value(-8, 8);
    for (float& v : a) v = float(value(rng));
    for (float& v : b) v = float(value(rng));
    placed = place_tile<typename M::LayoutA>(sa, a) && place_tile<typename M::LayoutB>(sb, b);
  }

  // elements of d (BM x BN, row-major) that differ from A * B
  int mismatches(const std::vector<float>& d) const {
    int bad = 0;
    for (int m = 0; m < M::BM; ++m)
      for (int n = 0; n < M::BN; ++n) {
        float want = 0.f;
        for (int k = 0; k < M::BK; ++k) want += a[m * M::BK + k] * b[n * M::BK + k];
        bad += !(d[m * M::BN + n] == want);
      }
    return bad;
  }
};

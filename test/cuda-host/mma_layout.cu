// Host-side check of the sm_80 tensor-core tile (TcMath in cuda/tile_math.cuh), the
// one every fp16/bf16 GEMM and convolution runs on below sm_90a: operand tiles are
// placed in a stage as the loaders place them (run_origin + HalfLayout::offset), each
// warp's ldmatrix.x4 (.trans for an operand stored x-contiguous) is emulated from the
// lane addresses TcMath computes, and mma.sync m16n8k16 from its fragment layouts,
// both as the PTX ISA defines them:
//   ldmatrix   lane l gives the row address of row l % 8 of matrix l / 8; register j
//              of lane t holds row t / 4, elements 2 (t % 4) and + 1 of matrix j
//              (.trans: elements (2 (t % 4), t / 4) and (2 (t % 4) + 1, t / 4))
//   mma A      a[0..3] = (g, 2c), (g + 8, 2c), (g, 2c + 8), (g + 8, 2c + 8), pairs
//              along k; B b[0..1] = k 2c / 2c + 8 (pairs along k), column g;
//              C (g, 2c + e), (g + 8, 2c + e)            g = lane / 4, c = lane % 4
// The product must equal A*B for every transpose pair, and TcMath::position must
// name where each accumulator lands. Prints one line per case; exits non-zero on a
// mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "../../cuda/gemm_tile.cuh"
#include "place_tile.h"

using namespace tg::cuda::tile;

namespace {

// ldmatrix.x4 (trans or not) from 32 lane byte offsets: out[lane][j][0..1]
void ldmatrix(const std::vector<float>& stage, const int (&addr)[32], bool trans, float (&out)[32][4][2]) {
  for (int t = 0; t < 32; ++t)
    for (int j = 0; j < 4; ++j)
      for (int e = 0; e < 2; ++e) {
        const int row = trans ? 2 * (t % 4) + e : t / 4, col = trans ? t / 4 : 2 * (t % 4) + e;
        out[t][j][e] = stage[addr[8 * j + row] / 2 + col];
      }
}

template <bool KA, bool KB>
int check(std::mt19937& rng) {
  using M = TcMath<tg::half, KA, KB>;
  const TileOperands<M> ops(rng);
  const std::vector<float>& sa = ops.sa;
  const std::vector<float>& sb = ops.sb;
  int errors = ops.placed ? 0 : 1;
  std::vector<float> d(M::BM * M::BN, NAN);
  for (int warp = 0; warp < M::kThreads / 32; ++warp) {
    const int row0 = warp / M::kWarpsN * M::WM, col0 = warp % M::kWarpsN * M::WN;
    float acc[32][M::MI][M::NI][4] = {};
    for (int ks = 0; ks < M::BK; ks += 16) {
      float af[M::MI][32][4][2], bf[M::NI / 2][32][4][2];
      for (int i = 0; i < M::MI; ++i) {
        int addr[32];
        for (int l = 0; l < 32; ++l) addr[l] = M::a_lane_offset(l, row0 + i * 16, ks);
        ldmatrix(sa, addr, !KA, af[i]);
      }
      for (int j = 0; j < M::NI; j += 2) {
        int addr[32];
        for (int l = 0; l < 32; ++l) addr[l] = M::b_lane_offset(l, col0 + j * 8, ks);
        ldmatrix(sb, addr, !KB, bf[j / 2]);
      }
      // mma: gather each fragment back to (row, k) / (k, col) by the fragment layouts
      for (int i = 0; i < M::MI; ++i)
        for (int j = 0; j < M::NI; ++j) {
          float A[16][16], B[16][8];
          for (int t = 0; t < 32; ++t) {
            const int g = t / 4, c = t % 4;
            for (int e = 0; e < 2; ++e) {
              A[g][2 * c + e] = af[i][t][0][e];
              A[g + 8][2 * c + e] = af[i][t][1][e];
              A[g][2 * c + 8 + e] = af[i][t][2][e];
              A[g + 8][2 * c + 8 + e] = af[i][t][3][e];
              // B registers: b[j][0] = r[0] or r[2], b[j][1] = r[1] or r[3] of the x4
              const int r0 = j % 2 == 0 ? 0 : 2;
              B[2 * c + e][g] = bf[j / 2][t][r0][e];
              B[2 * c + 8 + e][g] = bf[j / 2][t][r0 + 1][e];
            }
          }
          for (int t = 0; t < 32; ++t) {
            const int g = t / 4, c = t % 4;
            for (int e = 0; e < 4; ++e) {
              const int r = g + (e >> 1) * 8, col = 2 * c + (e & 1);
              float s = 0.f;
              for (int k = 0; k < 16; ++k) s += A[r][k] * B[k][col];
              acc[t][i][j][e] += s;
            }
          }
        }
    }
    for (int t = 0; t < 32; ++t)
      for (int i = 0; i < M::MI; ++i)
        for (int j = 0; j < M::NI; ++j)
          for (int e = 0; e < 4; ++e) {
            int r, c;
            M::position(warp, t, i, j, e, r, c);
            if (r < 0 || r >= M::BM || c < 0 || c >= M::BN || !std::isnan(d[r * M::BN + c])) return errors + 1;
            d[r * M::BN + c] = acc[t][i][j][e];
          }
  }
  errors += ops.mismatches(d);
  std::printf("mma.sync tile, A %s, B %s: %d errors\n", KA ? "k-major" : "m-major", KB ? "k-major" : "n-major", errors);
  return errors;
}

}  // namespace

int main() {
  std::mt19937 rng(11);
  int errors = check<true, true>(rng) + check<true, false>(rng);
  errors += check<false, true>(rng) + check<false, false>(rng);
  return errors == 0 ? 0 : 1;
}

// Host-side check of the sm_90a GEMM's shared-memory contract (cuda/wgmma_math.cuh),
// runnable without a GPU: operand tiles are placed in a stage exactly as the
// cp.async loader places them (run_origin + WgmmaLayout::offset), then read back the
// way wgmma reads shared memory through the descriptors WgmmaMath builds (decoded
// from their bits), following the PTX ISA's canonical 128-byte-swizzled layouts:
//   K-major   ((8,m),(T,2k)) : ((8T,SBO),(1,T))
//   MN-major  ((T,8,m),(8,k)) : ((1,T,LBO),(8T,SBO))      T = 8 16-bit elements
// with Swizzle<3,4,3> on the byte address (bits 4-6 ^= bits 7-9). The product of
// what is read must equal the product of the operands, for every transpose pair,
// and the accumulator positions must cover the block tile once. The TMA boxes of the
// warp-specialized kernel (wgmma_ws.cuh) must land every element where the layout
// puts it: a box of 64-element lines is written line after line, 128 bytes each, with
// the same Swizzle<3,4,3> applied to the byte address (CU_TENSOR_MAP_SWIZZLE_128B).
// Prints one line per case and exits non-zero on any mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "../../cuda/gemm_tile.cuh"
#include "place_tile.h"
#include "../../cuda/wgmma_math.cuh"

using namespace tg::cuda::tile;

namespace {

struct Descriptor {
  uint32_t start, lbo, sbo, swizzle;
};
Descriptor decode(uint64_t d) {
  return {uint32_t(d & 0x3FFF) << 4, uint32_t(d >> 16 & 0x3FFF) << 4, uint32_t(d >> 32 & 0x3FFF) << 4,
          uint32_t(d >> 62)};
}

// Byte address wgmma reads for element (x, k) of its operand (x < 64 for A, < BN
// for B; k < 16).
uint32_t read_address(const Descriptor& d, bool mn_major, int x, int k) {
  const uint32_t off = mn_major ? (x % 64) * 2 + x / 64 * d.lbo + k % 8 * 128 + k / 8 * d.sbo
                                : x % 8 * 128 + x / 8 * d.sbo + k * 2;
  const uint32_t a = d.start + off;
  return a ^ ((a >> 7 & 7) << 4);
}

template <int BN, bool KA, bool KB>
int check(std::mt19937& rng) {
  using M = WgmmaMath<tg::half, BN, KA, KB>;
  using LA = typename M::LayoutA;
  using LB = typename M::LayoutB;
  const TileOperands<M> ops(rng);
  const std::vector<float>& sa = ops.sa;
  const std::vector<float>& sb = ops.sb;
  int errors = ops.placed ? 0 : 1;
  const uint32_t base_a = 0, base_b = LA::kBytes;  // a 1024-aligned stage: A then B
  std::vector<float> d(M::BM * M::BN, 0.f);
  for (int w = 0; w < M::kThreads / 128; ++w)
    for (int s = 0; s < M::BK / 16; ++s) {
      uint64_t da, db;
      M::descriptors(w, s, base_a, base_b, da, db);
      const Descriptor ea = decode(da), eb = decode(db);
      if (ea.swizzle != 1 || eb.swizzle != 1) ++errors;
      for (int m = 0; m < 64; ++m)
        for (int n = 0; n < M::BN; ++n) {
          float sum = 0.f;
          for (int k = 0; k < 16; ++k) {
            const uint32_t pa = read_address(ea, !KA, m, k) - base_a, pb = read_address(eb, !KB, n, k) - base_b;
            if (pa >= uint32_t(LA::kBytes) || pb >= uint32_t(LB::kBytes)) return errors + 1;
            sum += sa[pa / 2] * sb[pb / 2];
          }
          d[(w * 64 + m) * M::BN + n] += sum;
        }
    }
  errors += ops.mismatches(d);
  std::vector<int> hits(M::BM * M::BN, 0);
  for (int t = 0; t < M::kThreads; ++t)
    for (int v = 0; v < M::kAcc; ++v) {
      int r, c;
      M::position(t, v, r, c);
      if (r < 0 || r >= M::BM || c < 0 || c >= M::BN) return errors + 1;
      ++hits[r * M::BN + c];
    }
  for (int h : hits) errors += h != 1;
  std::printf("wgmma 128x%d tile, A %s, B %s: %d errors\n", BN, KA ? "k-major" : "m-major", KB ? "k-major" : "n-major",
              errors);
  return errors;
}

}  // namespace

// Elements of a layout's tile that its TMA boxes put elsewhere than Layout::offset:
// K-major, one box of X lines of 64 k; X-major, X / 64 boxes of 64 k-lines of 64 x.
template <typename L>
int tma_mismatches() {
  int bad = 0;
  for (int x = 0; x < L::X; ++x)
    for (int k = 0; k < L::BK; ++k) {
      const int box = L::kKMajor ? 0 : x / 64, line = L::kKMajor ? x : k, i = L::kKMajor ? k : x % 64;
      const int linear = line * 128 + i * 2;
      const int tma = box * L::kXBlockBytes + (linear ^ ((linear >> 7 & 7) << 4));
      const int along = L::kKMajor ? k % 8 : x % 8;  // position in the layout's 16-byte run
      const int layout = L::offset(L::kKMajor ? x : x - along, L::kKMajor ? k - along : k) + along * 2;
      bad += tma != layout;
    }
  return bad;
}

template <int X, bool KMajor>
int check_tma() {
  const int bad = tma_mismatches<WgmmaLayout<X, KMajor>>();
  std::printf("tma boxes, %d-row tile %s: %d errors\n", X, KMajor ? "k-major" : "x-major", bad);
  return bad;
}

int main() {
  std::mt19937 rng(7);
  int errors = 0;
  errors += check<128, true, true>(rng) + check<128, true, false>(rng);
  errors += check<128, false, true>(rng) + check<128, false, false>(rng);
  errors += check<256, true, true>(rng) + check<256, true, false>(rng);
  errors += check<256, false, true>(rng) + check<256, false, false>(rng);
  errors += check_tma<128, true>() + check_tma<128, false>() + check_tma<256, true>() + check_tma<256, false>();
  return errors == 0 ? 0 : 1;
}

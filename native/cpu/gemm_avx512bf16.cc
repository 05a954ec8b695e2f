// bfloat16 GEMM on AVX512-BF16 dot products (compiled with -mavx512bf16 and the AVX-512
// flags). VDPBF16PS adds, in each of a zmm's 16 fp32 lanes, the products of a pair of
// bf16 values from each source: 32 multiply-adds per instruction where VFMADD231PS does
// 16. Measured on the Zen 5 this was written on (one core, 12 independent chains), both
// issue about two per cycle, so bf16 pairs take K twice as fast as the widening path's
// fp32 FMAs. It is the bfloat16 path of the "avx512bf16" ISA (isa.cc), whose other
// dtypes run AVX-512's kernels, and it runs inside the shared loop nest
// (gemm_driver.inc, through GemmPath) as the AMX path does: blocking, threading and
// batching are the driver's, K is cut into slices that sum in fp32 as for every half
// GEMM, and each fp32 tile is merged with beta C, finished (bias, activation) and
// rounded to bfloat16 once, by the same code as the widening path.
//
// The micro-kernel keeps a 12 x 32 fp32 tile of C in 24 zmm accumulators, as the fp32
// kernel does: per pair of K steps it loads the B pair row as two vectors, broadcasts
// each row's A pair (one 32-bit lane) and issues 24 VDPBF16PS.
//
// Packed layouts, for A panels of 12 rows and B panels of 32 columns alike: K is
// zero-padded to even length, and pair p of row (or column) r holds K steps 2p and
// 2p + 1 side by side, at [p][r][2]. Rows or columns past the matrix edge are zero.
//
// VDPBF16PS reads subnormal inputs (the accumulator too) as zero and flushes subnormal
// results to zero, whatever MXCSR says, and rounds each of its two additions to nearest
// even in turn. bfloat16 has float32's exponent range, so only magnitudes below 2^-126
// are affected; the widening path keeps them.
#include <algorithm>
#include <cstdint>
#include <cstring>

#define TG_ISA_NS avx512bf16
#if !defined(__x86_64__)
// Another architecture: isa.cc never selects this ISA there, but its table names this
// entry, which then is the portable kernel's widening path.
#include "gemm_ukernel_portable.h"
#else
#include <immintrin.h>

#include "gemm_pack.h"
#include "gemm_path.h"
#include "transpose16_avx512.h"

namespace tg::cpu::avx512bf16 {

namespace {

constexpr int kRows = 12, kCols = 32;  // the register tile: rows of A panels, columns of B

// The first n of 32 lanes.
constexpr __mmask32 lanes32(int64_t n) { return n >= 32 ? ~0u : (1u << n) - 1; }
constexpr __mmask16 lanes16(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1); }

// 16-bit lane 2j of the result takes lane j of the first source, lane 2j + 1 lane j of
// the second: the first 16 columns of two K steps interleaved (kLow), or the last 16.
alignas(64) constexpr uint16_t kLow[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                           8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
alignas(64) constexpr uint16_t kHigh[32] = {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
                                            24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63};

// kc K steps of w <= R contiguous values each (step p at src + p * ld) into the pair
// layout of an R-wide panel: two steps at a time, interleaved 16-bit lane by lane. The
// copying half of packing (transposed A, row-major B).
template <int R>
void pairs_from_steps(const bfloat16* src, int64_t ld, int64_t kc, int64_t w, bfloat16* dst) {
  static_assert(R <= 32, "one vector of 32 bf16 per K step");
  const __mmask32 valid = lanes32(w);  // masked-off lanes load as zero: the panel's padding
  const __m512i low = _mm512_load_si512(kLow), high = _mm512_load_si512(kHigh);
  for (int64_t p = 0; p < kc; p += 2, dst += 2 * R) {
    const __m512i s0 = _mm512_maskz_loadu_epi16(valid, src + p * ld);
    // an odd K's last pair takes a zero partner
    const __m512i s1 = p + 1 < kc ? _mm512_maskz_loadu_epi16(valid, src + (p + 1) * ld) : _mm512_setzero_si512();
    _mm512_mask_storeu_epi16(dst, lanes32(2 * R), _mm512_permutex2var_epi16(s0, low, s1));
    if constexpr (2 * R > 32)
      _mm512_mask_storeu_epi16(dst + 32, lanes32(2 * R - 32), _mm512_permutex2var_epi16(s0, high, s1));
  }
}

// w <= R runs of kc contiguous K steps each (run r at src + r * ld) into the pair
// layout of an R-wide panel. A pair of steps is one 32-bit lane, so this is a 32-bit
// transpose, in 16 x 16 blocks: 16 runs by 32 steps. The transposing half of packing
// (row-major A, transposed B). GCC 12's false maybe-uninitialized on the shuffles'
// _mm512_undefined_* (transpose16_avx512.h) is silenced here, where they are inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <int R>
void pairs_from_runs(const bfloat16* src, int64_t ld, int64_t kc, int64_t w, bfloat16* dst) {
  for (int64_t p = 0; p < kc; p += 32) {
    const int64_t steps = std::min<int64_t>(32, kc - p);
    // steps past kc load as zero, so an odd K's last pair has a zero partner
    const __mmask32 load = lanes32(steps);
    const int64_t pairs = (steps + 1) / 2;
#pragma GCC unroll 2
    for (int r0 = 0; r0 < R; r0 += 16) {
      __m512 v[16];
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r)
        v[r] = r0 + r < w ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(load, src + (r0 + r) * ld + p))
                          : _mm512_setzero_ps();
      transpose16(v);
      // v[q]: pair p / 2 + q of runs r0 .. r0 + 15; runs past w are the zero padding
      const __mmask16 store = lanes16(R - r0);
      for (int64_t q = 0; q < pairs; ++q) _mm512_mask_storeu_ps(dst + (p / 2 + q) * 2 * R + 2 * r0, store, v[q]);
    }
  }
}
#pragma GCC diagnostic pop

}  // namespace

template <>
struct GemmPath<bfloat16> {
  using Panel = bfloat16;
  static int64_t depth(int64_t kc) { return (kc + 1) / 2 * 2; }
  struct Scope {};
};

template <typename T>
struct Ukernel;

template <>
struct Ukernel<bfloat16> {
  static constexpr int MR = kRows, NR = kCols;
  // t = the 12 x 32 product of an A and a B panel packed for kc steps of K
  static void product(int64_t kc, const bfloat16* a, const bfloat16* b, float* t) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const int64_t pairs = GemmPath<bfloat16>::depth(kc) / 2;
    for (int64_t q = 0; q < pairs; ++q, a += 2 * MR, b += 2 * NR) {
      // B panels start 64-byte aligned and a pair row is 128 bytes
      const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
#pragma GCC unroll 12
      for (int i = 0; i < MR; ++i) {
        int32_t pair;
        std::memcpy(&pair, a + 2 * i, sizeof pair);
        const __m512bh ai = (__m512bh)_mm512_set1_epi32(pair);
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
      }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      _mm512_store_ps(t + i * NR, acc[i][0]);
      _mm512_store_ps(t + i * NR + 16, acc[i][1]);
    }
  }
};

// Rows [i0, i0 + mc) and K steps [p0, p0 + kc) of op(A) into 12-row panels of the
// layout above, where op(A)(i, p) is a[i * lda + p], or a[p * lda + i] when trans.
template <>
void pack_a<bfloat16, kRows, bfloat16>(bool trans, const bfloat16* a, int64_t lda, int64_t i0,
                                       int64_t mc, int64_t p0, int64_t kc, bfloat16* dst) {
  const int64_t depth = GemmPath<bfloat16>::depth(kc);
  for (int64_t ir = 0; ir < mc; ir += kRows, dst += kRows * depth) {
    const int64_t mr = std::min<int64_t>(kRows, mc - ir);
    if (trans) pairs_from_steps<kRows>(a + p0 * lda + i0 + ir, lda, kc, mr, dst);
    else pairs_from_runs<kRows>(a + (i0 + ir) * lda + p0, lda, kc, mr, dst);
  }
}

// K steps [p0, p0 + kc) and columns [j0, j0 + nc) of op(B) into 32-column panels of
// the layout above, where op(B)(p, j) is b[p * ldb + j], or b[j * ldb + p] when trans.
template <>
void pack_b<bfloat16, kCols, bfloat16>(bool trans, const bfloat16* b, int64_t ldb, int64_t p0,
                                       int64_t kc, int64_t j0, int64_t nc, bfloat16* dst) {
  const int64_t depth = GemmPath<bfloat16>::depth(kc);
  for (int64_t jr = 0; jr < nc; jr += kCols, dst += kCols * depth) {
    const int64_t nr = std::min<int64_t>(kCols, nc - jr);
    if (trans) pairs_from_runs<kCols>(b + (j0 + jr) * ldb + p0, ldb, kc, nr, dst);
    else pairs_from_steps<kCols>(b + p0 * ldb + j0 + jr, ldb, kc, nr, dst);
  }
}

}  // namespace tg::cpu::avx512bf16
#endif

#include "gemm_driver.inc"

namespace tg::cpu::avx512bf16 {
template void gemm<bfloat16>(const GemmArgs&, const bfloat16*, const bfloat16*, bfloat16*);
}  // namespace tg::cpu::avx512bf16

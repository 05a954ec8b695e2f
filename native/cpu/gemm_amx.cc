// bfloat16 GEMM on Intel AMX tiles (compiled with -mamx-tile -mamx-bf16 and the AVX-512
// flags). TDPBF16PS multiplies a 16 x 32 bf16 tile of A by a 32 x 16 bf16 tile of B
// (stored as 16 rows of K pairs) into a 16 x 16 fp32 tile, accumulating in fp32. The
// micro-step computes a 32 x 32 block of C as 2 x 2 tiles: four accumulators (tmm0-3),
// two A tiles (tmm4-5) and two B tiles (tmm6-7), all eight tile registers, so every tile
// loaded feeds two products. It is the bfloat16 path of the "amx" ISA (isa.cc), whose
// other dtypes run AVX-512's kernels, and it runs inside the shared loop nest
// (gemm_driver.inc, through GemmPath): blocking, threading and batching are the
// driver's, K is cut into slices that sum in fp32 as for every half GEMM, and each
// fp32 tile is merged with beta C, finished (bias, activation) and rounded to bfloat16
// once, by the same code as the widening path.
//
// Packed layouts. K is zero-padded to a multiple of 32 and the last panel of M or N to
// 32 rows or columns, so every tile loads whole and the padding adds exact zeros:
//   A panel, 32 rows: for each block of 32 K steps, its 32 rows of 32 bf16 (64 bytes),
//     so an A tile is 16 consecutive rows of the block.
//   B panel, 32 columns: the VNNI pair layout [K/2][32][2] (K steps 2p and 2p + 1 of a
//     column side by side), so a B tile is 16 pair rows, 64 of their 128 bytes.
//
// TDPBF16PS reads subnormal inputs as zero and flushes subnormal results to zero,
// whatever MXCSR says. bfloat16 has float32's exponent range, so only magnitudes below
// 2^-126 are affected; the widening path keeps them.
//
// float16 has no such path here. AVX512-FP16 computes in fp16 itself: its products and
// sums round to fp16's 11-bit significand at every step, where half GEMMs must
// accumulate in fp32. The tile instruction for fp16 that does accumulate in fp32
// (TDPFP16PS, AMX-FP16) first ships in Granite Rapids and needs -mamx-fp16, which
// arrived in gcc 13; the gcc 12 here has only -mamx-tile, -mamx-int8 and -mamx-bf16.
// float16 GEMMs therefore stay on the widening fp32 kernels.
#include <algorithm>
#include <cstdint>

#define TG_ISA_NS amx
#if !defined(__x86_64__)
// Another architecture: isa.cc never selects AMX there, but its table names this
// entry, which then is the portable kernel's widening path.
#include "gemm_ukernel_portable.h"
#else
#include <immintrin.h>

#include "gemm_pack.h"
#include "gemm_path.h"

namespace tg::cpu::amx {

namespace {

constexpr int kTileRows = 16;       // rows of every tile
constexpr int kTileRowBytes = 64;   // bytes of a tile row: 32 bf16 or 16 fp32
constexpr int64_t kKBlock = 32;     // K steps in one row of an A tile
constexpr int kPanel = 2 * kTileRows;  // rows of an A panel, columns of a B panel
constexpr int64_t kPairRow = 2 * kPanel;  // entries of one pair row of a B panel

// Palette 1 with tmm0-7 all 16 rows of 64 bytes. It lives in constant-initialized
// static storage: gcc 12's _tile_loadconfig tells the compiler it reads only the first
// 8 bytes, so stores filling a configuration on the stack could be dropped or moved
// past LDTILECFG.
struct alignas(64) TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads 64 bytes");
constexpr TileConfig kTileConfig = {
    1, 0, {},
    {kTileRowBytes, kTileRowBytes, kTileRowBytes, kTileRowBytes, kTileRowBytes, kTileRowBytes,
     kTileRowBytes, kTileRowBytes},
    {kTileRows, kTileRows, kTileRows, kTileRows, kTileRows, kTileRows, kTileRows, kTileRows}};

// The tile configuration belongs to a thread: it is loaded before the thread's first
// tile instruction, and the tiles are released when its tasks are done, so their
// registers return to the initial state that context switches need not save.
struct TileScope {
  TileScope() { _tile_loadconfig(&kTileConfig); }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

// Zeros what a 32 x 32 block of an A panel holds past its first `rows` rows and
// `cols` columns (K steps).
void zero_a_pad(bfloat16* block, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < kPanel; ++r)
    std::fill(block + r * kKBlock + (r < rows ? cols : 0), block + (r + 1) * kKBlock, bfloat16{0});
}

}  // namespace

template <>
struct GemmPath<bfloat16> {
  using Panel = bfloat16;
  static int64_t depth(int64_t kc) { return (kc + kKBlock - 1) / kKBlock * kKBlock; }
  using Scope = TileScope;
};

template <typename T>
struct Ukernel;

template <>
struct Ukernel<bfloat16> {
  static constexpr int MR = kPanel, NR = kPanel;
  // t = the 32 x 32 product of an A and a B panel packed for kc steps of K
  static void product(int64_t kc, const bfloat16* a, const bfloat16* b, float* t) {
    // gcc 12's _tile_loadd names only the address, not the memory it reads: make the
    // stores that packed the panels happen before the loads
    __asm__ volatile("" ::: "memory");
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    constexpr int64_t kBlockEntries = kPanel * kKBlock;  // per K block, in A and in B panels
    const int64_t blocks = GemmPath<bfloat16>::depth(kc) / kKBlock;
    for (int64_t kb = 0; kb < blocks; ++kb, a += kBlockEntries, b += kBlockEntries) {
      _tile_loadd(4, a, kTileRowBytes);                    // rows 0-15
      _tile_loadd(5, a + kTileRows * kKBlock, kTileRowBytes);  // rows 16-31
      _tile_loadd(6, b, kPairRow * 2);                     // columns 0-15
      _tile_loadd(7, b + 2 * kTileRows, kPairRow * 2);     // columns 16-31
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
    constexpr int64_t kRowBytes = NR * sizeof(float);
    _tile_stored(0, t, kRowBytes);
    _tile_stored(1, t + kTileRows, kRowBytes);
    _tile_stored(2, t + kTileRows * NR, kRowBytes);
    _tile_stored(3, t + kTileRows * NR + kTileRows, kRowBytes);
  }
};

// Rows [i0, i0 + mc) and K steps [p0, p0 + kc) of op(A) into 32-row panels of the
// layout above, where op(A)(i, p) is a[i * lda + p], or a[p * lda + i] when trans.
template <>
void pack_a<bfloat16, kPanel, bfloat16>(bool trans, const bfloat16* a, int64_t lda, int64_t i0,
                                        int64_t mc, int64_t p0, int64_t kc, bfloat16* dst) {
  const int64_t depth = GemmPath<bfloat16>::depth(kc);
  for (int64_t ir = 0; ir < mc; ir += kPanel, dst += kPanel * depth) {
    const int64_t mr = std::min<int64_t>(kPanel, mc - ir);
    for (int64_t p = 0; p < depth; p += kKBlock) {
      const int64_t w = std::min(kKBlock, kc - p);
      bfloat16* block = dst + p * kPanel;
      if (trans) {
        // a K step of op(A) is a contiguous run of a: transpose into the block
        for (int64_t q = 0; q < w; ++q) {
          const bfloat16* s = a + (p0 + p + q) * lda + i0 + ir;
          for (int64_t r = 0; r < mr; ++r) block[r * kKBlock + q] = s[r];
        }
      } else {
        for (int64_t r = 0; r < mr; ++r)
          std::copy(a + (i0 + ir + r) * lda + p0 + p, a + (i0 + ir + r) * lda + p0 + p + w,
                    block + r * kKBlock);
      }
      zero_a_pad(block, mr, w);
    }
  }
}

// K steps [p0, p0 + kc) and columns [j0, j0 + nc) of op(B) into 32-column panels of
// pair rows, where op(B)(p, j) is b[p * ldb + j], or b[j * ldb + p] when trans.
template <>
void pack_b<bfloat16, kPanel, bfloat16>(bool trans, const bfloat16* b, int64_t ldb, int64_t p0,
                                        int64_t kc, int64_t j0, int64_t nc, bfloat16* dst) {
  // K steps per pass over the columns of a transposed B: the 16 KiB of panel they
  // fill stays in L1 while each column writes its entries
  constexpr int64_t kTransposeSteps = 256;
  const int64_t depth = GemmPath<bfloat16>::depth(kc);
  // entry (p, j) of a panel: pair row p / 2, column j, position p % 2 in the pair
  auto at = [](bfloat16* panel, int64_t p, int64_t j) { return panel + (p / 2) * kPairRow + 2 * j + (p & 1); };
  for (int64_t jr = 0; jr < nc; jr += kPanel, dst += kPanel * depth) {
    const int64_t nr = std::min<int64_t>(kPanel, nc - jr);
    if (trans) {
      // a column of op(B) is a contiguous run of b
      for (int64_t p1 = 0; p1 < kc; p1 += kTransposeSteps) {
        const int64_t p2 = std::min(kc, p1 + kTransposeSteps);
        for (int64_t j = 0; j < nr; ++j) {
          const bfloat16* s = b + (j0 + jr + j) * ldb + p0;
          for (int64_t p = p1; p < p2; ++p) *at(dst, p, j) = s[p];
        }
      }
    } else {
      // a K step of op(B) is a contiguous run of b, spread to every other entry
      for (int64_t p = 0; p < kc; ++p) {
        const bfloat16* s = b + (p0 + p) * ldb + j0 + jr;
        bfloat16* d = at(dst, p, 0);
        for (int64_t j = 0; j < nr; ++j) d[2 * j] = s[j];
      }
    }
    // zeros past column nr, and in every column past K step kc
    for (int64_t p = 0; p < depth; ++p) {
      bfloat16* d = at(dst, p, 0);
      for (int64_t j = p < kc ? nr : 0; j < kPanel; ++j) d[2 * j] = bfloat16{0};
    }
  }
}

}  // namespace tg::cpu::amx
#endif

#include "gemm_driver.inc"

namespace tg::cpu::amx {
template void gemm<bfloat16>(const GemmArgs&, const bfloat16*, const bfloat16*, bfloat16*);
}  // namespace tg::cpu::amx

// Packing op(A) and op(B) into the micro-panel layouts the micro-kernels read,
// straight from the strided (possibly transposed) source: no transposed copies of
// whole matrices, and only the last, partial micro-panel is zero-padded.
//   A block (mc x kc): panels of MR rows; panel q holds kc steps of MR values.
//   B panel (kc x nc): panels of NR columns; panel q holds kc steps of NR values.
// Each ISA file includes this after defining TG_ISA_NS, so the code lands in that
// ISA's namespace with its flags; an ISA may specialize strip_transpose for its
// panel widths.
//
// Half-precision sources (float16, bfloat16) are widened to the compute type (float)
// while they are packed, so the fp32 micro-kernels run on them unchanged and
// accumulate in fp32; narrow() rounds the finished tile back when C is stored. An
// ISA may specialize widen/narrow (F16C in gemm_avx2.cc).
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "../half.h"

namespace tg::cpu::TG_ISA_NS {

// n contiguous values of storage type S as the compute type T.
template <typename S, typename T>
inline void widen(const S* src, int64_t n, T* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(Compute<S>::load(src[i]));
}

// n contiguous compute-type values rounded (to nearest even) into storage type S.
template <typename T, typename S>
inline void narrow(const T* src, int64_t n, S* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = Compute<S>::store(src[i]);
}

// R source rows of kc contiguous values each (row r at src + r * ld) into kc steps
// of R values: dst[p * R + r] = src[r * ld + p]. The transposing half of packing
// (row-major A, transposed B); blocks of 8 steps keep every source row's reads
// within a cache line or two.
template <typename T, int R>
void strip_transpose(const T* src, int64_t ld, int64_t kc, T* dst) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int r = 0; r < R; ++r) {
      const T* s = src + r * ld + p;
      for (int q = 0; q < 8; ++q) dst[(p + q) * R + r] = s[q];
    }
  }
  for (; p < kc; ++p)
    for (int r = 0; r < R; ++r) dst[p * R + r] = src[r * ld + p];
}

// kc steps of R contiguous values each (step p at src + p * ld) into dst[p * R + r]:
// the copying half of packing (transposed A, row-major B).
template <typename T, int R>
void strip_copy(const T* src, int64_t ld, int64_t kc, T* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    const T* s = src + p * ld;
    T* d = dst + p * R;
    for (int r = 0; r < R; ++r) d[r] = s[r];
  }
}

// A partial strip (w < R rows or columns valid): the same layouts with zeros past w.
template <typename T, int R, typename S>
void strip_partial(bool transposing, const S* src, int64_t ld, int64_t kc, int64_t w, T* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    T* d = dst + p * R;
    for (int64_t r = 0; r < w; ++r)
      d[r] = static_cast<T>(Compute<S>::load(transposing ? src[r * ld + p] : src[p * ld + r]));
    for (int64_t r = w; r < R; ++r) d[r] = T(0);
  }
}

// strip_transpose from a half source: blocks of kWidenSteps steps of every row are
// widened (contiguous, so vector conversions apply) into a stack block, which the
// compute type's strip_transpose then transposes.
constexpr int64_t kWidenSteps = 64;
template <typename T, int R, typename S>
void strip_transpose_from(const S* src, int64_t ld, int64_t kc, T* dst) {
  if constexpr (std::is_same_v<S, T>) {
    strip_transpose<T, R>(src, ld, kc, dst);
  } else {
    alignas(64) T block[R * kWidenSteps];
    for (int64_t p = 0; p < kc; p += kWidenSteps) {
      const int64_t w = std::min(kWidenSteps, kc - p);
      for (int r = 0; r < R; ++r) widen(src + r * ld + p, w, block + r * kWidenSteps);
      strip_transpose<T, R>(block, kWidenSteps, w, dst + p * R);
    }
  }
}

template <typename T, int R, typename S>
void strip_copy_from(const S* src, int64_t ld, int64_t kc, T* dst) {
  if constexpr (std::is_same_v<S, T>) {
    strip_copy<T, R>(src, ld, kc, dst);
  } else {
    for (int64_t p = 0; p < kc; ++p) widen(src + p * ld, R, dst + p * R);
  }
}

// Rows [i0, i0 + mc) and columns [p0, p0 + kc) of op(A), where op(A)(i, p) is
// a[i * lda + p], or a[p * lda + i] when trans.
template <typename T, int MR, typename S>
void pack_a(bool trans, const S* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            T* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR, dst += MR * kc) {
    const int64_t mr = std::min<int64_t>(MR, mc - ir);
    const S* src = trans ? a + p0 * lda + (i0 + ir) : a + (i0 + ir) * lda + p0;
    if (mr < MR) strip_partial<T, MR>(!trans, src, lda, kc, mr, dst);
    else if (trans) strip_copy_from<T, MR>(src, lda, kc, dst);
    else strip_transpose_from<T, MR>(src, lda, kc, dst);
  }
}

// Rows [p0, p0 + kc) and columns [j0, j0 + nc) of op(B), where op(B)(p, j) is
// b[p * ldb + j], or b[j * ldb + p] when trans.
template <typename T, int NR, typename S>
void pack_b(bool trans, const S* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            T* dst) {
  for (int64_t jr = 0; jr < nc; jr += NR, dst += NR * kc) {
    const int64_t nr = std::min<int64_t>(NR, nc - jr);
    const S* src = trans ? b + (j0 + jr) * ldb + p0 : b + p0 * ldb + (j0 + jr);
    if (nr < NR) strip_partial<T, NR>(trans, src, ldb, kc, nr, dst);
    else if (trans) strip_transpose_from<T, NR>(src, ldb, kc, dst);
    else strip_copy_from<T, NR>(src, ldb, kc, dst);
  }
}

}  // namespace tg::cpu::TG_ISA_NS

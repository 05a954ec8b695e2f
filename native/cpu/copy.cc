// Data-movement kernels: strided copy (transpose, permute, expand, slice, cat,
// pad), where, and the triangle mask. They move elements of 1, 2, 4 or 8 bytes
// without arithmetic, so one instance serves every dtype of that size.
#include <cstring>
#include <stdexcept>

#include "../kernels.h"
#include "walk.h"

namespace tg::cpu {

namespace {

template <int N>
struct Word {
  char b[N];
};

template <typename W>
void copy_words(const Iter& it, W* dst, const W* src) {
  walk(it, [&](const int64_t* off, int64_t n, const int64_t* s) {
    W* d = dst + off[0];
    const W* p = src + off[1];
    if (s[0] == 1 && s[1] == 1) {
      std::memcpy(d, p, n * sizeof(W));
    } else {
      for (int64_t i = 0; i < n; ++i) d[i * s[0]] = p[i * s[1]];
    }
  });
}

template <typename W>
void where_words(const Iter& it, W* out, const boolean* c, const W* a, const W* b) {
  walk(it, [&](const int64_t* off, int64_t n, const int64_t* s) {
    for (int64_t i = 0; i < n; ++i)
      out[off[0] + i * s[0]] =
          c[off[1] + i * s[1]].value ? a[off[2] + i * s[2]] : b[off[3] + i * s[3]];
  });
}

template <typename F>
void by_size(int esize, F&& f) {
  switch (esize) {
    case 1: return f(Word<1>{});
    case 2: return f(Word<2>{});
    case 4: return f(Word<4>{});
    case 8: return f(Word<8>{});
  }
  throw std::invalid_argument("unsupported element size");
}

}  // namespace

void copy_strided(const Iter& it, int esize, char* dst, const char* src) {
  by_size(esize, [&](auto w) {
    using W = decltype(w);
    copy_words(it, reinterpret_cast<W*>(dst), reinterpret_cast<const W*>(src));
  });
}

void where(const Iter& it, int esize, char* out, const boolean* cond, const char* a, const char* b) {
  by_size(esize, [&](auto w) {
    using W = decltype(w);
    where_words(it, reinterpret_cast<W*>(out), cond, reinterpret_cast<const W*>(a),
                reinterpret_cast<const W*>(b));
  });
}

// (batch, rows, cols): keeps the lower (or upper) triangle from diagonal k and
// zeroes the rest; zero is the all-zero bit pattern for every dtype we store.
void tri(int esize, const char* src, char* dst, int64_t batch, int64_t rows, int64_t cols,
         int64_t k, bool upper) {
  parallel_for(batch * rows, (kParallelGrain + cols - 1) / (cols ? cols : 1),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   int64_t i = r % rows;
                   // keep j <= i + k (lower) or j >= i + k (upper)
                   int64_t edge = i + k;
                   const char* s = src + r * cols * esize;
                   char* d = dst + r * cols * esize;
                   for (int64_t j = 0; j < cols; ++j) {
                     bool keep = upper ? j >= edge : j <= edge;
                     if (keep)
                       std::memcpy(d + j * esize, s + j * esize, esize);
                     else
                       std::memset(d + j * esize, 0, esize);
                   }
                 }
               });
}

}  // namespace tg::cpu

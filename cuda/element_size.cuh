// Byte-level kernels (fill, copy_strided, where, tri, index_select, gather) move
// elements without arithmetic, so they are written once per element size over an
// unsigned word of that size, and every dtype of the size shares the instance.
#pragma once
#include <cstdint>
#include <stdexcept>

namespace tg::cuda {

template <int N>
struct WordOfSize;
template <> struct WordOfSize<1> { using type = uint8_t; };
template <> struct WordOfSize<2> { using type = uint16_t; };
template <> struct WordOfSize<4> { using type = uint32_t; };
template <> struct WordOfSize<8> { using type = uint64_t; };
// The unsigned integer type of N bytes.
template <int N>
using word_t = typename WordOfSize<N>::type;

// Calls f(W{}) with W the word of esize bytes: one dispatch per launch.
template <typename F>
void by_element_size(int esize, F&& f) {
  switch (esize) {
    case 1: return f(word_t<1>{});
    case 2: return f(word_t<2>{});
    case 4: return f(word_t<4>{});
    case 8: return f(word_t<8>{});
  }
  throw std::invalid_argument("unsupported element size");
}

}  // namespace tg::cuda

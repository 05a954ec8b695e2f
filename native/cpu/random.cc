// Philox4x32-10 (Salmon et al., SC'11): a counter-based generator, so element i
// depends only on (seed, offset + i) and never on how threads split the work.
#include <cmath>
#include <stdexcept>

#include "../kernels.h"
#include "instantiate.h"
#include "walk.h"

namespace tg::cpu {

namespace {

struct Block {
  uint32_t w[4];
};

inline Block philox(uint64_t counter, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// 53 random bits -> [0, 1)
inline double unit(uint32_t hi, uint32_t lo) {
  uint64_t bits = (uint64_t(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

}  // namespace

// uniform: [p1, p2); normal: mean p1, std p2; randint: integers in [p1, p2)
template <typename T>
void random(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset, double p1,
            double p2) {
  using L = Compute<T>;
  using C = compute_t<T>;
  if (kind != RandomKind::uniform && kind != RandomKind::normal && kind != RandomKind::randint)
    throw std::invalid_argument("random: unknown kind");
  parallel_for(n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      Block r = philox(offset + static_cast<uint64_t>(i), seed);
      double u = unit(r.w[0], r.w[1]);
      double v;
      switch (kind) {
        case RandomKind::uniform: {
          v = p1 + (p2 - p1) * u;
          // rounding to a narrow float type can land on the open end; step back
          C c = static_cast<C>(L::load(L::store(v)));
          if (static_cast<double>(c) >= p2 && p2 > p1) v = std::nextafter(static_cast<C>(p2), static_cast<C>(p1));
          break;
        }
        case RandomKind::normal: {
          double u2 = unit(r.w[2], r.w[3]);
          // Box-Muller with u in (0, 1] so the log is finite
          v = p1 + p2 * std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(6.283185307179586 * u2);
          break;
        }
        case RandomKind::randint: {
          double span = p2 - p1;
          v = p1 + std::floor(u * span);
          if (v >= p2) v = p2 - 1;
          break;
        }
        default: v = 0; break;
      }
      out[i] = L::store(static_cast<C>(v));
    }
  });
}

#define TG_INST(T) \
  template void random<T>(RandomKind, T*, int64_t, uint64_t, uint64_t, double, double);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu

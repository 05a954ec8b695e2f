// The random kernels over native/random_math.h's generator: element i depends only on
// (seed, offset + i), never on how the threads split the work.
#include <stdexcept>

#include "../kernels.h"
#include "../random_math.h"
#include "instantiate.h"
#include "walk.h"

namespace tg::cpu {

template <typename T>
void random(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset, double p1,
            double p2) {
  if (kind != RandomKind::uniform && kind != RandomKind::normal && kind != RandomKind::randint)
    throw std::invalid_argument("random: unknown kind");
  parallel_for(n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = random_element<T>(kind, offset + static_cast<uint64_t>(i), seed, p1, p2);
  });
}

#define TG_INST(T) \
  template void random<T>(RandomKind, T*, int64_t, uint64_t, uint64_t, double, double);
TG_FOR_ALL_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cpu

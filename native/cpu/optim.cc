// Fused optimizer updates. Each element is read once (parameter, gradient, state),
// updated in registers and written once, where the same rule written with ops takes
// five to eight passes over memory and as many temporaries. One call covers every
// tensor of a parameter group: the tensors are cut into pieces of kPiece elements
// and the pool shares the pieces, so a model of many small tensors still runs on
// every thread and pays one call.
//
// The rules and their constants are native/optim_math.h's, which cuda/optim.cu runs too.
#include <algorithm>
#include <array>
#include <utility>
#include <stdexcept>
#include <vector>

#include "../kernels.h"
#include "../optim_math.h"
#include "instantiate.h"
#include "threadpool.h"

namespace tg::cpu {

namespace {

constexpr int64_t kPiece = 8192;        // elements of one piece of work
constexpr int64_t kPiecesPerTask = 4;   // a thread takes at least this many pieces

// One piece of one tensor under rule K with its choices fixed as Bits. The buffers come
// in as __restrict__ parameters, which is what lets the compiler vectorize the loop:
// with the choices as run-time branches or possible aliasing it ran scalar, ~8 ns an
// element for Adam.
template <OptimKind K, typename T, typename G, unsigned Bits>
void update_loop(const OptimRule<compute_t<T>>& r, const OptimStepConsts<compute_t<T>>& k, T* __restrict__ p,
                 const G* __restrict__ g, T* __restrict__ s0, T* __restrict__ s1, T* __restrict__ s2,
                 G* __restrict__ copy, int64_t begin, int64_t end) {
  const OptimBuffers<T, G> x{p, g, s0, s1, s2, copy};
  for (int64_t i = begin; i < end; ++i) optim_update<K>(r, k, FixedChoices<Bits>{}, x, i);
}

template <typename T, typename G>
using Loop = void (*)(const OptimRule<compute_t<T>>&, const OptimStepConsts<compute_t<T>>&, T*, const G*, T*, T*,
                      T*, G*, int64_t, int64_t);

// The bits of `mask`, in order, set from the low bits of `packed`; extract inverts it.
constexpr unsigned deposit(unsigned packed, unsigned mask) {
  unsigned out = 0;
  for (unsigned bit = 1; bit != 0; bit <<= 1)
    if (mask & bit) {
      if (packed & 1u) out |= bit;
      packed >>= 1;
    }
  return out;
}
constexpr unsigned extract(unsigned bits, unsigned mask) {
  unsigned out = 0, next = 1;
  for (unsigned bit = 1; bit != 0; bit <<= 1)
    if (mask & bit) {
      if (bits & bit) out |= next;
      next <<= 1;
    }
  return out;
}
constexpr int popcount(unsigned v) { return v == 0 ? 0 : int(v & 1u) + popcount(v >> 1); }

template <OptimKind K, typename T, typename G, size_t... J>
constexpr std::array<Loop<T, G>, sizeof...(J)> loops(std::index_sequence<J...>) {
  return {update_loop<K, T, G, deposit(J, kOptimChoicesRead<K>)>...};
}

// Rule K's loop for a tensor's choices: one instance for each combination K reads.
template <OptimKind K, typename T, typename G>
Loop<T, G> loop_for(unsigned choices) {
  constexpr unsigned kRead = kOptimChoicesRead<K>;
  static constexpr auto kLoops = loops<K, T, G>(std::make_index_sequence<size_t{1} << popcount(kRead)>());
  return kLoops[extract(choices, kRead)];
}

// What one tensor runs in this call.
template <typename T, typename G>
struct TensorPlan {
  Loop<T, G> loop;
  OptimStepConsts<compute_t<T>> consts;
};

struct Piece {
  int64_t tensor, begin, end;
};

}  // namespace

template <typename T, typename G>
void optim_step(const OptimArgs& a, const OptimTensor* tensors, int64_t count) {
  using C = compute_t<T>;
  if (a.found_inf != nullptr && *a.found_inf != 0.0f) return;  // overflow: skip the whole update
  Loop<T, G> (*select)(unsigned);
  switch (a.kind) {
    case OptimKind::sgd: select = loop_for<OptimKind::sgd, T, G>; break;
    case OptimKind::adam: select = loop_for<OptimKind::adam, T, G>; break;
    case OptimKind::rmsprop: select = loop_for<OptimKind::rmsprop, T, G>; break;
    case OptimKind::adagrad: select = loop_for<OptimKind::adagrad, T, G>; break;
    default: throw std::invalid_argument("optimStep: unknown optimizer kind");
  }
  const OptimRule<C> rule = optim_rule<C>(a);
  std::vector<TensorPlan<T, G>> plans;
  std::vector<Piece> pieces;
  for (int64_t k = 0; k < count; ++k) {
    const OptimTensor& t = tensors[k];
    plans.push_back({select(optim_choices(a, t)), optim_step_consts<C>(a, t)});
    for (int64_t b = 0; b < t.numel; b += kPiece) pieces.push_back({k, b, std::min(t.numel, b + kPiece)});
  }
  parallel_for(static_cast<int64_t>(pieces.size()), kPiecesPerTask, [&](int64_t p0, int64_t p1) {
    for (int64_t q = p0; q < p1; ++q) {
      const OptimTensor& t = tensors[pieces[q].tensor];
      const TensorPlan<T, G>& plan = plans[pieces[q].tensor];
      plan.loop(rule, plan.consts, static_cast<T*>(t.param), static_cast<const G*>(t.grad),
                static_cast<T*>(t.state[0]), static_cast<T*>(t.state[1]), static_cast<T*>(t.state[2]),
                static_cast<G*>(t.copy), pieces[q].begin, pieces[q].end);
    }
  });
}

#define TG_INST(T, G) template void optim_step<T, G>(const OptimArgs&, const OptimTensor*, int64_t);
TG_FOR_OPTIM_TYPE_PAIRS(TG_INST)
#undef TG_INST

}  // namespace tg::cpu

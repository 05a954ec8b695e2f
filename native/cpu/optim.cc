// Fused optimizer updates. Each element is read once (parameter, gradient, state),
// updated in registers and written once, where the same rule written with ops takes
// five to eight passes over memory and as many temporaries. One call covers every
// tensor of a parameter group: the tensors are cut into pieces of kPiece elements
// and the pool shares the pieces, so a model of many small tensors still runs on
// every thread and pays one call.
//
// The rules are torch.optim's single-tensor formulas (PyTorch 2.x), in Compute<T>
// (float for float32 and both half types, double for float64):
//   g = grad * inv_scale, negated when maximizing
//   sgd:     g += wd p; buf = step == 1 ? g : momentum buf + (1 - dampening) g;
//            g = nesterov ? g + momentum buf : buf; p -= lr g
//   adam:    AdamW: p *= 1 - lr wd, else g += wd p; m = lerp(m, g, 1 - b1);
//            v = b2 v + (1 - b2) g^2; vmax = max(vmax, v) (amsgrad);
//            p -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   rmsprop: g += wd p; s = alpha s + (1 - alpha) g^2; ga = lerp(ga, g, 1 - alpha)
//            (centered); avg = sqrt(s - ga^2 or s) + eps;
//            momentum: buf = momentum buf + g / avg, p -= lr buf; else p -= lr g / avg
//   adagrad: g += wd p; s += g^2; p -= lr / (1 + (t - 1) lr_decay) g / (sqrt(s) + eps)
//
// Master weights (mixed precision): with T = float and G a half type, the parameter
// and state are float32 and the gradient is half; the same pass rounds the updated
// float32 parameter into the half copy the model computes with (OptimTensor::copy).
#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <stdexcept>
#include <vector>

#include "../kernels.h"
#include "instantiate.h"
#include "threadpool.h"

namespace tg::cpu {

namespace {

constexpr int64_t kPiece = 8192;        // elements of one piece of work
constexpr int64_t kPiecesPerTask = 4;   // a thread takes at least this many pieces

// torch's lerp: a + w (b - a) for w < 0.5, else b - (b - a) (1 - w)
template <typename C>
inline C lerp(C a, C b, C w) {
  return w < C(0.5) ? a + w * (b - a) : b - (b - a) * (C(1) - w);
}

// Parameter and state of storage type T, gradient and parameter copy of type G.
template <typename T, typename G>
struct Ptrs {
  T* p;
  const G* g;
  T* s0;
  T* s1;
  T* s2;
  G* copy;
  explicit Ptrs(const OptimTensor& t)
      : p(static_cast<T*>(t.param)),
        g(static_cast<const G*>(t.grad)),
        s0(static_cast<T*>(t.state[0])),
        s1(static_cast<T*>(t.state[1])),
        s2(static_cast<T*>(t.state[2])),
        copy(static_cast<G*>(t.copy)) {}
  // the updated parameter, into the parameter and its half copy when there is one
  template <typename C>
  void put(int64_t i, C v) const {
    p[i] = Compute<T>::store(v);
    if (copy) copy[i] = Compute<G>::store(v);
  }
};

template <typename T, typename G>
void sgd(const OptimArgs& a, const OptimTensor& t, int64_t b, int64_t e) {
  using L = Compute<T>;
  using C = compute_t<T>;
  Ptrs<T, G> x(t);
  const C lr = static_cast<C>(a.lr), wd = static_cast<C>(a.weight_decay);
  const C gs = static_cast<C>(a.maximize ? -a.inv_scale : a.inv_scale);
  const C mom = static_cast<C>(a.momentum), keep = static_cast<C>(1 - a.dampening);
  const bool first = t.step == 1, decay = a.weight_decay != 0;
  for (int64_t i = b; i < e; ++i) {
    const C p = L::load(x.p[i]);
    C g = static_cast<C>(Compute<G>::load(x.g[i])) * gs;
    if (decay) g += wd * p;
    if (x.s0) {
      const C buf = first ? g : mom * L::load(x.s0[i]) + keep * g;
      x.s0[i] = L::store(buf);
      g = a.nesterov ? g + mom * buf : buf;
    }
    x.put(i, p - lr * g);
  }
}

// The Adam element loop with every per-call choice (weight decay and its kind,
// amsgrad, which of lerp's two forms, a half copy to write) fixed at compile time and
// no aliasing, so the compiler vectorizes it: with them as run-time branches it ran
// scalar, ~8 ns an element.
template <typename T, typename G, bool kDecay, bool kDecoupled, bool kAmsgrad, bool kLowWeight, bool kCopy>
void adam_loop(const OptimArgs& a, const OptimTensor& t, int64_t b, int64_t e) {
  using L = Compute<T>;
  using C = compute_t<T>;
  T* __restrict p_ = static_cast<T*>(t.param);
  const G* __restrict g_ = static_cast<const G*>(t.grad);
  G* __restrict copy_ = static_cast<G*>(t.copy);
  T* __restrict m_ = static_cast<T*>(t.state[0]);
  T* __restrict v_ = static_cast<T*>(t.state[1]);
  T* __restrict vmax_ = static_cast<T*>(t.state[2]);
  const double step = static_cast<double>(t.step);
  const C step_size = static_cast<C>(a.lr / (1 - std::pow(a.beta1, step)));
  const C bc2_sqrt = static_cast<C>(std::sqrt(1 - std::pow(a.beta2, step)));
  const C w1 = static_cast<C>(1 - a.beta1), b2 = static_cast<C>(a.beta2), w2 = static_cast<C>(1 - a.beta2);
  const C eps = static_cast<C>(a.eps), wd = static_cast<C>(a.weight_decay);
  const C shrink = static_cast<C>(1 - a.lr * a.weight_decay);
  const C gs = static_cast<C>(a.maximize ? -a.inv_scale : a.inv_scale);
  for (int64_t i = b; i < e; ++i) {
    C p = L::load(p_[i]);
    C g = static_cast<C>(Compute<G>::load(g_[i])) * gs;
    if constexpr (kDecay) {
      if constexpr (kDecoupled) p *= shrink;
      else g += wd * p;
    }
    const C m0 = L::load(m_[i]);
    // torch's lerp(m0, g, w1), its form chosen by w1 < 0.5 once per call
    const C m = kLowWeight ? m0 + w1 * (g - m0) : g - (g - m0) * (C(1) - w1);
    C v = b2 * L::load(v_[i]) + w2 * g * g;
    m_[i] = L::store(m);
    v_[i] = L::store(v);
    if constexpr (kAmsgrad) {
      v = std::max(L::load(vmax_[i]), v);
      vmax_[i] = L::store(v);
    }
    p = p - step_size * (m / (std::sqrt(v) / bc2_sqrt + eps));
    p_[i] = L::store(p);
    if constexpr (kCopy) copy_[i] = Compute<G>::store(p);
  }
}

using Update = void (*)(const OptimArgs&, const OptimTensor&, int64_t, int64_t);

// The adam_loop instance for choice bits: decay, decoupled, amsgrad, low weight, copy (4..0).
template <typename T, typename G, size_t... Bits>
constexpr std::array<Update, sizeof...(Bits)> adam_loops(std::index_sequence<Bits...>) {
  return {adam_loop<T, G, bool(Bits & 16), bool(Bits & 8), bool(Bits & 4), bool(Bits & 2), bool(Bits & 1)>...};
}

template <typename T, typename G>
void adam(const OptimArgs& a, const OptimTensor& t, int64_t b, int64_t e) {
  static constexpr auto kLoops = adam_loops<T, G>(std::make_index_sequence<32>());
  const int decay = a.weight_decay != 0, ams = t.state[2] != nullptr, copy = t.copy != nullptr;
  const int low = 1 - a.beta1 < 0.5;
  kLoops[(decay << 4) | (int(a.decoupled) << 3) | (ams << 2) | (low << 1) | copy](a, t, b, e);
}

template <typename T, typename G>
void rmsprop(const OptimArgs& a, const OptimTensor& t, int64_t b, int64_t e) {
  using L = Compute<T>;
  using C = compute_t<T>;
  Ptrs<T, G> x(t);
  const C lr = static_cast<C>(a.lr), wd = static_cast<C>(a.weight_decay);
  const C alpha = static_cast<C>(a.alpha), w = static_cast<C>(1 - a.alpha);
  const C eps = static_cast<C>(a.eps), mom = static_cast<C>(a.momentum);
  const C gs = static_cast<C>(a.maximize ? -a.inv_scale : a.inv_scale);
  const bool decay = a.weight_decay != 0;
  for (int64_t i = b; i < e; ++i) {
    const C p = L::load(x.p[i]);
    C g = static_cast<C>(Compute<G>::load(x.g[i])) * gs;
    if (decay) g += wd * p;
    const C sq = alpha * L::load(x.s0[i]) + w * g * g;
    x.s0[i] = L::store(sq);
    C var = sq;
    if (x.s2) {
      const C ga = lerp(L::load(x.s2[i]), g, w);
      x.s2[i] = L::store(ga);
      var = sq - ga * ga;
    }
    const C avg = std::sqrt(var) + eps;
    if (x.s1) {
      const C buf = mom * L::load(x.s1[i]) + g / avg;
      x.s1[i] = L::store(buf);
      x.put(i, p - lr * buf);
    } else {
      x.put(i, p - lr * (g / avg));
    }
  }
}

template <typename T, typename G>
void adagrad(const OptimArgs& a, const OptimTensor& t, int64_t b, int64_t e) {
  using L = Compute<T>;
  using C = compute_t<T>;
  Ptrs<T, G> x(t);
  const C clr = static_cast<C>(a.lr / (1 + static_cast<double>(t.step - 1) * a.lr_decay));
  const C wd = static_cast<C>(a.weight_decay), eps = static_cast<C>(a.eps);
  const C gs = static_cast<C>(a.maximize ? -a.inv_scale : a.inv_scale);
  const bool decay = a.weight_decay != 0;
  for (int64_t i = b; i < e; ++i) {
    const C p = L::load(x.p[i]);
    C g = static_cast<C>(Compute<G>::load(x.g[i])) * gs;
    if (decay) g += wd * p;
    const C s = L::load(x.s0[i]) + g * g;
    x.s0[i] = L::store(s);
    x.put(i, p - clr * (g / (std::sqrt(s) + eps)));
  }
}

struct Piece {
  int64_t tensor, begin, end;
};

}  // namespace

template <typename T, typename G>
void optim_step(const OptimArgs& a, const OptimTensor* tensors, int64_t count) {
  if (a.found_inf != nullptr && *a.found_inf != 0.0f) return;  // overflow: skip the whole update
  Update update;
  switch (a.kind) {
    case OptimKind::sgd: update = sgd<T, G>; break;
    case OptimKind::adam: update = adam<T, G>; break;
    case OptimKind::rmsprop: update = rmsprop<T, G>; break;
    case OptimKind::adagrad: update = adagrad<T, G>; break;
    default: throw std::invalid_argument("optimStep: unknown optimizer kind");
  }
  std::vector<Piece> pieces;
  for (int64_t k = 0; k < count; ++k)
    for (int64_t b = 0; b < tensors[k].numel; b += kPiece)
      pieces.push_back({k, b, std::min(tensors[k].numel, b + kPiece)});
  parallel_for(static_cast<int64_t>(pieces.size()), kPiecesPerTask, [&](int64_t p0, int64_t p1) {
    for (int64_t q = p0; q < p1; ++q) update(a, tensors[pieces[q].tensor], pieces[q].begin, pieces[q].end);
  });
}

#define TG_INST(T, G) template void optim_step<T, G>(const OptimArgs&, const OptimTensor*, int64_t);
TG_FOR_OPTIM_TYPE_PAIRS(TG_INST)
#undef TG_INST

}  // namespace tg::cpu

// The element rules of the fused optimizer updates, shared by native/cpu/optim.cc and
// cuda/optim.cu: both backends round the same constants on the host and run the same
// element functions, so the GPU evaluates the expressions the CPU tests check; only
// how the elements are walked differs. The rules are torch.optim's single-tensor
// formulas (PyTorch 2.x), computed in C = compute_t<T> (float for float32 and both
// half types, double for float64):
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
// where lerp(a, b, w) is torch's: a + w (b - a) for w < 0.5, else b - (b - a) (1 - w).
//
// Master weights (mixed precision): with T = float and G a half type, the parameter
// and state are float32 and the gradient is half; the same pass rounds the updated
// float32 parameter into the half copy the model computes with (OptimTensor::copy).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "host_device.h"
#include "kernels.h"

namespace tg {

// The branches an update takes, as bits fixed for one tensor in one call. The CPU
// compiles a loop for each combination a rule reads, since a run-time branch keeps
// the loop scalar; the GPU reads them from the tensor's slot, alike in every thread.
struct OptimChoice {
  static constexpr unsigned decay = 1u << 0;       // weight_decay != 0
  static constexpr unsigned decoupled = 1u << 1;   // adam: the decay shrinks the parameter (AdamW)
  static constexpr unsigned nesterov = 1u << 2;    // sgd
  static constexpr unsigned low_weight = 1u << 3;  // the rule's lerp weight is < 0.5
  static constexpr unsigned first_step = 1u << 4;  // sgd: the momentum buffer starts as the gradient
  static constexpr unsigned state0 = 1u << 5;      // which state slots the tensor has:
  static constexpr unsigned state1 = 1u << 6;      // momentum, amsgrad, centered
  static constexpr unsigned state2 = 1u << 7;
};

// The choices each rule reads.
template <OptimKind K>
constexpr unsigned kOptimChoicesRead =
    K == OptimKind::sgd       ? OptimChoice::decay | OptimChoice::nesterov | OptimChoice::first_step | OptimChoice::state0
    : K == OptimKind::adam    ? OptimChoice::decay | OptimChoice::decoupled | OptimChoice::low_weight | OptimChoice::state2
    : K == OptimKind::rmsprop ? OptimChoice::decay | OptimChoice::low_weight | OptimChoice::state1 | OptimChoice::state2
                              : OptimChoice::decay;

// Choices as an unsigned (the GPU's) or as FixedChoices (a CPU loop's constant).
template <unsigned Bits>
struct FixedChoices {
  TG_HOST_DEVICE constexpr operator unsigned() const { return Bits; }
};
template <typename Choices>
TG_HOST_DEVICE constexpr bool has(Choices c, unsigned choice) {
  return (static_cast<unsigned>(c) & choice) != 0;
}

inline unsigned optim_choices(const OptimArgs& a, const OptimTensor& t) {
  const double lerp_weight = a.kind == OptimKind::adam ? 1 - a.beta1 : 1 - a.alpha;
  return (a.weight_decay != 0 ? OptimChoice::decay : 0u) | (a.decoupled ? OptimChoice::decoupled : 0u) |
         (a.nesterov ? OptimChoice::nesterov : 0u) | (lerp_weight < 0.5 ? OptimChoice::low_weight : 0u) |
         (t.step == 1 ? OptimChoice::first_step : 0u) | (t.state[0] ? OptimChoice::state0 : 0u) |
         (t.state[1] ? OptimChoice::state1 : 0u) | (t.state[2] ? OptimChoice::state2 : 0u);
}

// The group's hyperparameters, rounded to C once per call.
template <typename C>
struct OptimRule {
  C lr, wd, gs;          // gs: inv_scale, negated when maximizing
  C mom, keep;           // sgd, rmsprop: momentum; sgd: 1 - dampening
  C w1, b2, w2, shrink;  // adam: 1 - beta1, beta2, 1 - beta2, 1 - lr wd (AdamW)
  C alpha, w_alpha;      // rmsprop: alpha, 1 - alpha
  C eps;
};

template <typename C>
OptimRule<C> optim_rule(const OptimArgs& a) {
  OptimRule<C> r;
  r.lr = static_cast<C>(a.lr);
  r.wd = static_cast<C>(a.weight_decay);
  r.gs = static_cast<C>(a.maximize ? -a.inv_scale : a.inv_scale);
  r.mom = static_cast<C>(a.momentum);
  r.keep = static_cast<C>(1 - a.dampening);
  r.w1 = static_cast<C>(1 - a.beta1);
  r.b2 = static_cast<C>(a.beta2);
  r.w2 = static_cast<C>(1 - a.beta2);
  r.shrink = static_cast<C>(1 - a.lr * a.weight_decay);
  r.alpha = static_cast<C>(a.alpha);
  r.w_alpha = static_cast<C>(1 - a.alpha);
  r.eps = static_cast<C>(a.eps);
  return r;
}

// The constants that come from a tensor's own step count.
template <typename C>
struct OptimStepConsts {
  C step_size;  // adam: lr / (1 - beta1^t); adagrad: lr / (1 + (t - 1) lr_decay)
  C bc2_sqrt;   // adam: sqrt(1 - beta2^t)
};

template <typename C>
OptimStepConsts<C> optim_step_consts(const OptimArgs& a, const OptimTensor& t) {
  const double step = static_cast<double>(t.step);
  OptimStepConsts<C> k;
  k.step_size = a.kind == OptimKind::adagrad ? static_cast<C>(a.lr / (1 + (step - 1) * a.lr_decay))
                                             : static_cast<C>(a.lr / (1 - std::pow(a.beta1, step)));
  k.bc2_sqrt = static_cast<C>(std::sqrt(1 - std::pow(a.beta2, step)));
  return k;
}

TG_HOST_DEVICE inline float sqrt_of(float v) { return sqrtf(v); }
TG_HOST_DEVICE inline double sqrt_of(double v) { return sqrt(v); }

template <typename C, typename Choices>
TG_HOST_DEVICE inline C lerp(Choices c, C a, C b, C w) {
  return has(c, OptimChoice::low_weight) ? a + w * (b - a) : b - (b - a) * (C(1) - w);
}

// One tensor's buffers: parameter and state of storage type T, gradient and the half
// copy of G (there is a copy exactly when G is not T). A CPU loop builds it from
// __restrict__ pointers, which lets the compiler vectorize through it.
template <typename T, typename G>
struct OptimBuffers {
  using C = compute_t<T>;
  T* p;
  const G* g;
  T* s0;
  T* s1;
  T* s2;
  G* copy;

  TG_HOST_DEVICE C param(int64_t i) const { return Compute<T>::load(p[i]); }
  TG_HOST_DEVICE C grad(const OptimRule<C>& r, int64_t i) const {
    return static_cast<C>(Compute<G>::load(g[i])) * r.gs;
  }
  TG_HOST_DEVICE C load(const T* s, int64_t i) const { return Compute<T>::load(s[i]); }
  TG_HOST_DEVICE void store(T* s, int64_t i, C v) const { s[i] = Compute<T>::store(v); }
  // the updated parameter, into the parameter and its half copy
  TG_HOST_DEVICE void put(int64_t i, C v) const {
    p[i] = Compute<T>::store(v);
    if constexpr (!std::is_same_v<T, G>) copy[i] = Compute<G>::store(v);
  }
};

// The scaled gradient with L2 weight decay folded in: g += wd p.
template <typename B, typename C, typename Choices>
TG_HOST_DEVICE inline C decayed_grad(const OptimRule<C>& r, Choices c, const B& x, int64_t i, C p) {
  const C g = x.grad(r, i);
  return has(c, OptimChoice::decay) ? g + r.wd * p : g;
}

template <typename B, typename C = typename B::C, typename Choices>
TG_HOST_DEVICE inline void sgd_update(const OptimRule<C>& r, const OptimStepConsts<C>&, Choices c, const B& x,
                                      int64_t i) {
  const C p = x.param(i);
  C g = decayed_grad(r, c, x, i, p);
  if (has(c, OptimChoice::state0)) {  // momentum
    const C buf = has(c, OptimChoice::first_step) ? g : r.mom * x.load(x.s0, i) + r.keep * g;
    x.store(x.s0, i, buf);
    g = has(c, OptimChoice::nesterov) ? g + r.mom * buf : buf;
  }
  x.put(i, p - r.lr * g);
}

template <typename B, typename C = typename B::C, typename Choices>
TG_HOST_DEVICE inline void adam_update(const OptimRule<C>& r, const OptimStepConsts<C>& k, Choices c, const B& x,
                                       int64_t i) {
  C p = x.param(i);
  C g;
  if (has(c, OptimChoice::decoupled)) {  // AdamW
    if (has(c, OptimChoice::decay)) p *= r.shrink;
    g = x.grad(r, i);
  } else {
    g = decayed_grad(r, c, x, i, p);
  }
  const C m = lerp(c, x.load(x.s0, i), g, r.w1);
  C v = r.b2 * x.load(x.s1, i) + r.w2 * g * g;
  x.store(x.s0, i, m);
  x.store(x.s1, i, v);
  if (has(c, OptimChoice::state2)) {  // amsgrad: std::max(vmax, v)
    const C vmax = x.load(x.s2, i);
    v = vmax < v ? v : vmax;
    x.store(x.s2, i, v);
  }
  x.put(i, p - k.step_size * (m / (sqrt_of(v) / k.bc2_sqrt + r.eps)));
}

template <typename B, typename C = typename B::C, typename Choices>
TG_HOST_DEVICE inline void rmsprop_update(const OptimRule<C>& r, const OptimStepConsts<C>&, Choices c, const B& x,
                                          int64_t i) {
  const C p = x.param(i);
  C g = decayed_grad(r, c, x, i, p);
  const C sq = r.alpha * x.load(x.s0, i) + r.w_alpha * g * g;
  x.store(x.s0, i, sq);
  C var = sq;
  if (has(c, OptimChoice::state2)) {  // centered
    const C ga = lerp(c, x.load(x.s2, i), g, r.w_alpha);
    x.store(x.s2, i, ga);
    var = sq - ga * ga;
  }
  const C avg = sqrt_of(var) + r.eps;
  if (has(c, OptimChoice::state1)) {  // momentum
    const C buf = r.mom * x.load(x.s1, i) + g / avg;
    x.store(x.s1, i, buf);
    x.put(i, p - r.lr * buf);
  } else {
    x.put(i, p - r.lr * (g / avg));
  }
}

template <typename B, typename C = typename B::C, typename Choices>
TG_HOST_DEVICE inline void adagrad_update(const OptimRule<C>& r, const OptimStepConsts<C>& k, Choices c, const B& x,
                                          int64_t i) {
  const C p = x.param(i);
  C g = decayed_grad(r, c, x, i, p);
  const C sum = x.load(x.s0, i) + g * g;
  x.store(x.s0, i, sum);
  x.put(i, p - k.step_size * (g / (sqrt_of(sum) + r.eps)));
}

// Element i of a tensor under rule K.
template <OptimKind K, typename B, typename C = typename B::C, typename Choices>
TG_HOST_DEVICE inline void optim_update(const OptimRule<C>& r, const OptimStepConsts<C>& k, Choices c, const B& x,
                                        int64_t i) {
  if constexpr (K == OptimKind::sgd) sgd_update(r, k, c, x, i);
  if constexpr (K == OptimKind::adam) adam_update(r, k, c, x, i);
  if constexpr (K == OptimKind::rmsprop) rmsprop_update(r, k, c, x, i);
  if constexpr (K == OptimKind::adagrad) adagrad_update(r, k, c, x, i);
}

}  // namespace tg

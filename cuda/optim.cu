// Fused optimizer updates for a whole parameter group in one launch (or one per 48
// tensors): each element's parameter, gradient and state are read once, updated in
// registers and written once, where the same rule written with ops takes five to
// eight passes over memory. The tensors travel as a multi-tensor table
// (multi_tensor.cuh), so many small parameters still fill the device.
//
// The rules are exactly native/cpu/optim.cc's (torch.optim's single-tensor formulas),
// in float for float32 and both half types, double for float64; see that file for the
// formulas. Which state slots are present (not the flags) selects momentum, amsgrad
// and centered, as there. Every constant is rounded to the compute type on the host,
// the way the CPU rounds it; per-tensor constants (Adam's bias corrections, Adagrad's
// decayed rate) come from the tensor's own step.
//
// Mixed precision: every gradient is multiplied by inv_scale, and when found_inf
// (a device float) is non-zero every thread returns before touching memory, so a
// skipped step never costs a copy back to the host. With float32 master weights
// (T = float, G a half type) the gradient is read as G and the updated parameter is
// also rounded into the half copy the model computes with, in the same pass.
#include <cmath>

#include "../native/cpu/instantiate.h"
#include "common.cuh"
#include "multi_tensor.cuh"

namespace tg::cuda {

namespace {

constexpr int kOptimSlots = 40;

// The group's hyperparameters, rounded to the compute type C as the CPU rounds them.
template <typename C>
struct OptimRule {
  OptimKind kind;
  C lr, wd, gs;           // gs: inv_scale, negated when maximizing
  C mom, keep;            // sgd, rmsprop: momentum; sgd: 1 - dampening
  C w1, b2, w2, shrink;   // adam: 1 - beta1, beta2, 1 - beta2, 1 - lr wd (AdamW)
  C alpha, w_alpha;       // rmsprop: alpha, 1 - alpha
  C eps;
  bool decay;             // weight_decay != 0
  bool nesterov, decoupled;
  bool low_weight;        // adam: 1 - beta1 < 0.5 picks torch's lerp form
};

template <typename C>
struct OptimSlot {
  void* param;
  const void* grad;
  void* state[3];
  void* copy;       // the half parameter beside a float32 master, or null
  int64_t numel, first_chunk;
  C step_size;      // adam: lr / (1 - beta1^t); adagrad: lr / (1 + (t - 1) lr_decay)
  C bc2_sqrt;       // adam: sqrt(1 - beta2^t)
  bool first_step;  // sgd: the momentum buffer starts as the gradient
};

template <typename C>
struct OptimLaunch {
  OptimRule<C> rule;
  const float* found_inf;  // device flag, may be null
  SlotTable<OptimSlot<C>, kOptimSlots> table;
};
static_assert(sizeof(OptimLaunch<double>) <= kParamBytes, "optimizer table exceeds the parameter space");

// torch's lerp: a + w (b - a) for w < 0.5, else b - (b - a) (1 - w)
template <typename C>
__device__ __forceinline__ C lerp(C a, C b, C w) {
  return w < C(0.5) ? a + w * (b - a) : b - (b - a) * (C(1) - w);
}

__device__ __forceinline__ float sqrt_of(float v) { return sqrtf(v); }
__device__ __forceinline__ double sqrt_of(double v) { return sqrt(v); }

// A slot's buffers: parameter and state of storage type T, gradient and copy of G.
template <typename T, typename G, typename C>
struct Buffers {
  T* p;
  const G* g;
  T* s0;
  T* s1;
  T* s2;
  G* copy;
  __device__ explicit Buffers(const OptimSlot<C>& s)
      : p(static_cast<T*>(s.param)),
        g(static_cast<const G*>(s.grad)),
        s0(static_cast<T*>(s.state[0])),
        s1(static_cast<T*>(s.state[1])),
        s2(static_cast<T*>(s.state[2])),
        copy(static_cast<G*>(s.copy)) {}
  __device__ __forceinline__ C grad(int64_t i) const { return static_cast<C>(DevCompute<G>::load(g[i])); }
  // the updated parameter, into the parameter and its half copy when there is one
  __device__ __forceinline__ void put(int64_t i, C v) const {
    p[i] = DevCompute<T>::store(v);
    if (copy) copy[i] = DevCompute<G>::store(v);
  }
};

template <typename T, typename G, typename C>
__device__ __forceinline__ void sgd(const OptimRule<C>& r, const OptimSlot<C>& s, const Buffers<T, G, C>& x,
                                    int64_t i) {
  using L = DevCompute<T>;
  const C p = L::load(x.p[i]);
  C g = x.grad(i) * r.gs;
  if (r.decay) g += r.wd * p;
  if (x.s0) {
    const C buf = s.first_step ? g : r.mom * L::load(x.s0[i]) + r.keep * g;
    x.s0[i] = L::store(buf);
    g = r.nesterov ? g + r.mom * buf : buf;
  }
  x.put(i, p - r.lr * g);
}

template <typename T, typename G, typename C>
__device__ __forceinline__ void adam(const OptimRule<C>& r, const OptimSlot<C>& s, const Buffers<T, G, C>& x,
                                     int64_t i) {
  using L = DevCompute<T>;
  C p = L::load(x.p[i]);
  C g = x.grad(i) * r.gs;
  if (r.decay) {
    if (r.decoupled)
      p *= r.shrink;
    else
      g += r.wd * p;
  }
  const C m0 = L::load(x.s0[i]);
  const C m = r.low_weight ? m0 + r.w1 * (g - m0) : g - (g - m0) * (C(1) - r.w1);
  C v = r.b2 * L::load(x.s1[i]) + r.w2 * g * g;
  x.s0[i] = L::store(m);
  x.s1[i] = L::store(v);
  if (x.s2) {  // amsgrad: std::max(vmax, v)
    const C vmax = L::load(x.s2[i]);
    v = vmax < v ? v : vmax;
    x.s2[i] = L::store(v);
  }
  x.put(i, p - s.step_size * (m / (sqrt_of(v) / s.bc2_sqrt + r.eps)));
}

template <typename T, typename G, typename C>
__device__ __forceinline__ void rmsprop(const OptimRule<C>& r, const Buffers<T, G, C>& x, int64_t i) {
  using L = DevCompute<T>;
  const C p = L::load(x.p[i]);
  C g = x.grad(i) * r.gs;
  if (r.decay) g += r.wd * p;
  const C sq = r.alpha * L::load(x.s0[i]) + r.w_alpha * g * g;
  x.s0[i] = L::store(sq);
  C var = sq;
  if (x.s2) {  // centered
    const C ga = lerp(L::load(x.s2[i]), g, r.w_alpha);
    x.s2[i] = L::store(ga);
    var = sq - ga * ga;
  }
  const C avg = sqrt_of(var) + r.eps;
  if (x.s1) {  // momentum
    const C buf = r.mom * L::load(x.s1[i]) + g / avg;
    x.s1[i] = L::store(buf);
    x.put(i, p - r.lr * buf);
  } else {
    x.put(i, p - r.lr * (g / avg));
  }
}

template <typename T, typename G, typename C>
__device__ __forceinline__ void adagrad(const OptimRule<C>& r, const OptimSlot<C>& s, const Buffers<T, G, C>& x,
                                        int64_t i) {
  using L = DevCompute<T>;
  const C p = L::load(x.p[i]);
  C g = x.grad(i) * r.gs;
  if (r.decay) g += r.wd * p;
  const C sum = L::load(x.s0[i]) + g * g;
  x.s0[i] = L::store(sum);
  x.put(i, p - s.step_size * (g / (sqrt_of(sum) + r.eps)));
}

template <typename T, typename G>
__global__ void __launch_bounds__(kThreads) optim_kernel(const __grid_constant__ OptimLaunch<dev_compute_t<T>> a) {
  using C = dev_compute_t<T>;
  if (a.found_inf != nullptr && *a.found_inf != 0.0f) return;  // overflow: skip the whole update
  const OptimRule<C>& r = a.rule;
  for_each_element(a.table, [&](const OptimSlot<C>& s, int64_t i) {
    const Buffers<T, G, C> x(s);
    switch (r.kind) {
      case OptimKind::sgd: sgd(r, s, x, i); break;
      case OptimKind::adam: adam(r, s, x, i); break;
      case OptimKind::rmsprop: rmsprop(r, x, i); break;
      case OptimKind::adagrad: adagrad(r, s, x, i); break;
      default: break;
    }
  });
}

template <typename C>
OptimRule<C> rule_of(const OptimArgs& a) {
  OptimRule<C> r;
  r.kind = a.kind;
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
  r.decay = a.weight_decay != 0;
  r.nesterov = a.nesterov;
  r.decoupled = a.decoupled;
  r.low_weight = 1 - a.beta1 < 0.5;
  return r;
}

// The per-tensor constants, from the tensor's step, as the CPU computes them.
template <typename C>
void fill_slot(const OptimArgs& a, const OptimTensor& t, OptimSlot<C>& s) {
  s.param = t.param;
  s.grad = t.grad;
  for (int k = 0; k < 3; ++k) s.state[k] = t.state[k];
  s.copy = t.copy;
  const double step = static_cast<double>(t.step);
  s.step_size = a.kind == OptimKind::adagrad
                    ? static_cast<C>(a.lr / (1 + static_cast<double>(t.step - 1) * a.lr_decay))
                    : static_cast<C>(a.lr / (1 - std::pow(a.beta1, step)));
  s.bc2_sqrt = static_cast<C>(std::sqrt(1 - std::pow(a.beta2, step)));
  s.first_step = t.step == 1;
}

}  // namespace

template <typename T, typename G>
void optim_step(const OptimArgs& a, const OptimTensor* tensors, int64_t count) {
  using C = dev_compute_t<T>;
  switch (a.kind) {
    case OptimKind::sgd:
    case OptimKind::adam:
    case OptimKind::rmsprop:
    case OptimKind::adagrad: break;
    default: throw std::invalid_argument("optimStep: unknown optimizer kind");
  }
  OptimLaunch<C> launch;
  launch.rule = rule_of<C>(a);
  launch.found_inf = a.found_inf;
  pack_tensors<OptimSlot<C>, kOptimSlots>(
      count, [&](int64_t k) { return tensors[k].numel; },
      [&](int64_t k, OptimSlot<C>& s) { fill_slot(a, tensors[k], s); },
      [&](const SlotTable<OptimSlot<C>, kOptimSlots>& table) {
        launch.table = table;
        optim_kernel<T, G><<<table_grid(table.chunks), kThreads, 0, stream()>>>(launch);
        TG_CUDA_LAUNCH_CHECK();
      });
}

#define TG_INST(T, G) template void optim_step<T, G>(const OptimArgs&, const OptimTensor*, int64_t);
TG_FOR_OPTIM_TYPE_PAIRS(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

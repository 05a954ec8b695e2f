// Fused optimizer updates for a whole parameter group in one launch (or one per 40
// tensors): each element's parameter, gradient and state are read once, updated in
// registers and written once, where the same rule written with ops takes five to
// eight passes over memory. The tensors travel as a multi-tensor table
// (multi_tensor.cuh), so many small parameters still fill the device.
//
// The rules and their constants are native/optim_math.h's, the same expressions the
// CPU runs (in float for float32 and both half types, double for float64); the
// choices (which state slots are present, the flags) travel in each tensor's slot.
//
// Mixed precision: every gradient is multiplied by inv_scale, and when found_inf
// (a device float) is non-zero every thread returns before touching memory, so a
// skipped step never costs a copy back to the host. With float32 master weights
// (T = float, G a half type) the gradient is read as G and the updated parameter is
// also rounded into the half copy the model computes with, in the same pass.
#include "../native/cpu/instantiate.h"
#include "../native/optim_math.h"
#include "common.cuh"
#include "multi_tensor.cuh"

namespace tg::cuda {

namespace {

constexpr int kOptimSlots = 40;

template <typename C>
struct OptimSlot {
  void* param;
  const void* grad;
  void* state[3];
  void* copy;  // the half parameter beside a float32 master, or null
  int64_t numel, first_chunk;
  OptimStepConsts<C> consts;
  unsigned choices;
};

template <typename C>
struct OptimLaunch {
  OptimKind kind;
  OptimRule<C> rule;
  const float* found_inf;  // device flag, may be null
  SlotTable<OptimSlot<C>, kOptimSlots> table;
};
static_assert(sizeof(OptimLaunch<double>) <= kParamBytes, "optimizer table exceeds the parameter space");

template <OptimKind K, typename T, typename G>
__device__ __forceinline__ void update(const OptimLaunch<compute_t<T>>& a) {
  using C = compute_t<T>;
  for_each_element(a.table, [&](const OptimSlot<C>& s, int64_t i) {
    const OptimBuffers<T, G> x{static_cast<T*>(s.param),    static_cast<const G*>(s.grad),
                                           static_cast<T*>(s.state[0]), static_cast<T*>(s.state[1]),
                                           static_cast<T*>(s.state[2]), static_cast<G*>(s.copy)};
    optim_update<K>(a.rule, s.consts, s.choices, x, i);
  });
}

template <typename T, typename G>
__global__ void __launch_bounds__(kThreads) optim_kernel(const __grid_constant__ OptimLaunch<compute_t<T>> a) {
  if (a.found_inf != nullptr && *a.found_inf != 0.0f) return;  // overflow: skip the whole update
  switch (a.kind) {
    case OptimKind::sgd: update<OptimKind::sgd, T, G>(a); break;
    case OptimKind::adam: update<OptimKind::adam, T, G>(a); break;
    case OptimKind::rmsprop: update<OptimKind::rmsprop, T, G>(a); break;
    case OptimKind::adagrad: update<OptimKind::adagrad, T, G>(a); break;
    default: break;
  }
}

}  // namespace

template <typename T, typename G>
void optim_step(const OptimArgs& a, const OptimTensor* tensors, int64_t count) {
  using C = compute_t<T>;
  switch (a.kind) {
    case OptimKind::sgd:
    case OptimKind::adam:
    case OptimKind::rmsprop:
    case OptimKind::adagrad: break;
    default: throw std::invalid_argument("optimStep: unknown optimizer kind");
  }
  OptimLaunch<C> launch;
  launch.kind = a.kind;
  launch.rule = optim_rule<C>(a);
  launch.found_inf = a.found_inf;
  pack_tensors<OptimSlot<C>, kOptimSlots>(
      count, [&](int64_t k) { return tensors[k].numel; },
      [&](int64_t k, OptimSlot<C>& s) {
        const OptimTensor& t = tensors[k];
        s.param = t.param;
        s.grad = t.grad;
        for (int j = 0; j < 3; ++j) s.state[j] = t.state[j];
        s.copy = t.copy;
        s.consts = optim_step_consts<C>(a, t);
        s.choices = optim_choices(a, t);
      },
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

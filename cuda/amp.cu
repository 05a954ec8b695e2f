// The loss scaler's unscale pass (PyTorch's _amp_foreach_non_finite_check_and_unscale_),
// as native/cpu/amp.cc: every gradient of a dtype is multiplied by inv_scale in place
// while any inf or NaN among the values read raises the found-inf flag. The check and
// the unscale share one read of each element, and the gradients travel as one
// multi-tensor table (multi_tensor.cuh), so the whole pass is a launch or two.
//
// found_inf is a device float that only ever goes up (set to 1, never cleared), so
// several calls can collect into one flag and the optimizer step reads it on the
// device: no copy to the host on this path. With inv_scale == 1 (a fused optimizer
// unscales inside its update) the pass only checks and writes nothing, as on the CPU.
#include "../native/cpu/instantiate.h"
#include "common.cuh"
#include "multi_tensor.cuh"

namespace tg::cuda {

namespace {

constexpr int kAmpSlots = 160;

struct AmpSlot {
  void* data;
  int64_t numel, first_chunk;
};

template <typename C>
struct AmpLaunch {
  C inv;
  bool write;        // false when inv == 1: check only
  float* found_inf;  // device flag
  SlotTable<AmpSlot, kAmpSlots> table;
};
static_assert(sizeof(AmpLaunch<double>) <= kParamBytes, "unscale table exceeds the parameter space");

template <typename T>
__global__ void __launch_bounds__(kThreads) amp_unscale_kernel(const __grid_constant__ AmpLaunch<compute_t<T>> a) {
  using L = Compute<T>;
  using C = compute_t<T>;
  bool bad = false;
  for_each_element(a.table, [&](const AmpSlot& s, int64_t i) {
    T* x = static_cast<T*>(s.data);
    const C v = L::load(x[i]);
    bad |= !(v - v == C(0));  // 0 for every finite v, NaN for inf and NaN
    if (a.write) x[i] = L::store(v * a.inv);
  });
  if (__syncthreads_or(bad) && threadIdx.x == 0 && a.found_inf != nullptr) *a.found_inf = 1.0f;
}

}  // namespace

template <typename T>
void amp_unscale(const AmpTensor* tensors, int64_t count, double inv_scale, float* found_inf) {
  using C = compute_t<T>;
  AmpLaunch<C> launch;
  launch.inv = static_cast<C>(inv_scale);
  launch.write = launch.inv != C(1);
  launch.found_inf = found_inf;
  pack_tensors<AmpSlot, kAmpSlots>(
      count, [&](int64_t k) { return tensors[k].numel; },
      [&](int64_t k, AmpSlot& s) { s.data = tensors[k].data; },
      [&](const SlotTable<AmpSlot, kAmpSlots>& table) {
        launch.table = table;
        amp_unscale_kernel<T><<<table_grid(table.chunks), kThreads, 0, stream()>>>(launch);
        TG_CUDA_LAUNCH_CHECK();
      });
}

#define TG_INST(T) template void amp_unscale<T>(const AmpTensor*, int64_t, double, float*);
TG_FOR_FLOAT_TYPES(TG_INST)
#undef TG_INST

}  // namespace tg::cuda

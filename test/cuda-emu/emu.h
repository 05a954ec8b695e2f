// The CUDA emulator's device side, force-included (g++ -include) into every cuda/
// source when scripts/cuda-emu.mjs builds the addon against it. It runs our kernels
// on the host so that the CUDA test suite can execute them where there is no GPU:
// every block is a set of fibers, one per thread, scheduled on one OS thread; a
// fiber runs until it must wait (a barrier, a warp collective, an mbarrier) and the
// scheduler resumes only fibers whose wait has ended, so a pass that resumes none is
// a deadlock and is reported as one. Blocks run one after another, so function-
// static storage is a faithful __shared__. The CUDA headers give the types (dim3,
// __half, CUtensorMap); emu_runtime.cc defines the runtime functions the backend
// calls. Kernel launches (<<<...>>>) and dynamic shared memory are rewritten by the
// build script into tg_emu::launch and tg_emu::dynamic_shared.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <math.h>  // nvcc declares the math functions in every file

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#undef __shared__
#define __shared__ static
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif
#undef __noinline__
#define __noinline__ __attribute__((noinline))

namespace tg_emu {

struct Thread {
  uint3 thread_idx;
  int linear;  // x + y * bx + z * bx * by
  // the wait: resumed once *watch != watch_value
  const volatile unsigned* watch = nullptr;
  unsigned watch_value = 0;
};

Thread& self();
const dim3& block_dim();
const dim3& grid_dim();
const uint3& block_idx();

// Suspends the calling emulated thread until *watch != value (another thread, or
// the lazy copy engine, changes it).
void wait_while_equal(const volatile unsigned* watch, unsigned value);
// Stops the calling thread's kernel with an error (trap, misuse found by the emulator).
[[noreturn]] void fail(const char* what);

// The block-wide barrier; returns how many threads passed a true predicate.
int barrier_count(int predicate);

// A collective of the 32 lanes of the caller's warp: every lane deposits `mine`,
// then each reads all 32 deposits (by lane), then all leave together.
void* warp_deposit(const void* mine, size_t bytes);  // returns the warp's 32 slots
void warp_leave();
template <typename T>
struct WarpSlots {
  const T* all;
  explicit WarpSlots(const T& mine) : all(static_cast<const T*>(warp_deposit(&mine, sizeof(T)))) {}
  ~WarpSlots() { warp_leave(); }
  WarpSlots(const WarpSlots&) = delete;
  WarpSlots& operator=(const WarpSlots&) = delete;
};
inline int lane() { return self().linear % 32; }

// Dynamic shared memory of the running block (the size the launch asked for).
char* dynamic_shared();
// Byte address of p in the block's shared window (dynamic shared memory only).
uint32_t shared_offset(const void* p);
void* shared_pointer(uint32_t offset);

// The kernel launch the build script puts where `kernel<<<grid, block, smem, s>>>(args)`
// was: launch(kernel, grid, block, smem, s)(args).
using Body = void (*)(void* closure);
void run_grid(const void* kernel, dim3 grid, dim3 block, size_t smem, Body body, void* closure);

template <typename... P>
struct Launch {
  void (*fn)(P...);
  dim3 grid, block;
  size_t smem;
  template <typename... A>
  void operator()(A&&... args) const {
    // kernel arguments are copied when the launch is made, as by the runtime
    struct Closure {
      void (*fn)(P...);
      std::tuple<std::decay_t<P>...> params;
    } c{fn, std::tuple<std::decay_t<P>...>(static_cast<std::decay_t<P>>(std::forward<A>(args))...)};
    run_grid(reinterpret_cast<const void*>(fn), grid, block, smem,
             [](void* p) {
               auto* cl = static_cast<Closure*>(p);
               std::apply(cl->fn, cl->params);  // each thread gets its own copy of the parameters
             },
             &c);
  }
};
template <typename... P>
Launch<P...> launch(void (*fn)(P...), dim3 grid, dim3 block, size_t smem = 0, cudaStream_t = nullptr) {
  return Launch<P...>{fn, grid, block, smem};
}

}  // namespace tg_emu

#define threadIdx (::tg_emu::self().thread_idx)
#define blockIdx (::tg_emu::block_idx())
#define blockDim (::tg_emu::block_dim())
#define gridDim (::tg_emu::grid_dim())

inline void __syncthreads() { ::tg_emu::barrier_count(0); }
inline int __syncthreads_or(int p) { return ::tg_emu::barrier_count(p != 0) > 0; }
inline int __syncthreads_count(int p) { return ::tg_emu::barrier_count(p != 0); }
[[noreturn]] inline void __trap() { ::tg_emu::fail("__trap() in a kernel"); }

// Shuffles: every lane of the mask must take part (the emulator requires the full warp).
template <typename T>
T tg_emu_shuffle(unsigned mask, T v, int (*source)(int lane, int arg, int width), int arg, int width) {
  if (mask != 0xffffffffu) ::tg_emu::fail("shuffle with a partial mask (the emulator models full warps only)");
  ::tg_emu::WarpSlots<T> slots(v);
  return slots.all[source(::tg_emu::lane(), arg, width)];
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return tg_emu_shuffle<T>(
      mask, v, [](int l, int m, int w) { return (l ^ m) < (l / w + 1) * w ? (l ^ m) : l; }, lane_mask, width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return tg_emu_shuffle<T>(
      mask, v, [](int l, int d, int w) { return l % w + d < w ? l + d : l; }, int(delta), width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return tg_emu_shuffle<T>(
      mask, v, [](int l, int d, int w) { return l % w >= d ? l - d : l; }, int(delta), width);
}
template <typename T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  return tg_emu_shuffle<T>(
      mask, v, [](int l, int s, int w) { return l / w * w + s % w; }, src, width);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::tg_emu::WarpSlots<char> slots(0);
  (void)mask;
}

// Atomics: fibers switch only at waits, so a read-modify-write is atomic as written.
template <typename T>
T tg_emu_atomic_add(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
inline float atomicAdd(float* p, float v) { return tg_emu_atomic_add(p, v); }
inline double atomicAdd(double* p, double v) { return tg_emu_atomic_add(p, v); }
inline int atomicAdd(int* p, int v) { return tg_emu_atomic_add(p, v); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return tg_emu_atomic_add(p, v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { return tg_emu_atomic_add(p, v); }
inline __half atomicAdd(__half* p, __half v) {
  const __half old = *p;
  *p = __float2half_rn(__half2float(old) + __half2float(v));
  return old;
}
inline __nv_bfloat16 atomicAdd(__nv_bfloat16* p, __nv_bfloat16 v) {
  const __nv_bfloat16 old = *p;
  *p = __float2bfloat16_rn(__bfloat162float(old) + __bfloat162float(v));
  return old;
}
inline unsigned atomicCAS(unsigned* p, unsigned compare, unsigned value) {
  const unsigned old = *p;
  if (old == compare) *p = value;
  return old;
}
inline int atomicCAS(int* p, int compare, int value) {
  const int old = *p;
  if (old == compare) *p = value;
  return old;
}

// The runtime's template overload (declared for nvcc only).
template <typename T>
cudaError_t cudaFuncSetAttribute(T* kernel, cudaFuncAttribute attr, int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), attr, value);
}

inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((uint64_t(a) * b) >> 32); }
inline size_t __cvta_generic_to_shared(const void* p) { return ::tg_emu::shared_offset(p); }

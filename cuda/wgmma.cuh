// PTX wrappers of the sm_90a tensor-core path (WgmmaMath in wgmma_math.cuh).
// wgmma.mma_async lets a warpgroup (4 warps, 128 threads) multiply a 64 x 16 tile of
// A by a 16 x N tile of B, both read straight from shared memory through 64-bit
// matrix descriptors, into fp32 accumulators spread over its registers: no ldmatrix
// and no per-warp fragments, and Hopper's full tensor-core rate, which mma.sync
// does not reach there.
//
// wgmma exists only in code compiled for sm_90a (the arch-specific feature set,
// __CUDA_ARCH_FEAT_SM90_ALL); elsewhere these compile to nothing, and a kernel on
// them to a trap (gemm_tile.cuh). The host asks the loaded module whether it has
// them before it picks the path (gemm.cu).
//
// Ordering rules (PTX ISA, asynchronous warpgroup matrix instructions):
//   - shared memory written by ordinary stores or cp.async (the generic proxy) is
//     read by wgmma through the async proxy: each writer fences (fence_proxy_async)
//     after its writes have landed and before the barrier that publishes them;
//   - registers: wgmma_fence() before the first wgmma of a batch, and no other
//     access to the accumulators until wgmma_wait() reports the batch done; the
//     empty asm of fence_accumulators() keeps the compiler from moving accesses
//     across either point.
#pragma once
#include <cstdint>
#include <type_traits>

#include "common.cuh"

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define TG_WGMMA 1
#endif

namespace tg::cuda::tile {

// Whether this pass of the compiler (the device code for one target) has wgmma.
#ifdef TG_WGMMA
constexpr bool kWgmmaCompiled = true;
#else
constexpr bool kWgmmaCompiled = false;
#endif

__device__ __forceinline__ void fence_proxy_async() {
#ifdef TG_WGMMA
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void wgmma_fence() {
#ifdef TG_WGMMA
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void wgmma_commit() {
#ifdef TG_WGMMA
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}

// Waits until at most N committed batches of this warpgroup are still running.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
#ifdef TG_WGMMA
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}

template <int Count>
__device__ __forceinline__ void fence_accumulators(float (&d)[Count]) {
#pragma unroll
  for (int i = 0; i < Count; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// The accumulator lists of the two shapes: N / 2 registers each.
#define TG_WGMMA_REGS_64 \
  "%0, %1, %2, %3, %4, %5, %6, %7, " \
  "%8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, " \
  "%24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, " \
  "%40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, " \
  "%56, %57, %58, %59, %60, %61, %62, %63"
#define TG_WGMMA_OPS_64 \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
  "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
  "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
  "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
  "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
  "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
  "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
  "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define TG_WGMMA_REGS_128 \
  TG_WGMMA_REGS_64 ", " \
  "%64, %65, %66, %67, %68, %69, %70, %71, " \
  "%72, %73, %74, %75, %76, %77, %78, %79, " \
  "%80, %81, %82, %83, %84, %85, %86, %87, " \
  "%88, %89, %90, %91, %92, %93, %94, %95, " \
  "%96, %97, %98, %99, %100, %101, %102, %103, " \
  "%104, %105, %106, %107, %108, %109, %110, %111, " \
  "%112, %113, %114, %115, %116, %117, %118, %119, " \
  "%120, %121, %122, %123, %124, %125, %126, %127"
#define TG_WGMMA_OPS_128 \
  TG_WGMMA_OPS_64, \
  "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
  "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
  "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
  "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
  "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
  "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
  "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
  "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
// d = A * B + d (the scale-d predicate true) for shape m64n<N>k16; DA is the number
// of the first operand after the accumulators
#define TG_WGMMA_ASM(N, PTX_TYPE, REGS, OPS, DA, DB, TA, TB, ONE)                                  \
  asm volatile("{\n"                                                                           \
               ".reg .pred p;\n"                                                               \
               "setp.ne.b32 p, %" ONE ", 0;\n"                                                 \
               "wgmma.mma_async.sync.aligned.m64n" N "k16.f32." PTX_TYPE "." PTX_TYPE " {"    \
               REGS "}, %" DA ", %" DB ", p, 1, 1, %" TA ", %" TB ";\n"                        \
               "}\n"                                                                          \
               : OPS                                                                           \
               : "l"(desc_a), "l"(desc_b), "n"(int(TransA)), "n"(int(TransB)), "r"(1))
#define TG_WGMMA_N128(PTX_TYPE) TG_WGMMA_ASM("128", PTX_TYPE, TG_WGMMA_REGS_64, TG_WGMMA_OPS_64, "64", "65", "66", "67", "68")
#define TG_WGMMA_N256(PTX_TYPE) \
  TG_WGMMA_ASM("256", PTX_TYPE, TG_WGMMA_REGS_128, TG_WGMMA_OPS_128, "128", "129", "130", "131", "132")

// d (64 x N, fp32) += A (64 x 16) * B (16 x N), both from shared memory, N = 128 or
// 256. TransA / TransB: the operand is stored M- or N-major (x contiguous) rather
// than K-major. Accumulator d[v] of warpgroup thread t sits at row 16 * (t / 32) +
// (t % 32) / 4 + 8 * (v / 2 % 2), column 8 * (v / 4) + 2 * (t % 4) + v % 2.
template <typename T, int N, bool TransA, bool TransB>
__device__ __forceinline__ void wgmma_m64k16(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b) {
  static_assert(N == 128 || N == 256, "the shapes wrapped here");
#ifdef TG_WGMMA
  constexpr bool kHalf = std::is_same_v<T, half>;
  if constexpr (N == 128 && kHalf) TG_WGMMA_N128("f16");
  else if constexpr (N == 128) TG_WGMMA_N128("bf16");
  else if constexpr (kHalf) TG_WGMMA_N256("f16");
  else TG_WGMMA_N256("bf16");
#else
  (void)d, (void)desc_a, (void)desc_b;
  __trap();
#endif
}

#undef TG_WGMMA_N256
#undef TG_WGMMA_N128
#undef TG_WGMMA_ASM
#undef TG_WGMMA_OPS_128
#undef TG_WGMMA_REGS_128
#undef TG_WGMMA_OPS_64
#undef TG_WGMMA_REGS_64

}  // namespace tg::cuda::tile

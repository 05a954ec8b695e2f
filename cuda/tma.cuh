// Hopper's tensor memory accelerator (TMA) and the mbarriers it completes, for the
// warp-specialized GEMM (wgmma_ws.cuh). One thread asks the copy engine for a whole
// tile (a box of a tensor described by a CUtensorMap); the engine writes it to shared
// memory in the 128-byte swizzle wgmma reads, zero-fills what lies outside the
// tensor, and counts the bytes into an mbarrier that the consumers wait on. No thread
// spends registers or issue slots on addresses, and no edge needs a predicate.
//
// The device side exists only in sm_90a code (TG_WGMMA, wgmma.cuh); the tensor maps
// are made on the host (tensor_map.cuh).
#pragma once
#include <cstdint>

#include "common.cuh"
#include "mma.cuh"
#include "wgmma.cuh"

namespace tg::cuda::tile {

// ---- device: mbarriers ---------------------------------------------------------------

__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t count) {
#ifdef TG_WGMMA
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_address(bar)), "r"(count) : "memory");
#endif
}

// Makes the barriers' initialization visible to the async proxy (the copy engine).
__device__ __forceinline__ void mbarrier_init_fence() {
#ifdef TG_WGMMA
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}

// One arrival, and `bytes` more that the copies completing on this barrier will bring.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
#ifdef TG_WGMMA
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(shared_address(bar)), "r"(bytes)
               : "memory");
#endif
}

__device__ __forceinline__ void mbarrier_arrive(uint64_t* bar) {
#ifdef TG_WGMMA
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(shared_address(bar)) : "memory");
#endif
}

// Returns once the barrier's phase of this parity has completed.
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
#ifdef TG_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "wait:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait;\n"
      "}\n" ::"r"(shared_address(bar)),
      "r"(parity)
      : "memory");
#endif
}

// ---- device: the copy and the register split -------------------------------------------

// The box of `map` at coordinates (c0 innermost, c1, c2) into shared memory at dst
// (1024-byte aligned for the 128-byte swizzle), completing on bar.
__device__ __forceinline__ void tma_load_3d(void* dst, const CUtensorMap* map, int c0, int c1, int c2,
                                            uint64_t* bar) {
#ifdef TG_WGMMA
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n" ::
          "r"(shared_address(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(shared_address(bar))
      : "memory");
#endif
}

// A warpgroup gives back registers (the producer) or takes them (the consumers); the
// kernel's register cap at entry must leave room for the consumers' raise.
template <int Registers>
__device__ __forceinline__ void registers_release() {
#ifdef TG_WGMMA
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Registers));
#endif
}
template <int Registers>
__device__ __forceinline__ void registers_claim() {
#ifdef TG_WGMMA
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Registers));
#endif
}

}  // namespace tg::cuda::tile

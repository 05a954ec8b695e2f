// Hopper's tensor memory accelerator (TMA) and the mbarriers it completes, for the
// warp-specialized GEMM (wgmma_ws.cuh). One thread asks the copy engine for a whole
// tile (a box of a tensor described by a CUtensorMap); the engine writes it to shared
// memory in the 128-byte swizzle wgmma reads, zero-fills what lies outside the
// tensor, and counts the bytes into an mbarrier that the consumers wait on. No thread
// spends registers or issue slots on addresses, and no edge needs a predicate.
//
// The tensor map is made on the host with the driver's cuTensorMapEncodeTiled, found
// through the runtime's cudaGetDriverEntryPointByVersion, so nothing links against
// libcuda. The device side exists only in sm_90a code (TG_WGMMA, wgmma.cuh).
#pragma once
#include <cuda.h>

#include <cstdint>
#include <stdexcept>
#include <string>

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

// ---- host: tensor maps ---------------------------------------------------------------------

// A batch of matrices of 16-bit elements as a 3-D tensor: `inner` contiguous elements
// per line, `lines` lines `ld` elements apart, `batches` matrices `batch_stride` apart
// (batches == 1 for an operand all matrices share), read in boxes of box_inner (64:
// one 128-byte swizzle row) by box_lines. The caller has checked that base, ld and
// batch_stride are 16-byte multiples.
inline CUtensorMap tensor_map_16bit(const void* base, int64_t inner, int64_t lines, int64_t batches, int64_t ld,
                                    int64_t batch_stride, uint32_t box_inner, uint32_t box_lines) {
  using Encode = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                              const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                              CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
  static const Encode encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    TG_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found));
    if (fn == nullptr || found != cudaDriverEntryPointSuccess)
      throw std::runtime_error("CUDA: the driver has no cuTensorMapEncodeTiled (TMA needs a CUDA 12 driver)");
    return reinterpret_cast<Encode>(fn);
  }();
  const cuuint64_t dims[3] = {cuuint64_t(inner), cuuint64_t(lines), cuuint64_t(batches)};
  // bytes between lines and between matrices; a shared operand's one matrix needs
  // some valid stride all the same
  const cuuint64_t strides[2] = {cuuint64_t(ld) * 2, cuuint64_t(batches > 1 ? batch_stride : ld * lines) * 2};
  const cuuint32_t box[3] = {box_inner, box_lines, 1};
  const cuuint32_t unit[3] = {1, 1, 1};
  CUtensorMap map;
  const CUresult r = encode(&map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 3, const_cast<void*>(base), dims, strides, box, unit,
                            CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw std::runtime_error("CUDA: cuTensorMapEncodeTiled failed (error " + std::to_string(int(r)) + ")");
  return map;
}

}  // namespace tg::cuda::tile

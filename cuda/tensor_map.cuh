// The host side of the TMA copies (tma.cuh): tensor maps, the descriptors of a
// global tensor and the box of it one copy brings to shared memory. They are made
// by the driver's cuTensorMapEncodeTiled, found through the runtime's
// cudaGetDriverEntryPointByVersion, so nothing links against libcuda.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "common.cuh"

namespace tg::cuda::tile {

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

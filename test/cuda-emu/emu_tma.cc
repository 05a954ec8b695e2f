// The driver's cuTensorMapEncodeTiled for the CUDA emulator, with the driver's rules
// for tiled maps (CUDA driver API, Tensor Map Object Management): base 16-byte
// aligned, 1..5 dimensions each in [1, 2^32], byte strides multiples of 16 below
// 2^40, boxes of 1..256 elements per dimension whose inner extent is a multiple of 16
// bytes (and at most 128 with the 128-byte swizzle), element strides 1..8.
#include <cuda.h>

#include <cstring>

#include "emu_async.h"
#include "emu_tensor_map.h"

namespace {

uint32_t element_bytes(CUtensorMapDataType t) {
  switch (t) {
    case CU_TENSOR_MAP_DATA_TYPE_UINT8: return 1;
    case CU_TENSOR_MAP_DATA_TYPE_UINT16:
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT16:
    case CU_TENSOR_MAP_DATA_TYPE_BFLOAT16: return 2;
    case CU_TENSOR_MAP_DATA_TYPE_UINT32:
    case CU_TENSOR_MAP_DATA_TYPE_INT32:
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT32: return 4;
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT64:
    case CU_TENSOR_MAP_DATA_TYPE_INT64:
    case CU_TENSOR_MAP_DATA_TYPE_UINT64: return 8;
    default: return 0;
  }
}

CUresult encode_tiled(CUtensorMap* out, CUtensorMapDataType type, cuuint32_t rank, void* base, const cuuint64_t* dims,
                      const cuuint64_t* strides, const cuuint32_t* box, const cuuint32_t* element_strides,
                      CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle, CUtensorMapL2promotion,
                      CUtensorMapFloatOOBfill) {
  tg_emu::TensorMap m;
  m.elem_bytes = element_bytes(type);
  if (!out || m.elem_bytes == 0 || rank < 1 || rank > 5 || reinterpret_cast<uintptr_t>(base) % 16 ||
      interleave != CU_TENSOR_MAP_INTERLEAVE_NONE)
    return CUDA_ERROR_INVALID_VALUE;
  if (swizzle != CU_TENSOR_MAP_SWIZZLE_NONE && swizzle != CU_TENSOR_MAP_SWIZZLE_128B) return CUDA_ERROR_INVALID_VALUE;
  for (cuuint32_t d = 0; d < rank; ++d) {
    if (dims[d] < 1 || dims[d] > (uint64_t(1) << 32)) return CUDA_ERROR_INVALID_VALUE;
    if (box[d] < 1 || box[d] > 256 || element_strides[d] != 1) return CUDA_ERROR_INVALID_VALUE;
    if (d + 1 < rank && (strides[d] % 16 || strides[d] >= (uint64_t(1) << 40))) return CUDA_ERROR_INVALID_VALUE;
    m.dims[d] = dims[d];
    m.box[d] = box[d];
    if (d + 1 < rank) m.strides[d] = strides[d];
  }
  const uint32_t inner = box[0] * m.elem_bytes;
  if (inner % 16 || (swizzle == CU_TENSOR_MAP_SWIZZLE_128B && inner > 128)) return CUDA_ERROR_INVALID_VALUE;
  m.magic = tg_emu::TensorMap::kMagic;
  m.rank = rank;
  m.swizzle_128b = swizzle == CU_TENSOR_MAP_SWIZZLE_128B;
  m.base = static_cast<const unsigned char*>(base);
  std::memset(out, 0, sizeof(*out));
  std::memcpy(out, &m, sizeof(m));
  return CUDA_SUCCESS;
}

}  // namespace

void* tg_emu::driver_entry_point(const char* symbol) {
  return std::strcmp(symbol, "cuTensorMapEncodeTiled") == 0 ? reinterpret_cast<void*>(&encode_tiled) : nullptr;
}

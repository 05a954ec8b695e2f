// The CUDA emulator's tensor maps: what cuTensorMapEncodeTiled (emu_tma.cc) checks
// and stores in the 128 opaque bytes of a CUtensorMap, read back by the emulated
// TMA copy (ptx/tma.cuh).
#pragma once
#include <cuda.h>

#include <cstdint>
#include <cstring>

namespace tg_emu {

struct TensorMap {
  static constexpr uint32_t kMagic = 0x7e6a3d01;
  uint32_t magic = 0, rank = 0, elem_bytes = 0;
  bool swizzle_128b = false;
  const unsigned char* base = nullptr;
  uint64_t dims[5] = {}, strides[4] = {};  // strides in bytes, of dimensions 1..rank-1
  uint32_t box[5] = {1, 1, 1, 1, 1};

  static TensorMap of(const CUtensorMap& m) {
    TensorMap t;
    std::memcpy(&t, &m, sizeof(t));
    return t;
  }
};
static_assert(sizeof(TensorMap) <= sizeof(CUtensorMap), "an emulated tensor map fits the opaque one");

}  // namespace tg_emu

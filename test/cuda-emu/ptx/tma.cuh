// Emulated stand-in for cuda/tma.cuh: mbarriers with the PTX ISA's phase rules, and
// TMA box copies done by the block's lazy copy engine (emu_async.h), which writes a
// box line by line with CU_TENSOR_MAP_SWIZZLE_128B (bits 4-6 of the byte address ^=
// bits 7-9), zero-fills outside the tensor, and completes the box's bytes on its
// mbarrier. A phase completes when its pending arrivals reach zero and the
// transaction count is back at zero; try_wait.parity P returns once the phase of
// parity P is complete.
#pragma once
#include <cstdint>
#include <cstring>
#include <map>

#include "common.cuh"
#include "emu_async.h"
#include "emu_tensor_map.h"
#include "mma.cuh"
#include "wgmma.cuh"

namespace tg::cuda::tile {

struct EmuMbarrier {
  unsigned completed = 0;  // phases completed (its parity is the next phase's complement)
  int count = 0, pending = 0;
  int64_t tx = 0;
};
inline EmuMbarrier& emu_mbarrier(uint64_t* bar, bool init = false) {
  static std::map<uint32_t, EmuMbarrier> table;
  static unsigned serial = ~0u;
  if (serial != ::tg_emu::block_serial()) {
    table.clear();
    serial = ::tg_emu::block_serial();
  }
  const uint32_t at = shared_address(bar);
  if (at % 8) ::tg_emu::fail("mbarrier not 8-byte aligned");
  auto it = table.find(at);
  if (it == table.end()) {
    if (!init) ::tg_emu::fail("mbarrier used before mbarrier.init");
    it = table.emplace(at, EmuMbarrier{}).first;
  }
  return it->second;
}
inline void emu_mbarrier_settle(EmuMbarrier& b) {
  if (b.pending < 0) ::tg_emu::fail("more mbarrier arrivals than its count in one phase");
  if (b.pending == 0 && b.tx == 0) {
    ++b.completed;
    b.pending = b.count;
  }
}

__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t count) {
  EmuMbarrier& b = emu_mbarrier(bar, true);
  b = EmuMbarrier{};
  b.count = b.pending = int(count);
}
__device__ __forceinline__ void mbarrier_init_fence() {}
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  EmuMbarrier& b = emu_mbarrier(bar);
  b.tx += bytes;
  --b.pending;
  emu_mbarrier_settle(b);
}
__device__ __forceinline__ void mbarrier_arrive(uint64_t* bar) {
  EmuMbarrier& b = emu_mbarrier(bar);
  --b.pending;
  emu_mbarrier_settle(b);
}
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
  EmuMbarrier& b = emu_mbarrier(bar);
  while ((b.completed & 1) == parity) ::tg_emu::wait_while_equal(&b.completed, b.completed);
}

__device__ __forceinline__ void tma_load_3d(void* dst, const CUtensorMap* map, int c0, int c1, int c2,
                                            uint64_t* bar) {
  const ::tg_emu::TensorMap m = ::tg_emu::TensorMap::of(*map);
  if (m.magic != ::tg_emu::TensorMap::kMagic) ::tg_emu::fail("TMA copy with a tensor map cuTensorMapEncodeTiled did not make");
  if (m.rank != 3) ::tg_emu::fail("tma_load_3d with a tensor map that is not 3-D");
  const uint32_t to = shared_address(dst);
  if (to % 1024) ::tg_emu::fail("TMA box with the 128-byte swizzle not 1024-byte aligned in shared memory");
  emu_mbarrier(bar);  // must exist now
  ::tg_emu::shared_pointer(to + m.box[0] * m.box[1] * m.box[2] * m.elem_bytes - 1);  // the box fits
  ::tg_emu::copy_engine_issue([m, to, c0, c1, c2, bar] {
    const int64_t at[3] = {c0, c1, c2};
    uint32_t o = 0;
    for (uint32_t z = 0; z < m.box[2]; ++z)
      for (uint32_t y = 0; y < m.box[1]; ++y)
        for (uint32_t x = 0; x < m.box[0]; ++x, o += m.elem_bytes) {
          const int64_t c[3] = {at[0] + x, at[1] + y, at[2] + z};
          unsigned char v[8] = {};
          if (c[0] >= 0 && c[0] < int64_t(m.dims[0]) && c[1] >= 0 && c[1] < int64_t(m.dims[1]) && c[2] >= 0 &&
              c[2] < int64_t(m.dims[2]))
            std::memcpy(v, m.base + c[0] * m.elem_bytes + c[1] * m.strides[0] + c[2] * m.strides[1], m.elem_bytes);
          uint32_t a = to + o;
          if (m.swizzle_128b) a ^= (a >> 7 & 7) << 4;
          std::memcpy(::tg_emu::shared_pointer(a), v, m.elem_bytes);
        }
    EmuMbarrier& b = emu_mbarrier(bar);
    b.tx -= o;
    emu_mbarrier_settle(b);
  });
}

template <int Registers>
__device__ __forceinline__ void registers_release() {}
template <int Registers>
__device__ __forceinline__ void registers_claim() {}

}  // namespace tg::cuda::tile

// Multi-tensor launches (optim.cu, amp.cu): one kernel covers many tensors, so a
// model of hundreds of small parameters pays a few launches, not hundreds. The
// tensors' device pointers travel in a table inside the kernel's parameters (no
// upload, nothing to keep alive on the host); every tensor is cut into chunks of
// kChunk elements and the blocks share the chunks of all tensors in the table. A
// group with more tensors than a table holds takes several launches.
#pragma once
#include <cstdint>

#include "common.cuh"

namespace tg::cuda {

constexpr int64_t kChunk = 16384;      // elements one block updates before the next chunk
constexpr size_t kParamBytes = 4096;   // kernel parameter space we allow a launch

// Up to N slots; Slot brings its own fields plus numel and first_chunk (the chunks
// of the slots before it), which pack_tensors fills in.
template <typename Slot, int N>
struct SlotTable {
  int count;
  int64_t chunks;  // of all slots
  Slot slots[N];
};

// Calls f(slot, i) for every element of every slot, block by block over the chunks.
template <typename Slot, int N, typename F>
__device__ __forceinline__ void for_each_element(const SlotTable<Slot, N>& t, F&& f) {
  for (int64_t c = blockIdx.x; c < t.chunks; c += gridDim.x) {
    int k = 0;
    while (k + 1 < t.count && t.slots[k + 1].first_chunk <= c) ++k;
    const Slot& s = t.slots[k];
    const int64_t begin = (c - s.first_chunk) * kChunk;
    const int64_t end = begin + kChunk < s.numel ? begin + kChunk : s.numel;
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) f(s, i);
  }
}

// Packs the non-empty tensors 0..count-1 into tables of up to N slots and calls
// launch(table) for each: fill(k, slot) sets slot's own fields for tensor k, whose
// size is numel(k).
template <typename Slot, int N, typename Numel, typename Fill, typename Launch>
void pack_tensors(int64_t count, Numel numel, Fill fill, Launch launch) {
  SlotTable<Slot, N> table;
  table.count = 0;
  table.chunks = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t n = numel(k);
    if (n <= 0) continue;
    Slot& s = table.slots[table.count++];
    fill(k, s);
    s.numel = n;
    s.first_chunk = table.chunks;
    table.chunks += (n + kChunk - 1) / kChunk;
    if (table.count == N) {
      launch(table);
      table.count = 0;
      table.chunks = 0;
    }
  }
  if (table.count > 0) launch(table);
}

// Blocks for a table: one per chunk, up to what fills the device (then they loop).
inline unsigned table_grid(int64_t chunks) {
  const int64_t cap = static_cast<int64_t>(sm_count()) * 8;
  return static_cast<unsigned>(chunks < cap ? chunks : cap);
}

}  // namespace tg::cuda

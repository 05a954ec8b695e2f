// Device memory entry points for Storage. CPU blocks come from a size-bucketed
// cache so a training step reuses last step's pages instead of faulting in fresh
// ones (about 1.5 GB/s here); CUDA blocks come from cuda/allocator.cu.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dtype.h"

namespace tg {

void* device_alloc(Device d, size_t bytes);  // throws std::bad_alloc when out of memory
void device_free(Device d, void* p, size_t bytes);

struct CacheStats {
  int64_t cached_bytes;
  int64_t cached_blocks;
};
CacheStats cpu_cache_stats();
void cpu_cache_empty();

}  // namespace tg

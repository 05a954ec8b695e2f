// Device memory entry points for Storage. CPU blocks come from a size-bucketed
// cache so a training step reuses last step's pages instead of faulting in fresh
// ones (about 1.5 GB/s here); CUDA blocks come from cuda/allocator.cu.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>

#include "dtype.h"

namespace tg {

// An allocation that failed with a message worth showing (how much was asked for,
// how much is free); the N-API glue turns it into a RangeError with that text.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string msg) : msg_(std::move(msg)) {}
  const char* what() const noexcept override { return msg_.c_str(); }

 private:
  std::string msg_;
};

void* device_alloc(Device d, size_t bytes);  // throws std::bad_alloc when out of memory
void device_free(Device d, void* p, size_t bytes);

struct CacheStats {
  int64_t cached_bytes;
  int64_t cached_blocks;
};
CacheStats cpu_cache_stats();
void cpu_cache_empty();

}  // namespace tg

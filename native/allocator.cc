#include "allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "kernels.h"

namespace tg {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMaxCachedBlock = size_t(256) << 20;  // larger blocks go straight back
constexpr int64_t kMaxCachedTotal = int64_t(1) << 30;

// Rounds up to one of four steps per power of two, so a cached block wastes at
// most a quarter of its size.
size_t bucket_size(size_t bytes) {
  if (bytes <= kAlign) return kAlign;
  size_t p = kAlign;
  while (p < bytes) p <<= 1;
  size_t step = p / 8;
  size_t r = (bytes + step - 1) / step * step;
  return r;
}

struct CpuCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  int64_t cached_bytes = 0;
  int64_t cached_blocks = 0;
};
CpuCache& cache() {
  static CpuCache* c = new CpuCache();  // never destroyed: finalizers may run at exit
  return *c;
}

void* cpu_alloc(size_t bytes) {
  size_t size = bucket_size(bytes);
  CpuCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= static_cast<int64_t>(size);
      c.cached_blocks -= 1;
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlign, size);
  if (p == nullptr) {
    cpu_cache_empty();
    p = std::aligned_alloc(kAlign, size);
    if (p == nullptr) throw std::bad_alloc();
  }
  return p;
}

void cpu_free(void* p, size_t bytes) {
  size_t size = bucket_size(bytes);
  CpuCache& c = cache();
  if (size <= kMaxCachedBlock) {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached_bytes + static_cast<int64_t>(size) <= kMaxCachedTotal) {
      c.free_blocks[size].push_back(p);
      c.cached_bytes += static_cast<int64_t>(size);
      c.cached_blocks += 1;
      return;
    }
  }
  std::free(p);
}

}  // namespace

void* device_alloc(Device d, size_t bytes) {
  if (d == Device::kCuda) return cuda::alloc(bytes);
  return cpu_alloc(bytes);
}

void device_free(Device d, void* p, size_t bytes) {
  if (d == Device::kCuda) {
    cuda::free(p, bytes);
    return;
  }
  cpu_free(p, bytes);
}

CacheStats cpu_cache_stats() {
  CpuCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.cached_bytes, c.cached_blocks};
}

void cpu_cache_empty() {
  CpuCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& kv : c.free_blocks)
    for (void* p : kv.second) std::free(p);
  c.free_blocks.clear();
  c.cached_bytes = 0;
  c.cached_blocks = 0;
}

}  // namespace tg

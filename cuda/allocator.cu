// The device, its stream, and a caching allocator for device memory.
// cudaMalloc and cudaFree synchronize the device and cost tens of microseconds, so
// freed blocks are kept per rounded size and handed out again. Every kernel and copy
// runs on one stream, so a block handed out again is only touched after its last
// user's work has run. An allocation that fails empties the cache and tries once
// more before it reports how much was asked for and how much the device has free.
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "../native/allocator.h"
#include "common.cuh"

namespace tg::cuda {

namespace {

constexpr size_t kMinBlock = 512;

size_t round_size(size_t bytes) {
  if (bytes <= kMinBlock) return kMinBlock;
  if (bytes <= (size_t(1) << 20)) return (bytes + kMinBlock - 1) / kMinBlock * kMinBlock;
  const size_t mib2 = size_t(2) << 20;
  return (bytes + mib2 - 1) / mib2 * mib2;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> blocks;
  int64_t cached = 0;  // bytes held in `blocks`
};
Cache& cache() {
  static Cache* c = new Cache();  // outlives static destruction; the driver may be gone at exit
  return *c;
}

struct Probe {
  int count = 0;
  std::string status;
  std::string name;
  int sms = 1;
};
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); };
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);  // 0 when no driver is installed
    cudaRuntimeGetVersion(&runtime);
    cudaError_t err = cudaGetDeviceCount(&r.count);
    if (err != cudaSuccess) {
      r.count = 0;
      // the runtime answers "insufficient driver" both for an old driver and for none at all
      if (driver == 0)
        r.status = "no NVIDIA driver found (libcuda.so is not installed or not loadable)";
      else if (err == cudaErrorInsufficientDriver)
        r.status = "the NVIDIA driver supports CUDA " + version(driver) + ", older than this build's runtime " +
                   version(runtime) + "; update the driver";
      else if (err == cudaErrorNoDevice)
        r.status = "no CUDA device found (driver for CUDA " + version(driver) + ")";
      else
        r.status = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
      cudaGetLastError();
    } else if (r.count == 0) {
      r.status = "no CUDA device found (driver for CUDA " + version(driver) + ")";
    } else {
      cudaDeviceProp prop;
      if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
        r.name = prop.name;
        r.sms = prop.multiProcessorCount;
      }
      cudaGetLastError();
      r.status = std::to_string(r.count) + " CUDA device(s), driver for CUDA " + version(driver);
    }
    return r;
  }();
  return p;
}

void require_device() {
  if (probe().count == 0) throw std::runtime_error("CUDA is not available: " + probe().status);
}

// Frees every cached block; the caller holds the cache lock.
void release_cached(Cache& c) {
  for (auto& kv : c.blocks)
    for (void* q : kv.second) cudaFree(q);
  c.blocks.clear();
  c.cached = 0;
}

std::string mib(size_t bytes) {
  return std::to_string((bytes + (size_t(1) << 19)) >> 20) + " MiB";
}

}  // namespace

bool available() { return probe().count > 0; }
int device_count() { return probe().count; }
const char* status() { return probe().status.c_str(); }
const char* device_name() { return probe().name.c_str(); }
int sm_count() { return probe().sms; }

cudaStream_t stream() {
  static cudaStream_t s = [] {
    require_device();
    cudaStream_t created = nullptr;
    TG_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking));
    return created;
  }();
  return s;
}

void* alloc(size_t bytes) {
  require_device();
  const size_t size = round_size(bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.blocks.find(size);
  if (it != c.blocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    c.cached -= static_cast<int64_t>(size);
    return p;
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    // the cached blocks may still be read by queued kernels: let them finish first
    TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
    release_cached(c);
    err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      cudaGetLastError();
      throw OutOfMemory("CUDA out of memory: asked for " + mib(size) + " (" + std::to_string(bytes) +
                        " bytes), " + mib(free_bytes) + " free of " + mib(total_bytes) + " on " +
                        probe().name + " after emptying the cache");
    }
  }
  TG_CUDA_CHECK(err);
  return p;
}

void free(void* p, size_t bytes) {
  Cache& c = cache();
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(c.mu);
  c.blocks[size].push_back(p);
  c.cached += static_cast<int64_t>(size);
}

void empty_cache() {
  if (!available()) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
  release_cached(c);
}

int64_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached;
}

// Host memory here is pageable: the runtime stages it, so the source may be reused
// as soon as the call returns even though the copy is queued on the stream.
void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  TG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  TG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_device(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  TG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}

void synchronize() {
  if (available()) TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

}  // namespace tg::cuda

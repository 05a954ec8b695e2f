// Caching device allocator and host<->device copies. cudaMalloc and cudaFree
// synchronize the device and cost tens of microseconds, so freed blocks are kept
// per rounded size and handed out again; emptying the cache returns them.
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "../native/kernels.h"
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
};
Cache& cache() {
  static Cache* c = new Cache();  // outlives static destruction; the driver may be gone at exit
  return *c;
}

struct Probe {
  int count = 0;
  std::string status;
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
      r.status = std::to_string(r.count) + " CUDA device(s), driver for CUDA " + version(driver);
    }
    return r;
  }();
  return p;
}

void require_device() {
  if (probe().count == 0) throw std::runtime_error("CUDA is not available: " + probe().status);
}

}  // namespace

bool available() { return probe().count > 0; }
int device_count() { return probe().count; }
const char* status() { return probe().status.c_str(); }

void* alloc(size_t bytes) {
  require_device();
  size_t size = round_size(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.blocks.find(size);
    if (it != c.blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      return p;
    }
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    {  // give cached blocks back and try once more
      std::lock_guard<std::mutex> lock(c.mu);
      for (auto& kv : c.blocks)
        for (void* q : kv.second) cudaFree(q);
      c.blocks.clear();
    }
    err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throw std::bad_alloc();
    }
  }
  TG_CUDA_CHECK(err);
  return p;
}

void free(void* p, size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.blocks[round_size(bytes)].push_back(p);
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  TG_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  TG_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void copy_device(void* dst, const void* src, size_t bytes) {
  TG_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

}  // namespace tg::cuda

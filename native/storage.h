// Storage: one block of tensor memory (CPU: 64-byte aligned from the block cache;
// CUDA: from the caching allocator). Freed by free() (tensor.dispose()) at once, or
// by a finalizer that runs synchronously inside V8's GC, so a training loop that
// never yields to the event loop still gets its memory back. That is why this
// class wraps with raw napi_wrap and a basic finalizer rather than ObjectWrap.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>

#include "dtype.h"

namespace tg {

struct MemoryCounters {
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> peak{0};
};
MemoryCounters& memory_counters(Device d);

class Storage {
 public:
  // The JS class: new Storage(dtype, numel, device), with free(), bytes, disposed.
  static Napi::Function Init(Napi::Env env);
  // Unwraps v only if it really is a Storage (type-tagged), else returns nullptr.
  static Storage* Unwrap(const Napi::Value& v);

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  int64_t numel() const { return static_cast<int64_t>(bytes_ / dtype_size(dtype_)); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }

 private:
  static Napi::Value Construct(const Napi::CallbackInfo& info);
  static Napi::Value Free(const Napi::CallbackInfo& info);
  static Napi::Value GetBytes(const Napi::CallbackInfo& info);
  static Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  static void Finalize(node_api_basic_env env, void* data, void* hint);
  void release();

  void* data_ = nullptr;
  size_t bytes_ = 0;
  int64_t accounted_ = 0;  // bytes still reported to V8 as external memory
  DType dtype_ = DType::k_float32;
  Device device_ = Device::kCpu;
};

}  // namespace tg

// Storage: one block of tensor memory (CPU: 64-byte aligned; CUDA: from the
// caching allocator). Freed by dispose() at once, or by the GC finalizer, which
// also returns the bytes to V8's external-memory account.
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

class Storage : public Napi::ObjectWrap<Storage> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Unwraps v only if it really is a Storage (type-tagged), else returns nullptr.
  static Storage* Unwrap(const Napi::Value& v);

  explicit Storage(const Napi::CallbackInfo& info);
  ~Storage() override;
  void Finalize(Napi::Env env) override;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  int64_t numel() const { return static_cast<int64_t>(bytes_ / dtype_size(dtype_)); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }

 private:
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value GetBytes(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  void release();

  void* data_ = nullptr;
  size_t bytes_ = 0;
  size_t accounted_ = 0;  // bytes still reported to V8 as external memory
  DType dtype_ = DType::k_float32;
  Device device_ = Device::kCpu;
};

}  // namespace tg

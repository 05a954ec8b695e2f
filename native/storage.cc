#include "storage.h"

#include <memory>
#include <string>

#include "allocator.h"
#include "napi_util.h"

namespace tg {

namespace {
const napi_type_tag kStorageTag = {0x7e4a1c2d5b8f4e01ULL, 0x93d2a6b1c0e7f853ULL};
MemoryCounters g_cpu_counters, g_cuda_counters;

Storage* unwrap_this(const Napi::CallbackInfo& info) {
  Storage* s = Storage::Unwrap(info.This());
  if (s == nullptr) throw Napi::TypeError::New(info.Env(), "Storage: method called on a non-Storage");
  return s;
}
}  // namespace

MemoryCounters& memory_counters(Device d) {
  return d == Device::kCuda ? g_cuda_counters : g_cpu_counters;
}

Napi::Function Storage::Init(Napi::Env env) {
  Napi::Function ctor = Napi::Function::New(env, Construct, "Storage");
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  proto.DefineProperties({
      Napi::PropertyDescriptor::Function(env, proto, "free", Free),
      Napi::PropertyDescriptor::Accessor(env, proto, "bytes", GetBytes),
      Napi::PropertyDescriptor::Accessor(env, proto, "disposed", GetDisposed),
  });
  return ctor;
}

Storage* Storage::Unwrap(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  if (!o.CheckTypeTag(&kStorageTag)) return nullptr;
  void* p = nullptr;
  if (napi_unwrap(v.Env(), o, &p) != napi_ok) return nullptr;
  return static_cast<Storage*>(p);
}

// new Storage(dtype, numel, device)
Napi::Value Storage::Construct(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    REQUIRE_TYPE(env, info.IsConstructCall(), "Storage: use new Storage(dtype, numel, device)");
    Args args(info, "Storage", 3);
    int64_t code = args.integer(0);
    REQUIRE_TYPE(env, dtype_valid(static_cast<int>(code)), "Storage: unknown dtype code " + std::to_string(code));
    int64_t numel = args.integer(1);
    int64_t device = args.integer(2);
    REQUIRE_TYPE(env, device == 0 || device == 1, "Storage: unknown device code " + std::to_string(device));
    auto s = std::make_unique<Storage>();
    s->dtype_ = static_cast<DType>(code);
    s->device_ = static_cast<Device>(device);
    double bytes = static_cast<double>(numel) * static_cast<double>(dtype_size(s->dtype_));
    REQUIRE(env, bytes <= 9.0e15, "Storage: invalid element count " + std::to_string(numel));
    s->bytes_ = static_cast<size_t>(bytes);
    try {
      s->data_ = device_alloc(s->device_, s->bytes_);
    } catch (const OutOfMemory& e) {  // it says how much was asked and how much is free
      throw Napi::RangeError::New(env, std::string("Storage: ") + e.what());
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(env, "Storage: cannot allocate " + std::to_string(s->bytes_) + " bytes of " +
                                           (s->device_ == Device::kCuda ? "CUDA" : "CPU") + " memory");
    }
    MemoryCounters& c = memory_counters(s->device_);
    int64_t now = c.bytes += static_cast<int64_t>(s->bytes_);
    c.count += 1;
    int64_t peak = c.peak.load();
    while (now > peak && !c.peak.compare_exchange_weak(peak, now)) {
    }
    Napi::Object self = info.This().As<Napi::Object>();
    self.TypeTag(&kStorageTag);
    if (napi_wrap(env, self, s.get(), Finalize, nullptr, nullptr) != napi_ok) {
      s->release();
      throw Napi::Error::New(env, "Storage: napi_wrap failed");
    }
    // V8 sees every storage's bytes, device memory too: a loop that drops its tensors
    // without dispose() then gets collections as often as its memory turns over,
    // on the GPU as on the CPU, instead of when the small JS wrappers fill the heap.
    Storage* raw = s.release();
    raw->accounted_ = static_cast<int64_t>(raw->bytes_);
    Napi::MemoryManagement::AdjustExternalMemory(env, raw->accounted_);
    return self;
  });
}

void Storage::release() {
  if (data_ == nullptr) return;
  device_free(device_, data_, bytes_);
  data_ = nullptr;
  MemoryCounters& c = memory_counters(device_);
  c.bytes -= static_cast<int64_t>(bytes_);
  c.count -= 1;
}

// Runs inside GC: only frees memory and touches no JS state (a basic finalizer).
void Storage::Finalize(node_api_basic_env env, void* data, void*) {
  Storage* s = static_cast<Storage*>(data);
  s->release();
  if (s->accounted_ != 0) {
    int64_t unused;
    napi_adjust_external_memory(env, -s->accounted_, &unused);
  }
  delete s;
}

Napi::Value Storage::Free(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Storage* s = unwrap_this(info);
    s->release();
    if (s->accounted_ != 0) {
      Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -s->accounted_);
      s->accounted_ = 0;
    }
    return info.Env().Undefined();
  });
}

Napi::Value Storage::GetBytes(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(unwrap_this(info)->bytes_));
  });
}

Napi::Value Storage::GetDisposed(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), unwrap_this(info)->data_ == nullptr);
  });
}

}  // namespace tg

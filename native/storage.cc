#include "storage.h"

#include <cstdlib>
#include <string>

#include "allocator.h"
#include "napi_util.h"

namespace tg {

namespace {
const napi_type_tag kStorageTag = {0x7e4a1c2d5b8f4e01ULL, 0x93d2a6b1c0e7f853ULL};
MemoryCounters g_cpu_counters, g_cuda_counters;
}  // namespace

MemoryCounters& memory_counters(Device d) {
  return d == Device::kCuda ? g_cuda_counters : g_cpu_counters;
}

Napi::Function Storage::Init(Napi::Env env) {
  return DefineClass(env, "Storage",
                     {InstanceMethod<&Storage::Free>("free"),
                      InstanceAccessor<&Storage::GetBytes>("bytes"),
                      InstanceAccessor<&Storage::GetDisposed>("disposed")});
}

Storage* Storage::Unwrap(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  if (!o.CheckTypeTag(&kStorageTag)) return nullptr;
  return Napi::ObjectWrap<Storage>::Unwrap(o);
}

// new Storage(dtype, numel, device)
Storage::Storage(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Storage>(info) {
  Napi::Env env = info.Env();
  info.This().As<Napi::Object>().TypeTag(&kStorageTag);
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "Storage: expected (dtype, numel, device)").ThrowAsJavaScriptException();
    return;
  }
  int code = info[0].As<Napi::Number>().Int32Value();
  double numel = info[1].As<Napi::Number>().DoubleValue();
  int device = info[2].As<Napi::Number>().Int32Value();
  if (!dtype_valid(code)) {
    Napi::TypeError::New(env, "Storage: unknown dtype code " + std::to_string(code))
        .ThrowAsJavaScriptException();
    return;
  }
  dtype_ = static_cast<DType>(code);
  double bytes = numel * static_cast<double>(dtype_size(dtype_));
  if (!(numel >= 0) || numel != static_cast<double>(static_cast<int64_t>(numel)) || bytes > 9.0e15) {
    Napi::RangeError::New(env, "Storage: invalid element count " + std::to_string(numel))
        .ThrowAsJavaScriptException();
    return;
  }
  if (device != 0 && device != 1) {
    Napi::TypeError::New(env, "Storage: unknown device code " + std::to_string(device))
        .ThrowAsJavaScriptException();
    return;
  }
  device_ = static_cast<Device>(device);
  bytes_ = static_cast<size_t>(bytes);
  try {
    data_ = device_alloc(device_, bytes_);
  } catch (const std::bad_alloc&) {
    Napi::RangeError::New(env, "Storage: cannot allocate " + std::to_string(bytes_) +
                                   " bytes of " + (device_ == Device::kCuda ? "CUDA" : "CPU") +
                                   " memory")
        .ThrowAsJavaScriptException();
    bytes_ = 0;
    return;
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    bytes_ = 0;
    return;
  }
  MemoryCounters& c = memory_counters(device_);
  int64_t now = c.bytes += static_cast<int64_t>(bytes_);
  c.count += 1;
  int64_t peak = c.peak.load();
  while (now > peak && !c.peak.compare_exchange_weak(peak, now)) {
  }
  if (device_ == Device::kCpu) {
    accounted_ = bytes_;
    Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(accounted_));
  }
}

void Storage::release() {
  if (data_ == nullptr) return;
  device_free(device_, data_, bytes_);
  data_ = nullptr;
  MemoryCounters& c = memory_counters(device_);
  c.bytes -= static_cast<int64_t>(bytes_);
  c.count -= 1;
}

void Storage::Finalize(Napi::Env env) {
  if (accounted_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(accounted_));
    accounted_ = 0;
  }
}

Storage::~Storage() { release(); }

Napi::Value Storage::Free(const Napi::CallbackInfo& info) {
  release();
  if (accounted_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -static_cast<int64_t>(accounted_));
    accounted_ = 0;
  }
  return info.Env().Undefined();
}

Napi::Value Storage::GetBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

Napi::Value Storage::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), data_ == nullptr);
}

}  // namespace tg

// Argument backstops for the N-API glue. TypeScript validates first and names the
// user's call; these re-checks only keep a wrong call from reaching a kernel.
// Each REQUIRE_* is one line that throws a JS error (built with C++ exceptions);
// guard() turns anything thrown below into a JS error, so no input aborts.
#pragma once
#include <napi.h>

#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "allocator.h"
#include "storage.h"

namespace tg {

#define REQUIRE(env, cond, msg) \
  do {                          \
    if (!(cond)) throw Napi::RangeError::New(env, msg); \
  } while (0)
#define REQUIRE_TYPE(env, cond, msg) \
  do {                               \
    if (!(cond)) throw Napi::TypeError::New(env, msg); \
  } while (0)

template <typename F>
Napi::Value guard(const Napi::Env& env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const OutOfMemory& e) {
    Napi::RangeError::New(env, e.what()).ThrowAsJavaScriptException();
  } catch (const std::bad_alloc&) {
    Napi::RangeError::New(env, "out of memory").ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// Argument readers: each names the native function and the argument position.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    REQUIRE_TYPE(env(), info.Length() >= count,
                 std::string(fn) + ": expected " + std::to_string(count) + " arguments");
  }
  Napi::Env env() const { return info_.Env(); }

  Storage& storage(size_t i) const {
    Storage* s = Storage::Unwrap(info_[i]);
    REQUIRE_TYPE(env(), s != nullptr, where(i) + " is not a Storage");
    REQUIRE(env(), s->data() != nullptr, where(i) + " was freed (disposed tensor)");
    return *s;
  }
  Storage* optional_storage(size_t i) const {
    if (info_[i].IsNull() || info_[i].IsUndefined()) return nullptr;
    return &storage(i);
  }
  double number(size_t i) const {
    REQUIRE_TYPE(env(), info_[i].IsNumber(), where(i) + " must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  int64_t integer(size_t i, int64_t lo = 0) const {
    double d = number(i);
    REQUIRE(env(), d == static_cast<double>(static_cast<int64_t>(d)) && d >= static_cast<double>(lo),
            where(i) + " must be an integer >= " + std::to_string(lo));
    return static_cast<int64_t>(d);
  }
  bool boolean(size_t i) const {
    REQUIRE_TYPE(env(), info_[i].IsBoolean(), where(i) + " must be a boolean");
    return info_[i].As<Napi::Boolean>().Value();
  }
  std::vector<int64_t> ints(size_t i) const {
    REQUIRE_TYPE(env(), info_[i].IsArray(), where(i) + " must be an array of integers");
    Napi::Array a = info_[i].As<Napi::Array>();
    REQUIRE(env(), a.Length() <= 16, where(i) + " has more than 16 dimensions");
    std::vector<int64_t> out(a.Length());
    for (uint32_t k = 0; k < a.Length(); ++k) {
      Napi::Value e = a.Get(k);
      REQUIRE_TYPE(env(), e.IsNumber(), where(i) + " must be an array of integers");
      double d = e.As<Napi::Number>().DoubleValue();
      REQUIRE(env(), d == static_cast<double>(static_cast<int64_t>(d)),
              where(i) + " must be an array of integers");
      out[k] = static_cast<int64_t>(d);
    }
    return out;
  }
  std::string where(size_t i) const { return std::string(fn_) + ": argument " + std::to_string(i); }
  const char* fn() const { return fn_; }

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

}  // namespace tg

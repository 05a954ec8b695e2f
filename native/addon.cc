// Module init only: the Storage class, the op-family functions and the op-code
// tables that TypeScript reads instead of repeating them.
#include <napi.h>

#include "bindings.h"
#include "dtype.h"
#include "ops.h"
#include "storage.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Storage", tg::Storage::Init(env));
  tg::register_bindings(env, exports);

  auto table = [&](const char* name, std::initializer_list<const char*> names) {
    Napi::Object t = Napi::Object::New(env);
    int code = 0;
    for (const char* n : names) t.Set(n, code++);
    exports.Set(name, t);
  };
#define TG_DTYPE_NAME(name, code, type, size) #name,
  table("dtypes", {TG_DTYPES(TG_DTYPE_NAME)});
#undef TG_DTYPE_NAME
#define TG_NAME(name, ints) #name,
  table("unaryOps", {TG_UNARY_OPS(TG_NAME)});
  table("binaryOps", {TG_BINARY_OPS(TG_NAME)});
  table("compareOps", {TG_COMPARE_OPS(TG_NAME)});
  table("reduceOps", {TG_REDUCE_OPS(TG_NAME)});
  table("randomKinds", {TG_RANDOM_KINDS(TG_NAME)});
  table("convKinds", {TG_CONV_KINDS(TG_NAME)});
  table("poolKinds", {TG_POOL_KINDS(TG_NAME)});
  table("optimKinds", {TG_OPTIM_KINDS(TG_NAME)});
  table("optimHyper", {TG_OPTIM_HYPER(TG_NAME)});
#undef TG_NAME
  return exports;
}

}  // namespace

NODE_API_MODULE(tensorgrad, Init)

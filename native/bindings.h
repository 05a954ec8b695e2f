// Registers the op-family functions of bindings.cc on the module's exports.
#pragma once
#include <napi.h>

namespace tg {
void register_bindings(Napi::Env env, Napi::Object exports);
}

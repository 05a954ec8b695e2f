// Element types shared by every native layer. The numeric codes are exported to
// TypeScript at load (see addon.cc), so this enum is the one source of truth.
#pragma once
#include <cstddef>
#include <cstdint>

#include "half.h"

namespace tg {

#define TG_DTYPES(X)                      \
  X(float32, 0, float, 4)                 \
  X(float64, 1, double, 8)                \
  X(float16, 2, ::tg::half, 2)            \
  X(bfloat16, 3, ::tg::bfloat16, 2)       \
  X(int32, 4, int32_t, 4)                 \
  X(uint8, 5, uint8_t, 1)                 \
  X(bool, 6, ::tg::boolean, 1)

enum class DType : int {
#define TG_DTYPE_ENUM(name, code, type, size) k_##name = code,
  TG_DTYPES(TG_DTYPE_ENUM)
#undef TG_DTYPE_ENUM
};
constexpr int kNumDTypes = 7;

inline size_t dtype_size(DType d) {
  switch (d) {
#define TG_DTYPE_SIZE(name, code, type, size) \
  case DType::k_##name:                       \
    return size;
    TG_DTYPES(TG_DTYPE_SIZE)
#undef TG_DTYPE_SIZE
  }
  return 0;
}

inline const char* dtype_name(DType d) {
  switch (d) {
#define TG_DTYPE_NAME(name, code, type, size) \
  case DType::k_##name:                       \
    return #name;
    TG_DTYPES(TG_DTYPE_NAME)
#undef TG_DTYPE_NAME
  }
  return "unknown";
}

inline bool dtype_valid(int code) { return code >= 0 && code < kNumDTypes; }
inline bool dtype_is_float(DType d) {
  return d == DType::k_float32 || d == DType::k_float64 || d == DType::k_float16 ||
         d == DType::k_bfloat16;
}

enum class Device : int { kCpu = 0, kCuda = 1 };

}  // namespace tg

// Explicit instantiation lists, so each kernel file states once which storage
// types it serves.
#pragma once
#include "../dtype.h"

#define TG_FOR_ALL_TYPES(X) \
  X(float)                  \
  X(double)                 \
  X(::tg::half)             \
  X(::tg::bfloat16)         \
  X(int32_t)                \
  X(uint8_t)                \
  X(::tg::boolean)

#define TG_FOR_FLOAT_TYPES(X) \
  X(float)                    \
  X(double)                   \
  X(::tg::half)               \
  X(::tg::bfloat16)

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

// Every (source, destination) pair of storage types, for cast<S, D>.
#define TG_PAIRS_FROM(X, S) \
  X(S, float) X(S, double) X(S, ::tg::half) X(S, ::tg::bfloat16) X(S, int32_t) X(S, uint8_t) X(S, ::tg::boolean)
#define TG_FOR_ALL_TYPE_PAIRS(X)                                                    \
  TG_PAIRS_FROM(X, float) TG_PAIRS_FROM(X, double) TG_PAIRS_FROM(X, ::tg::half)     \
  TG_PAIRS_FROM(X, ::tg::bfloat16) TG_PAIRS_FROM(X, int32_t) TG_PAIRS_FROM(X, uint8_t) \
  TG_PAIRS_FROM(X, ::tg::boolean)

// The (parameter and state, gradient) storage types of the fused optimizer steps:
// one type throughout for float32 and float64; float32 master weights with the
// gradient and the parameter's copy in a half type (mixed precision).
#define TG_FOR_OPTIM_TYPE_PAIRS(X) \
  X(float, float) X(double, double) X(float, ::tg::half) X(float, ::tg::bfloat16)

// Op codes of the native op families. addon.cc exports these tables by name, so
// TypeScript reads the codes at load instead of repeating them.
#pragma once

namespace tg {

// X(name, works_on_integers): integer inputs reach only the ops marked 1; the
// TypeScript op promotes integers to float32 for the rest.
#define TG_UNARY_OPS(X) \
  X(neg, 1)             \
  X(abs, 1)             \
  X(exp, 0)             \
  X(log, 0)             \
  X(log1p, 0)           \
  X(sqrt, 0)            \
  X(rsqrt, 0)           \
  X(square, 1)          \
  X(sin, 0)             \
  X(cos, 0)             \
  X(tanh, 0)            \
  X(sigmoid, 0)         \
  X(relu, 1)            \
  X(leakyRelu, 0)       \
  X(elu, 0)             \
  X(gelu, 0)            \
  X(geluTanh, 0)        \
  X(silu, 0)            \
  X(softplus, 0)        \
  X(clamp, 1)           \
  X(sign, 1)            \
  X(reciprocal, 0)      \
  X(erf, 0)

#define TG_BINARY_OPS(X) \
  X(add, 1)              \
  X(sub, 1)              \
  X(mul, 1)              \
  X(div, 0)              \
  X(pow, 1)              \
  X(maximum, 1)          \
  X(minimum, 1)

#define TG_COMPARE_OPS(X) \
  X(eq, 1)                \
  X(ne, 1)                \
  X(lt, 1)                \
  X(le, 1)                \
  X(gt, 1)                \
  X(ge, 1)

#define TG_REDUCE_OPS(X) \
  X(sum, 1)              \
  X(prod, 1)             \
  X(max, 1)              \
  X(min, 1)

#define TG_RANDOM_KINDS(X) \
  X(uniform, 0)            \
  X(normal, 0)             \
  X(randint, 1)

// Kernels of the conv2d and pool2d families (float and double only).
#define TG_CONV_KINDS(X) \
  X(forward, 0)          \
  X(gradInput, 0)        \
  X(gradWeight, 0)       \
  X(gradBias, 0)

#define TG_POOL_KINDS(X)       \
  X(max, 0)                    \
  X(maxBackward, 0)            \
  X(avg, 0)                    \
  X(avgBackward, 0)            \
  X(adaptiveAvg, 0)            \
  X(adaptiveAvgBackward, 0)

// Fused optimizer updates (cpu/optim.cc): one optimStep call updates every tensor
// of a parameter group. The second column is unused (kept for the table helper).
#define TG_OPTIM_KINDS(X) \
  X(sgd, 0)               \
  X(adam, 0)              \
  X(rmsprop, 0)           \
  X(adagrad, 0)

// Positions in the hyperparameter vector optimStep takes; flags are 0 or 1. addon.cc
// exports the positions by name (optimHyper), so TypeScript never repeats the order.
// invScale multiplies every gradient (mixed precision passes 1 / loss scale).
#define TG_OPTIM_HYPER(X) \
  X(lr, 0)                \
  X(weightDecay, 0)       \
  X(momentum, 0)          \
  X(dampening, 0)         \
  X(beta1, 0)             \
  X(beta2, 0)             \
  X(alpha, 0)             \
  X(eps, 0)               \
  X(lrDecay, 0)           \
  X(invScale, 0)          \
  X(nesterov, 0)          \
  X(maximize, 0)          \
  X(decoupled, 0)         \
  X(amsgrad, 0)           \
  X(centered, 0)

#define TG_ENUM_ENTRY(name, ints) name,
enum class UnaryOp : int { TG_UNARY_OPS(TG_ENUM_ENTRY) kCount };
enum class BinaryOp : int { TG_BINARY_OPS(TG_ENUM_ENTRY) kCount };
enum class CompareOp : int { TG_COMPARE_OPS(TG_ENUM_ENTRY) kCount };
enum class ReduceOp : int { TG_REDUCE_OPS(TG_ENUM_ENTRY) kCount };
enum class RandomKind : int { TG_RANDOM_KINDS(TG_ENUM_ENTRY) kCount };
enum class ConvKind : int { TG_CONV_KINDS(TG_ENUM_ENTRY) kCount };
enum class PoolKind : int { TG_POOL_KINDS(TG_ENUM_ENTRY) kCount };
enum class OptimKind : int { TG_OPTIM_KINDS(TG_ENUM_ENTRY) kCount };
enum class OptimHyper : int { TG_OPTIM_HYPER(TG_ENUM_ENTRY) kCount };
#undef TG_ENUM_ENTRY

#define TG_INTS_ENTRY(name, ints) ints,
constexpr bool kUnaryIntegerOk[] = {TG_UNARY_OPS(TG_INTS_ENTRY)};
constexpr bool kBinaryIntegerOk[] = {TG_BINARY_OPS(TG_INTS_ENTRY)};
constexpr bool kRandomIntegerOk[] = {TG_RANDOM_KINDS(TG_INTS_ENTRY)};
#undef TG_INTS_ENTRY

}  // namespace tg

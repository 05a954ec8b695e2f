/**
 * Seeded random tensors from the native Philox generator. Element i of a call
 * depends only on (seed, offset + i), never on the thread count. Without an
 * explicit seed, calls draw from a global stream set by manualSeed().
 */
import { native, type RandomKind } from '../binding';
import { checkInteger, checkNumber, checkOptions, checkShape, checkTensor, expected } from '../check';
import { DEFAULT_FLOAT, isFloating, type DType } from '../dtype';
import { numel, type Shape } from '../shape';
import { Tensor } from '../tensor';
import { cast, setRequiresGrad } from './convert';
import { lt } from './elementwise';
import { resolveOptions, type CreateOptions } from './creation';

export interface RandomOptions extends CreateOptions {
  /** A fixed seed makes this call reproducible on its own, whatever came before. */
  seed?: number;
}

const stream = { seed: 0x5eed, offset: 0 };

/** Restarts the global random stream (torch.manual_seed). */
export function manualSeed(seed: number): void {
  checkInteger('manualSeed', 'seed', seed, 0);
  stream.seed = seed;
  stream.offset = 0;
}

function draw(op: string, kind: RandomKind, shape: Shape, p1: number, p2: number, options: unknown, defaultDType: DType = DEFAULT_FLOAT): Tensor {
  const s = checkShape(op, shape);
  const opts = checkOptions(op, options);
  const { seed: fixed, ...rest } = opts;
  const o = resolveOptions(op, rest, defaultDType);
  if (kind !== 'randint' && !isFloating(o.dtype)) expected(TypeError, op, 'a floating-point dtype', 'dtype', o.dtype);
  let seed: number;
  let offset: number;
  if (fixed !== undefined) {
    seed = checkInteger(op, 'seed', fixed, 0);
    offset = 0;
  } else {
    seed = stream.seed;
    offset = stream.offset;
    stream.offset += numel(s);
  }
  const t = Tensor._empty(op, s, o.dtype, o.device);
  native.random(native.randomKinds[kind], t._s, t.numel, seed, offset, p1, p2);
  if (o.requiresGrad) setRequiresGrad(t, true);
  return t;
}

/** Uniform on [0, 1). */
export function rand(shape: readonly number[], options?: RandomOptions): Tensor {
  return draw('rand', 'uniform', shape, 0, 1, options);
}

/** Standard normal. */
export function randn(shape: readonly number[], options?: RandomOptions): Tensor {
  return draw('randn', 'normal', shape, 0, 1, options);
}

/** Integers uniform on [low, high); int32 unless a dtype is given. */
export function randint(low: number, high: number, shape: readonly number[], options?: RandomOptions): Tensor {
  checkInteger('randint', 'low', low);
  checkInteger('randint', 'high', high);
  if (high <= low) throw new RangeError(`randint: high (${high}) must be greater than low (${low})`);
  return draw('randint', 'randint', shape, low, high, options, 'int32');
}

/** 1 with probability p (a number, or a tensor of probabilities), else 0. */
export function bernoulli(p: Tensor | number, options?: RandomOptions & { shape?: readonly number[] }): Tensor {
  const opts = checkOptions('bernoulli', options);
  const { shape, ...rest } = opts;
  if (p instanceof Tensor) {
    checkTensor('bernoulli', 'p', p);
    const u = draw('bernoulli', 'uniform', p.shape, 0, 1, { ...rest, dtype: isFloating(p.dtype) ? p.dtype : DEFAULT_FLOAT });
    return cast(lt(u, p.detach()), u.dtype, 'bernoulli');
  }
  checkNumber('bernoulli', 'p', p);
  if (!(p >= 0 && p <= 1)) expected(RangeError, 'bernoulli', 'a probability in [0, 1]', 'p', p);
  const u = draw('bernoulli', 'uniform', (shape as number[] | undefined) ?? [], 0, 1, rest);
  return cast(lt(u, p), u.dtype, 'bernoulli');
}

export function randLike(t: Tensor, options?: RandomOptions): Tensor {
  checkTensor('randLike', 'input', t);
  return rand(t.shape, { dtype: t.dtype, device: t.device, ...options });
}

export function randnLike(t: Tensor, options?: RandomOptions): Tensor {
  checkTensor('randnLike', 'input', t);
  return randn(t.shape, { dtype: t.dtype, device: t.device, ...options });
}

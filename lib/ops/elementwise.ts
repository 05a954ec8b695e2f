/**
 * Elementwise ops: unary math and activations, binary arithmetic with NumPy
 * broadcasting and JS-number operands, comparisons and where. Each op checks its
 * inputs, promotes dtypes as PyTorch does, runs one native kernel and records a
 * backward rule written with these same ops (so it differentiates again).
 */
import { native, type BinaryName, type CompareName, type UnaryName } from '../binding';
import { record } from '../autograd';
import { checkNumber, checkOptions, checkSameDevice, checkTensor, expected, shapesText } from '../check';
import { DEFAULT_FLOAT, isFloating, promoteTypes, promoteWithScalar, type DType } from '../dtype';
import { broadcastStrides, tryBroadcast, type Shape } from '../shape';
import { Tensor } from '../tensor';
import { cast } from './convert';
import { scalarTensor, zerosLike } from './creation';
import { sumToShape } from './reduce';

export type Operand = Tensor | number;

// ---------------------------------------------------------------- unary

function unaryKernel(op: string, name: UnaryName, x: Tensor, a = 0, b = 0): Tensor {
  const out = Tensor._empty(op, x.shape, x.dtype, x.device);
  native.unary(native.unaryOps[name], x._s, out._s, x.numel, a, b);
  return out;
}

/** Input of a float-only op: integers and bool compute in the default float type. */
function floatInput(op: string, x: Tensor): Tensor {
  checkTensor(op, 'input', x);
  return isFloating(x.dtype) ? x : cast(x, DEFAULT_FLOAT, op);
}

/** Input of an op that also runs on integers (not on bool). */
function numericInput(op: string, x: Tensor): Tensor {
  checkTensor(op, 'input', x);
  if (x.dtype === 'bool') expected(TypeError, op, 'a numeric tensor', 'input', x);
  return x;
}

export function neg(x: Tensor): Tensor {
  x = numericInput('neg', x);
  return record(unaryKernel('neg', 'neg', x), 'neg', [x], (g) => [neg(g)]);
}

export function abs(x: Tensor): Tensor {
  x = numericInput('abs', x);
  return record(unaryKernel('abs', 'abs', x), 'abs', [x], (g) => [mul(g, sign(x))]);
}

export function exp(x: Tensor): Tensor {
  x = floatInput('exp', x);
  const y = unaryKernel('exp', 'exp', x);
  return record(y, 'exp', [x], (g) => [mul(g, y)]);
}

export function log(x: Tensor): Tensor {
  x = floatInput('log', x);
  return record(unaryKernel('log', 'log', x), 'log', [x], (g) => [div(g, x)]);
}

export function log1p(x: Tensor): Tensor {
  x = floatInput('log1p', x);
  return record(unaryKernel('log1p', 'log1p', x), 'log1p', [x], (g) => [div(g, add(x, 1))]);
}

export function sqrt(x: Tensor): Tensor {
  x = floatInput('sqrt', x);
  const y = unaryKernel('sqrt', 'sqrt', x);
  return record(y, 'sqrt', [x], (g) => [div(g, mul(y, 2))]);
}

export function rsqrt(x: Tensor): Tensor {
  x = floatInput('rsqrt', x);
  const y = unaryKernel('rsqrt', 'rsqrt', x);
  // d/dx x^(-1/2) = -x^(-3/2) / 2 = -y^3 / 2
  return record(y, 'rsqrt', [x], (g) => [mul(g, mul(pow(y, 3), -0.5))]);
}

export function square(x: Tensor): Tensor {
  x = numericInput('square', x);
  return record(unaryKernel('square', 'square', x), 'square', [x], (g) => [mul(g, mul(x, 2))]);
}

export function sin(x: Tensor): Tensor {
  x = floatInput('sin', x);
  return record(unaryKernel('sin', 'sin', x), 'sin', [x], (g) => [mul(g, cos(x))]);
}

export function cos(x: Tensor): Tensor {
  x = floatInput('cos', x);
  return record(unaryKernel('cos', 'cos', x), 'cos', [x], (g) => [neg(mul(g, sin(x)))]);
}

export function tanh(x: Tensor): Tensor {
  x = floatInput('tanh', x);
  const y = unaryKernel('tanh', 'tanh', x);
  return record(y, 'tanh', [x], (g) => [mul(g, sub(1, square(y)))]);
}

export function sigmoid(x: Tensor): Tensor {
  x = floatInput('sigmoid', x);
  const y = unaryKernel('sigmoid', 'sigmoid', x);
  return record(y, 'sigmoid', [x], (g) => [mul(g, mul(y, sub(1, y)))]);
}

export function relu(x: Tensor): Tensor {
  x = numericInput('relu', x);
  return record(unaryKernel('relu', 'relu', x), 'relu', [x], (g) => [where(gt(x, 0), g, 0)]);
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  checkNumber('leakyRelu', 'negativeSlope', negativeSlope);
  x = floatInput('leakyRelu', x);
  const y = unaryKernel('leakyRelu', 'leakyRelu', x, negativeSlope);
  return record(y, 'leakyRelu', [x], (g) => [where(gt(x, 0), g, mul(g, negativeSlope))]);
}

export function elu(x: Tensor, alpha = 1): Tensor {
  checkNumber('elu', 'alpha', alpha);
  x = floatInput('elu', x);
  const y = unaryKernel('elu', 'elu', x, alpha);
  // below zero y = alpha (e^x - 1), so dy/dx = y + alpha
  return record(y, 'elu', [x], (g) => [where(gt(x, 0), g, mul(g, add(y, alpha)))]);
}

export interface GeluOptions {
  /** 'tanh' uses the tanh approximation, as torch.nn.functional.gelu(approximate='tanh'). */
  approximate?: 'none' | 'tanh';
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function gelu(x: Tensor, options?: GeluOptions): Tensor {
  const approximate = checkOptions('gelu', options).approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    expected(TypeError, 'gelu', "'none' or 'tanh'", 'approximate', approximate);
  }
  x = floatInput('gelu', x);
  if (approximate === 'tanh') {
    const y = unaryKernel('gelu', 'geluTanh', x);
    return record(y, 'gelu', [x], (g) => {
      const x2 = square(x);
      const t = tanh(mul(add(x, mul(mul(x2, x), 0.044715)), SQRT_2_OVER_PI));
      const dt = mul(sub(1, square(t)), mul(add(mul(x2, 3 * 0.044715), 1), SQRT_2_OVER_PI));
      return [mul(g, add(mul(add(t, 1), 0.5), mul(mul(x, dt), 0.5)))];
    });
  }
  const y = unaryKernel('gelu', 'gelu', x);
  return record(y, 'gelu', [x], (g) => {
    // d/dx x*Phi(x) = Phi(x) + x*phi(x)
    const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(square(x), -0.5)), INV_SQRT_2PI);
    return [mul(g, add(cdf, mul(x, pdf)))];
  });
}

export function silu(x: Tensor): Tensor {
  x = floatInput('silu', x);
  return record(unaryKernel('silu', 'silu', x), 'silu', [x], (g) => {
    const s = sigmoid(x);
    return [mul(g, mul(s, add(mul(x, sub(1, s)), 1)))];
  });
}

export interface SoftplusOptions {
  beta?: number;
  /** Above beta*x > threshold the result is x itself (default 20). */
  threshold?: number;
}

export function softplus(x: Tensor, options?: SoftplusOptions): Tensor {
  const opts = checkOptions('softplus', options);
  const beta = checkNumber('softplus', 'beta', opts.beta ?? 1);
  const threshold = checkNumber('softplus', 'threshold', opts.threshold ?? 20);
  if (beta === 0) expected(RangeError, 'softplus', 'a non-zero number', 'beta', beta);
  x = floatInput('softplus', x);
  const y = unaryKernel('softplus', 'softplus', x, beta, threshold);
  return record(y, 'softplus', [x], (g) => {
    const bx = mul(x, beta);
    return [where(gt(bx, threshold), g, mul(g, sigmoid(bx)))];
  });
}

/** Limits values to [min, max]; null or undefined leaves that side open. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  checkNumber('clamp', 'min', lo);
  checkNumber('clamp', 'max', hi);
  if (min == null && max == null) {
    throw new TypeError('clamp: Expected at least one of min and max but received neither');
  }
  x = numericInput('clamp', x);
  if (!isFloating(x.dtype) && (!Number.isInteger(lo) && isFinite(lo) || !Number.isInteger(hi) && isFinite(hi))) {
    x = cast(x, DEFAULT_FLOAT, 'clamp');
  }
  const y = unaryKernel('clamp', 'clamp', x, lo, hi);
  return record(y, 'clamp', [x], (g) => [where(mul(ge(x, lo), le(x, hi)), g, 0)]);
}

export function sign(x: Tensor): Tensor {
  x = numericInput('sign', x);
  return record(unaryKernel('sign', 'sign', x), 'sign', [x], () => [zerosLike(x)]);
}

export function reciprocal(x: Tensor): Tensor {
  x = floatInput('reciprocal', x);
  const y = unaryKernel('reciprocal', 'reciprocal', x);
  return record(y, 'reciprocal', [x], (g) => [neg(mul(g, square(y)))]);
}

export function erf(x: Tensor): Tensor {
  x = floatInput('erf', x);
  return record(unaryKernel('erf', 'erf', x), 'erf', [x], (g) => [
    mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))),
  ]);
}

// ---------------------------------------------------------------- binary

interface Operands {
  a: Tensor;
  b: Tensor;
  shape: number[];
}

/** Checks two operands, promotes them to one dtype and broadcasts their shapes. */
function operands(op: string, a: Operand, b: Operand, names: [string, string] = ['input', 'other']): Operands {
  const aIsT = a instanceof Tensor;
  const bIsT = b instanceof Tensor;
  if (!aIsT && typeof a !== 'number') expected(TypeError, op, 'a Tensor or a number', names[0], a);
  if (!bIsT && typeof b !== 'number') expected(TypeError, op, 'a Tensor or a number', names[1], b);
  if (aIsT) checkTensor(op, names[0], a);
  if (bIsT) checkTensor(op, names[1], b);
  let dtype: DType;
  if (aIsT && bIsT) {
    checkSameDevice(op, [a, b]);
    dtype = promoteTypes(a.dtype, b.dtype);
  } else if (aIsT) {
    dtype = promoteWithScalar(a.dtype, b as number);
  } else if (bIsT) {
    dtype = promoteWithScalar(b.dtype, a as number);
  } else {
    dtype = Number.isInteger(a) && Number.isInteger(b) ? 'int32' : DEFAULT_FLOAT;
  }
  const device = aIsT ? a.device : bIsT ? b.device : 'cpu';
  const ta = aIsT ? cast(a, dtype, op) : scalarTensor(a as number, dtype, device);
  const tb = bIsT ? cast(b, dtype, op) : scalarTensor(b as number, dtype, device);
  const shape = tryBroadcast(ta.shape, tb.shape);
  if (shape === null) {
    throw new RangeError(`${op}: shapes ${shapesText(ta.shape, tb.shape)} cannot be broadcast together`);
  }
  return { a: ta, b: tb, shape };
}

function binaryKernel(op: string, name: BinaryName, { a, b, shape }: Operands): Tensor {
  const out = Tensor._empty(op, shape, a.dtype, a.device);
  native.binary(
    native.binaryOps[name], out._s, a._s, b._s, shape,
    broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape),
  );
  return out;
}

function reduceTo(g: Tensor, shape: Shape): Tensor {
  return sumToShape(g, shape);
}

export function add(a: Operand, b: Operand): Tensor {
  const o = operands('add', a, b);
  return record(binaryKernel('add', 'add', o), 'add', [o.a, o.b], (g) => [
    reduceTo(g, o.a.shape),
    reduceTo(g, o.b.shape),
  ]);
}

export function sub(a: Operand, b: Operand): Tensor {
  const o = operands('sub', a, b);
  return record(binaryKernel('sub', 'sub', o), 'sub', [o.a, o.b], (g) => [
    reduceTo(g, o.a.shape),
    reduceTo(neg(g), o.b.shape),
  ]);
}

export function mul(a: Operand, b: Operand): Tensor {
  const o = operands('mul', a, b);
  return record(binaryKernel('mul', 'mul', o), 'mul', [o.a, o.b], (g) => [
    o.a.requiresGrad ? reduceTo(mul(g, o.b), o.a.shape) : null,
    o.b.requiresGrad ? reduceTo(mul(g, o.a), o.b.shape) : null,
  ]);
}

/** True division: integer operands divide as float32, like torch.div. */
export function div(a: Operand, b: Operand): Tensor {
  let o = operands('div', a, b);
  if (!isFloating(o.a.dtype)) {
    o = { a: cast(o.a, DEFAULT_FLOAT, 'div'), b: cast(o.b, DEFAULT_FLOAT, 'div'), shape: o.shape };
  }
  const y = binaryKernel('div', 'div', o);
  return record(y, 'div', [o.a, o.b], (g) => [
    o.a.requiresGrad ? reduceTo(div(g, o.b), o.a.shape) : null,
    o.b.requiresGrad ? reduceTo(neg(div(mul(g, y), o.b)), o.b.shape) : null,
  ]);
}

export function pow(a: Operand, exponent: Operand): Tensor {
  const o = operands('pow', a, exponent, ['input', 'exponent']);
  const y = binaryKernel('pow', 'pow', o);
  return record(y, 'pow', [o.a, o.b], (g) => [
    // d/da a^b = b a^(b-1); 0 where b == 0 (else 0 * 0^-1 = NaN at a == 0), as PyTorch
    o.a.requiresGrad ? reduceTo(mul(g, where(eq(o.b, 0), 0, mul(o.b, pow(o.a, sub(o.b, 1))))), o.a.shape) : null,
    // d/db a^b = a^b log a; PyTorch's convention makes it 0 where a == 0
    o.b.requiresGrad ? reduceTo(mul(g, where(eq(o.a, 0), 0, mul(y, log(o.a)))), o.b.shape) : null,
  ]);
}

/** Gradient weights for maximum/minimum: 1 where a wins, 1/2 on ties, as in PyTorch. */
function extremeBackward(o: Operands, y: Tensor, wins: (a: Tensor, b: Tensor) => Tensor) {
  return (g: Tensor) => {
    const dtype = o.a.dtype;
    const wa = add(cast(wins(o.a, o.b), dtype), mul(cast(eq(o.a, o.b), dtype), 0.5));
    return [
      o.a.requiresGrad ? reduceTo(mul(g, wa), o.a.shape) : null,
      o.b.requiresGrad ? reduceTo(mul(g, sub(1, wa)), o.b.shape) : null,
    ];
  };
}

export function maximum(a: Operand, b: Operand): Tensor {
  const o = operands('maximum', a, b);
  const y = binaryKernel('maximum', 'maximum', o);
  return record(y, 'maximum', [o.a, o.b], extremeBackward(o, y, gt));
}

export function minimum(a: Operand, b: Operand): Tensor {
  const o = operands('minimum', a, b);
  const y = binaryKernel('minimum', 'minimum', o);
  return record(y, 'minimum', [o.a, o.b], extremeBackward(o, y, lt));
}

// ---------------------------------------------------------------- comparisons

function compare(name: CompareName, a: Operand, b: Operand): Tensor {
  const o = operands(name, a, b);
  const out = Tensor._empty(name, o.shape, 'bool', o.a.device);
  native.compare(
    native.compareOps[name], out._s, o.a._s, o.b._s, o.shape,
    broadcastStrides(o.a.shape, o.shape), broadcastStrides(o.b.shape, o.shape),
  );
  return out;
}

export const eq = (a: Operand, b: Operand): Tensor => compare('eq', a, b);
export const ne = (a: Operand, b: Operand): Tensor => compare('ne', a, b);
export const lt = (a: Operand, b: Operand): Tensor => compare('lt', a, b);
export const le = (a: Operand, b: Operand): Tensor => compare('le', a, b);
export const gt = (a: Operand, b: Operand): Tensor => compare('gt', a, b);
export const ge = (a: Operand, b: Operand): Tensor => compare('ge', a, b);

/** Elementwise choice: a where condition is true, else b (all three broadcast). */
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  checkTensor('where', 'condition', condition);
  if (condition.dtype !== 'bool') expected(TypeError, 'where', 'a bool tensor', 'condition', condition);
  const o = operands('where', a, b, ['input', 'other']);
  checkSameDevice('where', [condition, o.a]);
  const shape = tryBroadcast(condition.shape, o.shape);
  if (shape === null) {
    throw new RangeError(
      `where: condition shape ${shapesText(condition.shape, o.shape).replace(' and ', ' and operand shape ')} cannot be broadcast together`,
    );
  }
  const out = Tensor._empty('where', shape, o.a.dtype, o.a.device);
  native.where(
    out._s, condition._s, o.a._s, o.b._s, shape,
    broadcastStrides(condition.shape, shape), broadcastStrides(o.a.shape, shape), broadcastStrides(o.b.shape, shape),
  );
  return record(out, 'where', [o.a, o.b], (g) => [
    o.a.requiresGrad ? reduceTo(where(condition, g, 0), o.a.shape) : null,
    o.b.requiresGrad ? reduceTo(where(condition, 0, g), o.b.shape) : null,
  ]);
}

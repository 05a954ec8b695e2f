/**
 * Reductions over any set of dims (with keepDim), and softmax / logSoftmax.
 * The kernel reduces the middle of an (outer, r, inner) block: reduced dims that
 * are adjacent are used in place; otherwise they are first moved to the end.
 */
import { native, type ReduceName } from '../binding';
import { record } from '../autograd';
import { checkNumber, checkOptions, checkTensor, expected, normalizeDim, normalizeDims } from '../check';
import { DEFAULT_FLOAT, isFloating } from '../dtype';
import { broadcastAxes, numel, sameShape, type Shape } from '../shape';
import { Tensor } from '../tensor';
import { cast } from './convert';
import { abs, add, div, eq, exp, log, mul, ne, pow, sqrt, square, sub, where } from './elementwise';
import { expand, permuteCopy, reshape, scatterAdd } from './shape';
import { zerosLike } from './creation';
import { autocastToFloat32 } from '../amp/autocast';

export interface ReduceOptions {
  keepDim?: boolean;
}

export interface VarOptions extends ReduceOptions {
  /** Subtracted from the element count in the divisor (1: unbiased, Bessel's correction). */
  correction?: number;
}

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

type Dims = number | readonly number[] | undefined;

function keepDimOf(op: string, options: unknown): boolean {
  const k = checkOptions(op, options).keepDim ?? false;
  if (typeof k !== 'boolean') expected(TypeError, op, 'a boolean', 'keepDim', k);
  return k;
}

/** Output shape with the reduced dims kept as 1 (keepDim) or dropped. */
function reducedShape(shape: Shape, dims: readonly number[], keepDim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!dims.includes(i)) out.push(d);
    else if (keepDim) out.push(1);
  });
  return out;
}

/** The (outer, r, inner) view of x for reducing `dims`, moving them last if they are apart. */
function blockOf(x: Tensor, dims: readonly number[]): { src: Tensor; outer: number; r: number; inner: number } {
  const adjacent = dims.every((d, i) => i === 0 || d === dims[i - 1] + 1);
  if (adjacent && dims.length > 0) {
    const first = dims[0];
    const last = dims[dims.length - 1];
    return {
      src: x,
      outer: numel(x.shape.slice(0, first)),
      r: numel(x.shape.slice(first, last + 1)),
      inner: numel(x.shape.slice(last + 1)),
    };
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const src = permuteCopy(x, [...kept, ...dims]);
  return { src, outer: numel(kept.map((i) => x.shape[i])), r: numel(dims.map((i) => x.shape[i])), inner: 1 };
}

function reduceKernel(op: string, name: ReduceName, x: Tensor, dims: readonly number[], keepDim: boolean, indices?: Tensor): Tensor {
  const out = Tensor._empty(op, reducedShape(x.shape, dims, keepDim), x.dtype, x.device);
  const { src, outer, r, inner } = blockOf(x, dims);
  native.reduce(native.reduceOps[name], src._s, out._s, indices ? indices._s : null, outer, r, inner);
  return out;
}

/** Broadcasts a reduced gradient (or value) back over the input's shape. */
function spread(g: Tensor, x: Tensor, dims: readonly number[], keepDim: boolean): Tensor {
  const kept = keepDim ? g : reshape(g, reducedShape(x.shape, dims, true));
  return expand(kept, x.shape);
}

/** Sums a broadcast gradient back to `shape` (the inverse of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const summed = sum(g, broadcastAxes(shape, g.shape), { keepDim: true });
  return reshape(summed, shape);
}

function accumulating(op: string, x: Tensor): Tensor {
  checkTensor(op, 'input', x);
  x = autocastToFloat32(op, x);
  // bool and uint8 sum into int32 (PyTorch widens them to int64)
  return x.dtype === 'bool' || x.dtype === 'uint8' ? cast(x, 'int32', op) : x;
}

export function sum(x: Tensor, dim?: Dims, options?: ReduceOptions): Tensor {
  x = accumulating('sum', x);
  const dims = normalizeDims('sum', dim, x.ndim);
  const keepDim = keepDimOf('sum', options);
  const y = reduceKernel('sum', 'sum', x, dims, keepDim);
  return record(y, 'sum', [x], (g) => [spread(g, x, dims, keepDim)]);
}

export function mean(x: Tensor, dim?: Dims, options?: ReduceOptions): Tensor {
  checkTensor('mean', 'input', x);
  if (!isFloating(x.dtype)) x = cast(x, DEFAULT_FLOAT, 'mean');
  const dims = normalizeDims('mean', dim, x.ndim);
  const count = numel(dims.map((d) => x.shape[d]));
  return div(sum(x, dims, options), count);
}

export function prod(x: Tensor, dim?: Dims, options?: ReduceOptions): Tensor {
  x = accumulating('prod', x);
  const dims = normalizeDims('prod', dim, x.ndim);
  const keepDim = keepDimOf('prod', options);
  const y = reduceKernel('prod', 'prod', x, dims, keepDim);
  return record(y, 'prod', [x], (g) => {
    // d prod / d x_i = product of the others; zeros need care (y / x_i fails there)
    const isZero = eq(x, 0);
    const zeroCount = sum(isZero, dims, { keepDim: true });
    const safe = where(isZero, 1, x);
    const others = prod(safe, dims, { keepDim: true }); // product of the non-zero entries
    const gk = keepDim ? g : reshape(g, reducedShape(x.shape, dims, true));
    const noZero = div(others, safe);
    const oneZero = where(isZero, expand(others, x.shape), 0);
    const local = where(eq(zeroCount, 0), noZero, where(eq(zeroCount, 1), oneZero, 0));
    return [mul(expand(gk, x.shape), local)];
  });
}

/** max / min have no identity: a reduced dim must not be empty (kept dims may be, as in PyTorch). */
function checkNonEmpty(op: string, x: Tensor, dims: readonly number[]): void {
  const empty = dims.find((d) => x.shape[d] === 0);
  if (empty !== undefined) {
    throw new RangeError(`${op}: cannot reduce over dim ${empty} of size 0 (shape [${x.shape.join(',')}])`);
  }
}

function extreme(op: 'max' | 'min', x: Tensor, dim: Dims, options?: ReduceOptions): Tensor {
  checkTensor(op, 'input', x);
  const dims = normalizeDims(op, dim, x.ndim);
  checkNonEmpty(op, x, dims);
  const keepDim = keepDimOf(op, options);
  const y = reduceKernel(op, op, x, dims, keepDim);
  return record(y, op, [x], (g) => {
    // ties share the gradient evenly, as torch.amax/amin do
    const mask = cast(eq(x, spread(y, x, dims, keepDim)), x.dtype);
    const count = sum(mask, dims, { keepDim: true });
    return [mul(spread(g, x, dims, keepDim), div(mask, expand(count, x.shape)))];
  });
}

/** Largest value over dims (all by default); torch.amax. */
export function max(x: Tensor, dim?: Dims, options?: ReduceOptions): Tensor {
  return extreme('max', x, dim, options);
}

/** Smallest value over dims (all by default); torch.amin. */
export function min(x: Tensor, dim?: Dims, options?: ReduceOptions): Tensor {
  return extreme('min', x, dim, options);
}

function extremeWithIndices(op: 'max' | 'min', opName: string, x: Tensor, dim: number, options?: ReduceOptions): ValuesIndices {
  checkTensor(opName, 'input', x);
  const d = normalizeDim(opName, dim, x.ndim);
  const dims = x.ndim === 0 ? [] : [d];
  checkNonEmpty(opName, x, dims);
  const keepDim = keepDimOf(opName, options);
  const indices = Tensor._empty(opName, reducedShape(x.shape, dims, keepDim), 'int32', x.device);
  const values = reduceKernel(opName, op, x, dims, keepDim, indices);
  record(values, opName, [x], (g) => {
    if (x.ndim === 0) return [g];
    const shape = reducedShape(x.shape, dims, true);
    return [scatterAdd(zerosLike(x), d, reshape(indices, shape), reshape(g, shape))];
  });
  return { values, indices };
}

/** Values and positions of the maximum along one dim (torch.max(x, dim)). */
export function maxWithIndices(x: Tensor, dim: number, options?: ReduceOptions): ValuesIndices {
  return extremeWithIndices('max', 'maxWithIndices', x, dim, options);
}

export function minWithIndices(x: Tensor, dim: number, options?: ReduceOptions): ValuesIndices {
  return extremeWithIndices('min', 'minWithIndices', x, dim, options);
}

function argExtreme(op: 'max' | 'min', opName: string, x: Tensor, dim?: number, options?: ReduceOptions): Tensor {
  checkTensor(opName, 'input', x);
  if (dim === undefined) {
    // over all elements, as indices into the flattened tensor
    const keepDim = keepDimOf(opName, options);
    const flat = extremeWithIndices(op, opName, reshape(x, [x.numel]), 0).indices;
    return keepDim ? reshape(flat, x.shape.map(() => 1)) : flat;
  }
  return extremeWithIndices(op, opName, x, dim, options).indices;
}

export function argmax(x: Tensor, dim?: number, options?: ReduceOptions): Tensor {
  return argExtreme('max', 'argmax', x, dim, options);
}

export function argmin(x: Tensor, dim?: number, options?: ReduceOptions): Tensor {
  return argExtreme('min', 'argmin', x, dim, options);
}

/** Variance with `correction` (default 1, the unbiased estimate). */
export function variance(x: Tensor, dim?: Dims, options?: VarOptions): Tensor {
  checkTensor('var', 'input', x);
  const opts = checkOptions('var', options);
  const correction = checkNumber('var', 'correction', opts.correction ?? 1);
  const keepDim = keepDimOf('var', options);
  if (!isFloating(x.dtype)) x = cast(x, DEFAULT_FLOAT, 'var');
  const dims = normalizeDims('var', dim, x.ndim);
  const count = numel(dims.map((d) => x.shape[d]));
  const centered = sub(x, mean(x, dims, { keepDim: true }));
  return div(sum(square(centered), dims, { keepDim }), Math.max(count - correction, 0));
}

export function std(x: Tensor, dim?: Dims, options?: VarOptions): Tensor {
  return sqrt(variance(x, dim, options));
}

/** log(sum(exp(x))) over dims, shifted by the max so large inputs do not overflow. */
export function logSumExp(x: Tensor, dim?: Dims, options?: ReduceOptions): Tensor {
  checkTensor('logSumExp', 'input', x);
  x = autocastToFloat32('logSumExp', x);
  if (!isFloating(x.dtype)) x = cast(x, DEFAULT_FLOAT, 'logSumExp');
  const dims = normalizeDims('logSumExp', dim, x.ndim);
  const keepDim = keepDimOf('logSumExp', options);
  // the max shift keeps exp from overflowing; an empty reduction (log 0 = -inf) has none
  const empty = dims.some((d) => x.shape[d] === 0);
  const m = empty ? null : max(x.detach(), dims, { keepDim: true });
  const shift = m === null ? 0 : where(eq(abs(m), Infinity), 0, m); // all -inf (or an inf) must not turn into NaN
  const s = log(sum(exp(sub(x, shift)), dims, { keepDim: true }));
  const y = add(s, shift);
  return keepDim ? y : reshape(y, reducedShape(x.shape, dims, false));
}

/** p-norm over dims (all by default): p = 2 (default), 1, Infinity, -Infinity, 0 or any other p. */
export function norm(x: Tensor, p = 2, dim?: Dims, options?: ReduceOptions): Tensor {
  checkTensor('norm', 'input', x);
  x = autocastToFloat32('norm', x);
  checkNumber('norm', 'p', p);
  if (!isFloating(x.dtype)) x = cast(x, DEFAULT_FLOAT, 'norm');
  const dims = normalizeDims('norm', dim, x.ndim);
  const keepDim = keepDimOf('norm', options);
  const opts = { keepDim };
  if (p === 1) return sum(abs(x), dims, opts);
  if (p === Infinity) return max(abs(x), dims, opts);
  if (p === -Infinity) return min(abs(x), dims, opts);
  if (p === 0) return sum(cast(ne(x, 0), x.dtype), dims, opts);
  if (p === 2) {
    const y = Tensor._empty('norm', reducedShape(x.shape, dims, keepDim), x.dtype, x.device);
    const sq = square(x.detach());
    const { src, outer, r, inner } = blockOf(sq, dims);
    native.reduce(native.reduceOps.sum, src._s, y._s, null, outer, r, inner);
    native.unary(native.unaryOps.sqrt, y._s, y._s, y.numel, 0, 0);
    // x / ||x||, with 0 where the norm is 0 (the subgradient PyTorch picks)
    return record(y, 'norm', [x], (g) => [mul(x, spread(where(eq(y, 0), 0, div(g, y)), x, dims, keepDim))]);
  }
  return pow(sum(pow(abs(x), p), dims, opts), 1 / p);
}

function softmaxInput(op: string, x: Tensor, dim: number): { x: Tensor; d: number } {
  checkTensor(op, 'input', x);
  x = autocastToFloat32(op, x);
  const d = normalizeDim(op, dim, x.ndim);
  return { x: isFloating(x.dtype) ? x : cast(x, DEFAULT_FLOAT, op), d };
}

function softmaxKernel(op: string, x: Tensor, d: number, log: boolean): Tensor {
  const out = Tensor._empty(op, x.shape, x.dtype, x.device);
  const r = x.ndim === 0 ? 1 : x.shape[d];
  native.softmax(x._s, out._s, numel(x.shape.slice(0, d)), r, numel(x.shape.slice(d + 1)), log);
  return out;
}

export function softmax(input: Tensor, dim: number): Tensor {
  const { x, d } = softmaxInput('softmax', input, dim);
  const y = softmaxKernel('softmax', x, d, false);
  return record(y, 'softmax', [x], (g) => [mul(y, sub(g, sum(mul(g, y), d, { keepDim: true })))]);
}

export function logSoftmax(input: Tensor, dim: number): Tensor {
  const { x, d } = softmaxInput('logSoftmax', input, dim);
  const y = softmaxKernel('logSoftmax', x, d, true);
  return record(y, 'logSoftmax', [x], (g) => [sub(g, mul(exp(y), sum(g, d, { keepDim: true })))]);
}

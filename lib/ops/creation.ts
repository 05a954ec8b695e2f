/** Creation: tensor() from JS data, and zeros, ones, full, arange, linspace, eye and the *Like forms. */
import { native, type HostArray } from '../binding';
import { checkBoolean, checkDType, checkInteger, checkNumber, checkOptions, checkShape, checkTensor, describe, expected } from '../check';
import { DEFAULT_FLOAT, isFloating, type DType } from '../dtype';
import { checkDevice, type Device, type DeviceLike } from '../device';
import { numel, type Shape } from '../shape';
import { fromHost, Tensor, type NestedArray } from '../tensor';
import { setRequiresGrad } from './convert';

export interface CreateOptions {
  dtype?: DType;
  device?: DeviceLike;
  requiresGrad?: boolean;
}

interface Resolved {
  dtype: DType;
  device: Device;
  requiresGrad: boolean;
}

export function resolveOptions(op: string, options: unknown, defaultDType: DType = DEFAULT_FLOAT): Resolved {
  const o = checkOptions(op, options);
  const dtype = o.dtype === undefined ? defaultDType : checkDType(op, o.dtype);
  const device = o.device === undefined ? 'cpu' : checkDevice(op, o.device);
  const requiresGrad = o.requiresGrad === undefined ? false : checkBoolean(op, 'requiresGrad', o.requiresGrad);
  if (requiresGrad && !isFloating(dtype)) {
    throw new TypeError(`${op}: only floating-point tensors can require gradients, got ${dtype}`);
  }
  return { dtype, device, requiresGrad };
}

function finish(t: Tensor, o: Resolved): Tensor {
  if (o.requiresGrad) setRequiresGrad(t, true);
  return t;
}

export function filled(op: string, shape: Shape, value: number, dtype: DType, device: Device): Tensor {
  const t = Tensor._empty(op, shape, dtype, device);
  native.fill(t._s, t.numel, value);
  return t;
}

/** @internal A 0-d tensor holding a JS number, for scalar operands. */
export function scalarTensor(value: number, dtype: DType, device: Device): Tensor {
  return filled('scalar', [], value, dtype, device);
}

function dtypeOfArray(a: ArrayBufferView): DType | null {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  return null;
}

/** Walks nested arrays, checking they are rectangular, into a flat list. */
function flatten(data: NestedArray, shape: number[], out: Array<number | boolean>): void {
  const walk = (v: NestedArray, depth: number, path: string): void => {
    if (Array.isArray(v)) {
      if (depth === shape.length) {
        if (out.length > 0) throw new RangeError(`tensor: ragged nested array: ${path} is an array where a number was expected`);
        shape.push(v.length);
      } else if (v.length !== shape[depth]) {
        throw new RangeError(
          `tensor: ragged nested array: expected length ${shape[depth]} at ${path} but received ${v.length}`,
        );
      }
      v.forEach((e, i) => walk(e, depth + 1, `${path}[${i}]`));
      return;
    }
    if (depth !== shape.length) {
      throw new RangeError(`tensor: ragged nested array: ${path} is a number where an array of length ${shape[depth]} was expected`);
    }
    if (typeof v !== 'number' && typeof v !== 'boolean') {
      expected(TypeError, 'tensor', 'a number or boolean', path, v);
    }
    out.push(v);
  };
  walk(data, 0, 'data');
}

/**
 * A tensor from nested arrays, a typed array or a scalar. Numbers become float32
 * unless a dtype is given; booleans become bool; typed arrays keep their type.
 */
export function tensor(data: NestedArray | HostArray, options?: CreateOptions & { shape?: readonly number[] }): Tensor {
  const opts = checkOptions('tensor', options);
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    if (own === null) expected(TypeError, 'tensor', 'a Float32Array, Float64Array, Int32Array or Uint8Array', 'data', data);
    const o = resolveOptions('tensor', options, own);
    const shape = opts.shape === undefined ? [data.length] : checkShape('tensor', opts.shape, 'shape');
    if (numel(shape) !== data.length) {
      throw new RangeError(`tensor: shape [${shape.join(',')}] needs ${numel(shape)} values but data has ${data.length}`);
    }
    return finish(fromHost('tensor', data as HostArray, shape, o.dtype, o.device), o);
  }
  const shape: number[] = [];
  const flat: Array<number | boolean> = [];
  if (typeof data !== 'number' && typeof data !== 'boolean' && !Array.isArray(data)) {
    expected(TypeError, 'tensor', 'a number, boolean, nested array or typed array', 'data', data);
  }
  flatten(data, shape, flat);
  const allBool = flat.length > 0 && flat.every((v) => typeof v === 'boolean');
  if (!allBool && flat.some((v) => typeof v === 'boolean')) {
    throw new TypeError(`tensor: data mixes booleans and numbers (${describe(data)})`);
  }
  const o = resolveOptions('tensor', options, allBool ? 'bool' : DEFAULT_FLOAT);
  const values = Float64Array.from(flat, (v) => Number(v));
  return finish(fromHost('tensor', values, shape, o.dtype, o.device), o);
}

export function full(shape: readonly number[], value: number, options?: CreateOptions): Tensor {
  const s = checkShape('full', shape);
  checkNumber('full', 'value', value);
  const o = resolveOptions('full', options);
  return finish(filled('full', s, value, o.dtype, o.device), o);
}

export function zeros(shape: readonly number[], options?: CreateOptions): Tensor {
  const s = checkShape('zeros', shape);
  const o = resolveOptions('zeros', options);
  return finish(filled('zeros', s, 0, o.dtype, o.device), o);
}

export function ones(shape: readonly number[], options?: CreateOptions): Tensor {
  const s = checkShape('ones', shape);
  const o = resolveOptions('ones', options);
  return finish(filled('ones', s, 1, o.dtype, o.device), o);
}

function likeOptions(op: string, t: Tensor, options: unknown): Resolved {
  checkTensor(op, 'input', t);
  const o = checkOptions(op, options);
  return resolveOptions(op, { dtype: t.dtype, device: t.device, ...o });
}

export function zerosLike(t: Tensor, options?: CreateOptions): Tensor {
  const o = likeOptions('zerosLike', t, options);
  return finish(filled('zerosLike', t.shape, 0, o.dtype, o.device), o);
}

export function onesLike(t: Tensor, options?: CreateOptions): Tensor {
  const o = likeOptions('onesLike', t, options);
  return finish(filled('onesLike', t.shape, 1, o.dtype, o.device), o);
}

export function fullLike(t: Tensor, value: number, options?: CreateOptions): Tensor {
  checkNumber('fullLike', 'value', value);
  const o = likeOptions('fullLike', t, options);
  return finish(filled('fullLike', t.shape, value, o.dtype, o.device), o);
}

/**
 * Values from start (inclusive) to end (exclusive) by step: arange(5), arange(2, 8),
 * arange(0, 1, 0.25). int32 when every argument is an integer, else float32.
 */
export function arange(start: number, end?: number, step = 1, options?: CreateOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  checkNumber('arange', 'start', start);
  checkNumber('arange', 'end', end);
  checkNumber('arange', 'step', step);
  if (step === 0 || !Number.isFinite(step)) expected(RangeError, 'arange', 'a finite non-zero number', 'step', step);
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    expected(RangeError, 'arange', 'finite bounds', 'start/end', [start, end]);
  }
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const o = resolveOptions('arange', options, ints ? 'int32' : DEFAULT_FLOAT);
  const count = Math.max(0, Math.ceil((end - start) / step));
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = start + i * step;
  return finish(fromHost('arange', values, [count], o.dtype, o.device), o);
}

/** `steps` values evenly spaced from start to end, both included. */
export function linspace(start: number, end: number, steps: number, options?: CreateOptions): Tensor {
  checkNumber('linspace', 'start', start);
  checkNumber('linspace', 'end', end);
  checkInteger('linspace', 'steps', steps, 0);
  const o = resolveOptions('linspace', options);
  const values = new Float64Array(steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // fill from both ends so the last value is exactly `end`, as torch.linspace does
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) values[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  return finish(fromHost('linspace', values, [steps], o.dtype, o.device), o);
}

/** Identity matrix of n rows and m (default n) columns. */
export function eye(n: number, m?: number, options?: CreateOptions): Tensor {
  checkInteger('eye', 'n', n, 0);
  const cols = m === undefined ? n : checkInteger('eye', 'm', m, 0);
  const o = resolveOptions('eye', options);
  const values = new Float64Array(n * cols);
  for (let i = 0; i < Math.min(n, cols); i++) values[i * cols + i] = 1;
  return finish(fromHost('eye', values, [n, cols], o.dtype, o.device), o);
}

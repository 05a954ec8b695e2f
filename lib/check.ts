/**
 * Argument validation for every public function. One message template,
 * `<op>: Expected <what> for <name> but received <value>`, and a few
 * op-specific forms (shapes, dims, disposal) that name the values involved.
 * Everything here throws before any native code runs.
 */
import { DTYPES, isDType, isFloating, type DType } from './dtype';
import { DeviceMismatchError, DisposedError } from './errors';
import { formatShape, type Shape } from './shape';
import { Tensor } from './tensor';

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map(describe).join(',');
    return `[${items}${value.length > 8 ? ',...' : ''}]`;
  }
  if (value instanceof Tensor) return `a ${value.dtype} tensor of shape ${formatShape(value.shape)}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `a ${typeof value === 'function' ? 'function' : (value.constructor?.name ?? 'object')}`;
}

export function expected(
  Kind: typeof TypeError | typeof RangeError,
  op: string,
  what: string,
  name: string,
  value: unknown,
): never {
  throw new Kind(`${op}: Expected ${what} for ${name} but received ${describe(value)}`);
}

export function checkInteger(op: string, name: string, value: unknown, min = -Infinity): number {
  if (typeof value !== 'number') expected(TypeError, op, 'an integer', name, value);
  if (!Number.isInteger(value) || value < min) {
    const what = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : 'an integer';
    expected(RangeError, op, what, name, value);
  }
  return value;
}

export function checkNumber(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number') expected(TypeError, op, 'a number', name, value);
  return value;
}

export function checkBoolean(op: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') expected(TypeError, op, 'a boolean', name, value);
  return value;
}

export function checkShape(op: string, shape: unknown, name = 'shape'): number[] {
  if (!Array.isArray(shape)) expected(TypeError, op, 'an array of sizes', name, shape);
  return shape.map((d, i) => checkInteger(op, `${name}[${i}]`, d, 0));
}

export function checkDType(op: string, value: unknown, name = 'dtype'): DType {
  if (!isDType(value)) expected(TypeError, op, `one of ${DTYPES.join(', ')}`, name, value);
  return value;
}

export function checkTensor(op: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) expected(TypeError, op, 'a Tensor', name, value);
  if (value.disposed) {
    throw new DisposedError(
      `${op}: ${name} was disposed and cannot be used (shape ${formatShape(value.shape)}, ${value.dtype})`,
    );
  }
  return value;
}

export function checkFloating(op: string, name: string, t: Tensor): void {
  if (!isFloating(t.dtype)) expected(TypeError, op, 'a floating-point tensor', name, t);
}

export function checkSameDevice(op: string, tensors: readonly Tensor[]): void {
  const first = tensors[0];
  for (const t of tensors) {
    if (t.device !== first.device) {
      throw new DeviceMismatchError(
        `${op}: tensors are on different devices (${first.device} and ${t.device}); move them with .to()`,
      );
    }
  }
}

/** Resolves a possibly negative dim against ndim (a scalar accepts -1 and 0). */
export function normalizeDim(op: string, dim: unknown, ndim: number, name = 'dim'): number {
  checkInteger(op, name, dim);
  const n = Math.max(ndim, 1);
  const d = dim as number;
  if (d < -n || d >= n) {
    throw new RangeError(
      `${op}: ${name} ${d} is out of range for a tensor with ${ndim} dimensions (expected ${-n} to ${n - 1})`,
    );
  }
  return d < 0 ? d + n : d;
}

/** Sorted unique dims; undefined means all of them. */
export function normalizeDims(
  op: string,
  dims: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  if (!Array.isArray(list)) expected(TypeError, op, 'a dim or an array of dims', 'dim', dims);
  const out = list.map((d) => normalizeDim(op, d, ndim));
  const unique = [...new Set(out)].sort((a, b) => a - b);
  if (unique.length !== out.length) expected(RangeError, op, 'distinct dims', 'dim', dims);
  return ndim === 0 ? [] : unique;
}

export function checkOptions(op: string, options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    expected(TypeError, op, 'an options object', 'options', options);
  }
  return options as Record<string, unknown>;
}

export function shapesText(a: Shape, b: Shape): string {
  return `${formatShape(a)} and ${formatShape(b)}`;
}

/**
 * defaultCollate: turns a list of dataset items into one batch. Tensors stack along a
 * new first dimension, numbers become a 1-D tensor (int32 when all are integers in
 * range, else float32), booleans a bool tensor, typed arrays a [batch, length] tensor;
 * arrays and plain objects are collated element by element, and strings stay a list.
 */
import { expected } from '../check';
import { tensor } from '../ops/creation';
import { stack } from '../ops/shape';
import { Tensor } from '../tensor';

type HostTyped = Float32Array | Float64Array | Int32Array | Uint8Array;

/** The batch type defaultCollate builds from items of type T. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean | HostTyped
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : never;

const OP = 'defaultCollate';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function numbers(items: readonly unknown[], at: (i: number) => string): Tensor {
  let ints = true;
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (typeof v !== 'number') expected(TypeError, OP, 'a number', at(i), v);
    if (ints && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) ints = false;
  }
  return tensor(ints ? Int32Array.from(items as number[]) : Float32Array.from(items as number[]));
}

function typedArrays(items: readonly unknown[], at: (i: number) => string): Tensor {
  const first = items[0] as HostTyped;
  const Ctor = first.constructor as new (n: number) => HostTyped;
  const len = first.length;
  const out = new Ctor(items.length * len);
  items.forEach((v, i) => {
    if (!(v instanceof Ctor)) expected(TypeError, OP, `a ${Ctor.name}`, at(i), v);
    if (v.length !== len) expected(RangeError, OP, `a ${Ctor.name} of length ${len}`, at(i), `length ${v.length}`);
    out.set(v, i * len);
  });
  return tensor(out, { shape: [items.length, len] });
}

function collateAt(items: readonly unknown[], path: string): unknown {
  const at = (i: number) => `items[${i}]${path}`;
  const first = items[0];
  if (first instanceof Tensor) {
    items.forEach((v, i) => {
      if (!(v instanceof Tensor)) expected(TypeError, OP, 'a Tensor', at(i), v);
    });
    return stack(items as Tensor[], 0);
  }
  if (typeof first === 'number') return numbers(items, at);
  if (typeof first === 'boolean') {
    const bytes = new Uint8Array(items.length);
    items.forEach((v, i) => {
      if (typeof v !== 'boolean') expected(TypeError, OP, 'a boolean', at(i), v);
      bytes[i] = v ? 1 : 0;
    });
    return tensor(bytes, { dtype: 'bool' });
  }
  if (typeof first === 'string') {
    items.forEach((v, i) => {
      if (typeof v !== 'string') expected(TypeError, OP, 'a string', at(i), v);
    });
    return [...(items as string[])];
  }
  if (first instanceof Float32Array || first instanceof Float64Array || first instanceof Int32Array || first instanceof Uint8Array) {
    return typedArrays(items, at);
  }
  if (Array.isArray(first)) {
    items.forEach((v, i) => {
      if (!Array.isArray(v)) expected(TypeError, OP, 'an array', at(i), v);
      if (v.length !== first.length) {
        throw new RangeError(`${OP}: ${at(i)} has ${v.length} elements but ${at(0)} has ${first.length}`);
      }
    });
    return first.map((_, j) => collateAt(items.map((v) => (v as unknown[])[j]), `${path}[${j}]`));
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    const keyText = (k: readonly string[]) => `[${k.join(',')}]`;
    items.forEach((v, i) => {
      if (!isPlainObject(v)) expected(TypeError, OP, 'an object', at(i), v);
      const own = Object.keys(v);
      if (own.length !== keys.length || !keys.every((k) => Object.prototype.hasOwnProperty.call(v, k))) {
        throw new RangeError(`${OP}: ${at(i)} has keys ${keyText(own)} but ${at(0)} has keys ${keyText(keys)}`);
      }
    });
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = collateAt(items.map((v) => (v as Record<string, unknown>)[k]), `${path}.${k}`);
    return out;
  }
  return expected(
    TypeError,
    OP,
    'a Tensor, number, boolean, string, typed array, array or plain object',
    at(0),
    first,
  );
}

/** Collates dataset items into a batch (see the module comment for the rules). */
export function defaultCollate<T>(items: readonly T[]): Collated<T> {
  if (!Array.isArray(items) || items.length === 0) {
    expected(TypeError, OP, 'a non-empty array of items', 'items', items);
  }
  return collateAt(items, '') as Collated<T>;
}

/**
 * Conversions and read-back: dtype casts and device moves (both differentiable),
 * detach, clone, data/item/toArray, and the requiresGrad switch.
 */
import { native, type HostArray } from '../binding';
import { record } from '../autograd';
import { checkTensor, expected } from '../check';
import { isDType, isFloating, type DType } from '../dtype';
import { checkDevice, type Device, type DeviceLike } from '../device';
import { AutogradError } from '../errors';
import { contiguousStrides, formatShape } from '../shape';
import { Tensor, type NestedArray } from '../tensor';

export function setRequiresGrad(t: Tensor, value: boolean): void {
  checkTensor('requiresGrad', 'tensor', t);
  if (typeof value !== 'boolean') expected(TypeError, 'requiresGrad', 'a boolean', 'value', value);
  if (value && !isFloating(t.dtype)) {
    throw new TypeError(`requiresGrad: only floating-point tensors can require gradients, got ${t.dtype}`);
  }
  if (!value && !t.isLeaf) {
    throw new AutogradError('requiresGrad: a non-leaf tensor cannot stop requiring grad; use detach()');
  }
  t._requiresGrad = value;
}

/** Same storage, no graph. */
export function detach(t: Tensor): Tensor {
  checkTensor('detach', 'input', t);
  return t._alias(t.shape);
}

function copyInto(out: Tensor, t: Tensor): void {
  const strides = contiguousStrides(t.shape);
  native.copy(out._s, 0, strides, t._s, 0, strides, t.shape);
}

export function clone(t: Tensor): Tensor {
  checkTensor('clone', 'input', t);
  const out = Tensor._empty('clone', t.shape, t.dtype, t.device);
  copyInto(out, t);
  return record(out, 'clone', [t], (g) => [g]);
}

/** A copy in another dtype; gradients flow back cast to the input's dtype. */
export function cast(t: Tensor, dtype: DType, op = 'to'): Tensor {
  checkTensor(op, 'input', t);
  if (t.dtype === dtype) return t;
  const out = Tensor._empty(op, t.shape, dtype, t.device);
  native.cast(t._s, out._s, t.numel);
  if (!isFloating(dtype)) return out;
  return record(out, 'cast', [t], (g) => [cast(g, t.dtype)]);
}

function toDevice(t: Tensor, device: Device): Tensor {
  if (t.device === device) return t;
  const out = Tensor._empty('to', t.shape, t.dtype, device);
  native.transfer(t._s, out._s);
  return record(out, 'to', [t], (g) => [toDevice(g, t.device)]);
}

/** t.to('float16'), t.to('cuda'): returns t itself when nothing changes, like PyTorch. */
export function to(t: Tensor, target: DType | DeviceLike): Tensor {
  checkTensor('to', 'input', t);
  if (isDType(target)) return cast(t, target);
  return toDevice(t, checkDevice('to', target, 'target'));
}

export function data(t: Tensor): HostArray {
  checkTensor('data', 'tensor', t);
  return native.download(t._s, t.numel);
}

/** The values, without blocking the event loop while CUDA kernels finish. */
export function dataAsync(t: Tensor): Promise<HostArray> {
  checkTensor('dataAsync', 'tensor', t);
  return native.downloadAsync(t._s, t.numel);
}

export function item(t: Tensor): number {
  checkTensor('item', 'tensor', t);
  if (t.numel !== 1) {
    throw new RangeError(`item: only a single-element tensor converts to a number, got shape ${formatShape(t.shape)}`);
  }
  return native.download(t._s, 1)[0];
}

export function toArray(t: Tensor): NestedArray {
  const flat = data(t);
  const isBool = t.dtype === 'bool';
  const build = (dim: number, offset: number): NestedArray => {
    if (dim === t.ndim) return isBool ? flat[offset] !== 0 : flat[offset];
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}

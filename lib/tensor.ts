/**
 * Tensor: shape, dtype, device, autograd state and a reference to native storage.
 * Every tensor is contiguous (row-major); ops that PyTorch implements as strided
 * views copy instead, except reshape and detach, which share storage.
 * Methods are one-line calls into lib/ops, where the rules live.
 */
import type { HostArray } from './binding';
import { native } from './binding';
import type { DType } from './dtype';
import type { Device, DeviceLike } from './device';
import type { GradFn } from './autograd';
import { backward as runBackward } from './autograd';
import { allocate, StorageRef } from './storage';
import { DisposedError } from './errors';
import { normalizeDim } from './check';
import { numel, type Shape } from './shape';
import { formatTensor } from './format';
import * as ew from './ops/elementwise';
import * as red from './ops/reduce';
import * as sh from './ops/shape';
import * as mm from './ops/matmul';
import * as conv from './ops/convert';

export type Scalar = number;
export type NestedArray = number | boolean | NestedArray[];

export class Tensor {
  /** @internal */ _ref: StorageRef | null;
  /** @internal */ _gradFn: GradFn | null = null;
  /** @internal */ _requiresGrad = false;
  /** Gradient accumulated by backward() for a leaf that requires grad. */
  grad: Tensor | null = null;

  /** @internal Use tg.tensor(), tg.zeros() and the other creation functions. */
  constructor(
    ref: StorageRef,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly device: Device,
  ) {
    this._ref = ref;
  }

  /** @internal An uninitialized tensor for an op's output. */
  static _empty(op: string, shape: Shape, dtype: DType, device: Device): Tensor {
    return new Tensor(allocate(op, shape, dtype, device), [...shape], dtype, device);
  }

  /** @internal A tensor of another shape over the same storage (same numel). */
  _alias(shape: Shape): Tensor {
    const ref = this._storageRef('reshape');
    ref.refs++;
    return new Tensor(ref, [...shape], this.dtype, this.device);
  }

  /** @internal */
  _storageRef(op: string): StorageRef {
    if (this._ref === null || this._ref.freed) {
      throw new DisposedError(
        `${op}: the tensor was disposed and cannot be used (shape [${this.shape.join(',')}], ${this.dtype})`,
      );
    }
    return this._ref;
  }

  /** @internal The native storage, for passing to the addon. */
  get _s() {
    return this._storageRef('tensor').native;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    return numel(this.shape);
  }

  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[normalizeDim('size', dim, this.ndim)];
  }

  get disposed(): boolean {
    return this._ref === null || this._ref.freed;
  }

  /** Frees the native memory now (shared storage once its last user lets go). */
  dispose(): void {
    if (this._ref === null) return;
    this._ref.release();
    this._ref = null;
    this._gradFn = null;
    this.grad = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }

  requiresGrad_(value = true): this {
    conv.setRequiresGrad(this, value);
    return this;
  }

  get isLeaf(): boolean {
    return this._gradFn === null;
  }

  /** The op that produced this tensor in the graph, or null for a leaf. */
  get gradFn(): { readonly name: string } | null {
    return this._gradFn === null ? null : { name: this._gradFn.name };
  }

  backward(gradient?: Tensor, options?: { retainGraph?: boolean; createGraph?: boolean }): void {
    runBackward(this, gradient, options);
  }

  detach(): Tensor {
    return conv.detach(this);
  }

  clone(): Tensor {
    return conv.clone(this);
  }

  // ---- reading back ----
  data(): HostArray {
    return conv.data(this);
  }

  /** data() as a promise: on CUDA the wait for queued kernels happens off the main thread. */
  async dataAsync(): Promise<HostArray> {
    return conv.dataAsync(this);
  }

  item(): number {
    return conv.item(this);
  }

  toArray(): NestedArray {
    return conv.toArray(this);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- dtype and device ----
  to(target: DType | DeviceLike): Tensor {
    return conv.to(this, target);
  }
  float(): Tensor {
    return conv.to(this, 'float32');
  }
  double(): Tensor {
    return conv.to(this, 'float64');
  }
  half(): Tensor {
    return conv.to(this, 'float16');
  }
  bfloat16(): Tensor {
    return conv.to(this, 'bfloat16');
  }
  int(): Tensor {
    return conv.to(this, 'int32');
  }
  bool(): Tensor {
    return conv.to(this, 'bool');
  }
  cpu(): Tensor {
    return conv.to(this, 'cpu');
  }
  cuda(): Tensor {
    return conv.to(this, 'cuda');
  }

  // ---- elementwise ----
  neg(): Tensor { return ew.neg(this); }
  abs(): Tensor { return ew.abs(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  log1p(): Tensor { return ew.log1p(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  rsqrt(): Tensor { return ew.rsqrt(this); }
  square(): Tensor { return ew.square(this); }
  sin(): Tensor { return ew.sin(this); }
  cos(): Tensor { return ew.cos(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  relu(): Tensor { return ew.relu(this); }
  leakyRelu(negativeSlope?: number): Tensor { return ew.leakyRelu(this, negativeSlope); }
  elu(alpha?: number): Tensor { return ew.elu(this, alpha); }
  gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor { return ew.gelu(this, options); }
  silu(): Tensor { return ew.silu(this); }
  softplus(options?: { beta?: number; threshold?: number }): Tensor { return ew.softplus(this, options); }
  clamp(min?: number | null, max?: number | null): Tensor { return ew.clamp(this, min, max); }
  sign(): Tensor { return ew.sign(this); }
  reciprocal(): Tensor { return ew.reciprocal(this); }
  erf(): Tensor { return ew.erf(this); }
  add(other: Tensor | number): Tensor { return ew.add(this, other); }
  sub(other: Tensor | number): Tensor { return ew.sub(this, other); }
  mul(other: Tensor | number): Tensor { return ew.mul(this, other); }
  div(other: Tensor | number): Tensor { return ew.div(this, other); }
  pow(exponent: Tensor | number): Tensor { return ew.pow(this, exponent); }
  maximum(other: Tensor | number): Tensor { return ew.maximum(this, other); }
  minimum(other: Tensor | number): Tensor { return ew.minimum(this, other); }
  eq(other: Tensor | number): Tensor { return ew.eq(this, other); }
  ne(other: Tensor | number): Tensor { return ew.ne(this, other); }
  lt(other: Tensor | number): Tensor { return ew.lt(this, other); }
  le(other: Tensor | number): Tensor { return ew.le(this, other); }
  gt(other: Tensor | number): Tensor { return ew.gt(this, other); }
  ge(other: Tensor | number): Tensor { return ew.ge(this, other); }

  // ---- reductions ----
  sum(dim?: number | readonly number[], options?: red.ReduceOptions): Tensor { return red.sum(this, dim, options); }
  mean(dim?: number | readonly number[], options?: red.ReduceOptions): Tensor { return red.mean(this, dim, options); }
  prod(dim?: number | readonly number[], options?: red.ReduceOptions): Tensor { return red.prod(this, dim, options); }
  max(dim?: number | readonly number[], options?: red.ReduceOptions): Tensor { return red.max(this, dim, options); }
  min(dim?: number | readonly number[], options?: red.ReduceOptions): Tensor { return red.min(this, dim, options); }
  maxWithIndices(dim: number, options?: red.ReduceOptions): red.ValuesIndices { return red.maxWithIndices(this, dim, options); }
  minWithIndices(dim: number, options?: red.ReduceOptions): red.ValuesIndices { return red.minWithIndices(this, dim, options); }
  argmax(dim?: number, options?: red.ReduceOptions): Tensor { return red.argmax(this, dim, options); }
  argmin(dim?: number, options?: red.ReduceOptions): Tensor { return red.argmin(this, dim, options); }
  var(dim?: number | readonly number[], options?: red.VarOptions): Tensor { return red.variance(this, dim, options); }
  std(dim?: number | readonly number[], options?: red.VarOptions): Tensor { return red.std(this, dim, options); }
  logSumExp(dim?: number | readonly number[], options?: red.ReduceOptions): Tensor { return red.logSumExp(this, dim, options); }
  norm(p?: number, dim?: number | readonly number[], options?: red.ReduceOptions): Tensor { return red.norm(this, p, dim, options); }
  softmax(dim: number): Tensor { return red.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return red.logSoftmax(this, dim); }

  // ---- shape ----
  reshape(...shape: number[] | [readonly number[]]): Tensor { return sh.reshape(this, sh.shapeArgs(shape)); }
  view(...shape: number[] | [readonly number[]]): Tensor { return sh.reshape(this, sh.shapeArgs(shape)); }
  flatten(startDim?: number, endDim?: number): Tensor { return sh.flatten(this, startDim, endDim); }
  transpose(dim0: number, dim1: number): Tensor { return sh.transpose(this, dim0, dim1); }
  get T(): Tensor { return sh.transpose(this, 0, Math.max(this.ndim - 1, 0)); }
  permute(...dims: number[] | [readonly number[]]): Tensor { return sh.permute(this, sh.shapeArgs(dims)); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return sh.expand(this, sh.shapeArgs(shape)); }
  broadcastTo(shape: readonly number[]): Tensor { return sh.expand(this, shape); }
  squeeze(dim?: number | readonly number[]): Tensor { return sh.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return sh.unsqueeze(this, dim); }
  slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor { return sh.slice(this, dim, start, end, step); }
  narrow(dim: number, start: number, length: number): Tensor { return sh.narrow(this, dim, start, length); }
  indexSelect(dim: number, index: Tensor): Tensor { return sh.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return sh.gather(this, dim, index); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return sh.scatterAdd(this, dim, index, src); }
  split(sizeOrSections: number | readonly number[], dim?: number): Tensor[] { return sh.split(this, sizeOrSections, dim); }
  chunk(chunks: number, dim?: number): Tensor[] { return sh.chunk(this, chunks, dim); }
  pad(pads: readonly number[], value?: number): Tensor { return sh.pad(this, pads, value); }
  repeat(...repeats: number[] | [readonly number[]]): Tensor { return sh.repeat(this, sh.shapeArgs(repeats)); }
  tril(diagonal?: number): Tensor { return sh.tril(this, diagonal); }
  triu(diagonal?: number): Tensor { return sh.triu(this, diagonal); }

  // ---- linear algebra ----
  matmul(other: Tensor): Tensor { return mm.matmul(this, other); }
}

/** @internal Upload host values into a new tensor. */
export function fromHost(op: string, values: HostArray, shape: Shape, dtype: DType, device: Device): Tensor {
  const t = Tensor._empty(op, shape, dtype, device);
  native.upload(t._s, values);
  return t;
}

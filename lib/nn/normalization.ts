/**
 * Normalization, functional and as layers: layerNorm, batchNorm (with running
 * statistics) and groupNorm. Written with the public ops, so they differentiate to
 * any order. Statistics use the biased variance, as PyTorch normalizes; running
 * variances are updated with the unbiased one, as PyTorch does.
 */
import { noGrad } from '../autograd';
import { checkBoolean, checkInteger, checkNumber, checkOptions, checkSameDevice, checkTensor, expected } from '../check';
import { DEFAULT_FLOAT, type FloatDType } from '../dtype';
import type { DeviceLike } from '../device';
import { ones, zeros } from '../ops/creation';
import { cast } from '../ops/convert';
import { add, mul, rsqrt, square, sub } from '../ops/elementwise';
import { mean } from '../ops/reduce';
import { reshape } from '../ops/shape';
import { formatShape, sameShape } from '../shape';
import type { Tensor } from '../tensor';
import { assign, Module } from './module';

/** x - mean and the biased variance over dims (kept as size 1). */
function moments(x: Tensor, dims: number[]): { mu: Tensor; centered: Tensor; variance: Tensor } {
  const mu = mean(x, dims, { keepDim: true });
  const centered = sub(x, mu);
  return { mu, centered, variance: mean(square(centered), dims, { keepDim: true }) };
}

function floatInput(op: string, input: unknown, minDims: number): Tensor {
  const x = checkTensor(op, 'input', input);
  if (x.dtype !== 'float32' && x.dtype !== 'float64' && x.dtype !== 'float16' && x.dtype !== 'bfloat16') {
    expected(TypeError, op, 'a floating-point tensor', 'input', x);
  }
  if (x.ndim < minDims) expected(RangeError, op, `a tensor of at least ${minDims} dims`, 'input', x);
  return x;
}

function checkEps(op: string, eps: unknown): number {
  const e = checkNumber(op, 'eps', eps);
  if (!(e >= 0)) expected(RangeError, op, 'a non-negative number', 'eps', e);
  return e;
}

/** An optional affine tensor of the given shape. */
function affine(op: string, name: string, value: unknown, x: Tensor, shape: readonly number[]): Tensor | null {
  if (value === undefined || value === null) return null;
  const t = checkTensor(op, name, value);
  checkSameDevice(op, [x, t]);
  if (!sameShape(t.shape, shape)) expected(RangeError, op, `a tensor of shape ${formatShape(shape)}`, name, t);
  return t;
}

/** y * w + b with w and b reshaped to broadcast along `shape`. */
function scaleShift(y: Tensor, w: Tensor | null, b: Tensor | null, shape: readonly number[]): Tensor {
  if (w !== null) y = mul(y, reshape(w, shape));
  if (b !== null) y = add(y, reshape(b, shape));
  return y;
}

/** [1, C, 1, ...] for an input of x's rank: the shape of per-channel values. */
const perChannel = (x: Tensor): number[] => x.shape.map((d, i) => (i === 1 ? d : 1));

// ------------------------------------------------------------------ layer norm

export interface LayerNormFunctionalOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

function checkNormalizedShape(op: string, value: unknown): number[] {
  if (typeof value === 'number') return [checkInteger(op, 'normalizedShape', value, 1)];
  if (!Array.isArray(value) || value.length === 0) {
    expected(TypeError, op, 'a positive integer or a non-empty array of them', 'normalizedShape', value);
  }
  return value.map((d, i) => checkInteger(op, `normalizedShape[${i}]`, d, 1));
}

/** Normalizes over the trailing dims given by normalizedShape (torch.nn.functional.layer_norm). */
export function layerNorm(input: Tensor, normalizedShape: number | readonly number[], options?: LayerNormFunctionalOptions): Tensor {
  const op = 'layerNorm';
  const x = floatInput(op, input, 1);
  const shape = checkNormalizedShape(op, normalizedShape);
  const o = checkOptions(op, options) as LayerNormFunctionalOptions;
  const eps = checkEps(op, o.eps ?? 1e-5);
  const k = shape.length;
  if (x.ndim < k || !sameShape(x.shape.slice(x.ndim - k), shape)) {
    throw new RangeError(`${op}: input shape ${formatShape(x.shape)} does not end with the normalized shape ${formatShape(shape)}`);
  }
  const w = affine(op, 'weight', o.weight, x, shape);
  const b = affine(op, 'bias', o.bias, x, shape);
  const { centered, variance } = moments(x, shape.map((_, i) => x.ndim - k + i));
  return scaleShift(mul(centered, rsqrt(add(variance, eps))), w, b, shape);
}

// ------------------------------------------------------------------ group norm

export interface GroupNormFunctionalOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** Normalizes each sample over groups of channels (dim 1) and the spatial dims (torch.nn.functional.group_norm). */
export function groupNorm(input: Tensor, numGroups: number, options?: GroupNormFunctionalOptions): Tensor {
  const op = 'groupNorm';
  const x = floatInput(op, input, 2);
  checkInteger(op, 'numGroups', numGroups, 1);
  const o = checkOptions(op, options) as GroupNormFunctionalOptions;
  const eps = checkEps(op, o.eps ?? 1e-5);
  const channels = x.shape[1];
  if (channels % numGroups !== 0) {
    throw new RangeError(`${op}: the ${channels} channels of input shape ${formatShape(x.shape)} do not split into ${numGroups} groups`);
  }
  const w = affine(op, 'weight', o.weight, x, [channels]);
  const b = affine(op, 'bias', o.bias, x, [channels]);
  const grouped = reshape(x, [x.shape[0], numGroups, x.numel / Math.max(x.shape[0] * numGroups, 1)]);
  const { centered, variance } = moments(grouped, [2]);
  const y = reshape(mul(centered, rsqrt(add(variance, eps))), x.shape);
  return scaleShift(y, w, b, perChannel(x));
}

// ------------------------------------------------------------------ batch norm

export interface BatchNormFunctionalOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use the batch's statistics and update the running ones (default false: use the running ones). */
  training?: boolean;
  /** Weight of the new batch in the running averages (default 0.1). */
  momentum?: number;
  eps?: number;
}

function runningStat(op: string, name: string, value: unknown, x: Tensor): Tensor | null {
  if (value === undefined || value === null) return null;
  const t = checkTensor(op, name, value);
  checkSameDevice(op, [x, t]);
  if (!sameShape(t.shape, [x.shape[1]])) expected(RangeError, op, `a tensor of shape [${x.shape[1]}]`, name, t);
  return t;
}

function batchNormImpl(
  op: string, input: unknown, runningMean: unknown, runningVar: unknown, options: unknown,
): Tensor {
  const x = floatInput(op, input, 2);
  const o = checkOptions(op, options) as BatchNormFunctionalOptions;
  const training = checkBoolean(op, 'training', o.training ?? false);
  const momentum = checkNumber(op, 'momentum', o.momentum ?? 0.1);
  const eps = checkEps(op, o.eps ?? 1e-5);
  const channels = x.shape[1];
  const rm = runningStat(op, 'runningMean', runningMean, x);
  const rv = runningStat(op, 'runningVar', runningVar, x);
  if ((rm === null) !== (rv === null)) {
    throw new TypeError(`${op}: runningMean and runningVar must be given together`);
  }
  const w = affine(op, 'weight', o.weight, x, [channels]);
  const b = affine(op, 'bias', o.bias, x, [channels]);
  const shape = perChannel(x);
  if (!training) {
    if (rm === null || rv === null) {
      throw new TypeError(`${op}: running statistics are needed when not training (pass runningMean and runningVar, or training: true)`);
    }
    // y = x * scale + shift, with scale = w / sqrt(var + eps) and shift = b - mean * scale
    const stats = noGrad(() => [cast(rm, x.dtype), cast(rv, x.dtype)]);
    let scale = rsqrt(add(stats[1], eps));
    if (w !== null) scale = mul(scale, w);
    let shift = mul(stats[0], scale);
    shift = b === null ? mul(shift, -1) : sub(b, shift);
    return add(mul(x, reshape(scale, shape)), reshape(shift, shape));
  }
  const count = x.numel / channels;
  if (count <= 1) expected(RangeError, op, 'more than one value per channel when training', 'input', x);
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const { mu, centered, variance } = moments(x, dims);
  if (rm !== null && rv !== null) {
    noGrad(() => {
      assign(op, rm, add(mul(rm, 1 - momentum), mul(reshape(mu, [channels]), momentum)));
      const unbiased = mul(reshape(variance, [channels]), count / (count - 1));
      assign(op, rv, add(mul(rv, 1 - momentum), mul(unbiased, momentum)));
    });
  }
  return scaleShift(mul(centered, rsqrt(add(variance, eps))), w, b, shape);
}

/**
 * Normalizes each channel (dim 1) of [N, C, ...] input (torch.nn.functional.batch_norm).
 * training: the batch's statistics are used and, when given, the running ones are
 * updated in place; otherwise the running statistics are used.
 */
export function batchNorm(
  input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options?: BatchNormFunctionalOptions,
): Tensor {
  return batchNormImpl('batchNorm', input, runningMean, runningVar, options);
}

// ------------------------------------------------------------------ layers

interface Creation {
  dtype?: FloatDType;
  device?: DeviceLike;
}

const creation = (o: Creation) => ({ dtype: o.dtype ?? DEFAULT_FLOAT, device: o.device });

export interface LayerNormOptions extends Creation {
  eps?: number;
  /** Learn a per-element weight (and bias) of normalizedShape (default true). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, also learn the bias (default true). */
  bias?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], options?: LayerNormOptions) {
    super();
    const o = checkOptions('LayerNorm', options) as LayerNormOptions;
    this.normalizedShape = checkNormalizedShape('LayerNorm', normalizedShape);
    this.eps = checkEps('LayerNorm', o.eps ?? 1e-5);
    const on = checkBoolean('LayerNorm', 'elementwiseAffine', o.elementwiseAffine ?? true);
    const withBias = checkBoolean('LayerNorm', 'bias', o.bias ?? true);
    this.registerParameter('weight', on ? ones(this.normalizedShape, creation(o)) : null);
    this.registerParameter('bias', on && withBias ? zeros(this.normalizedShape, creation(o)) : null);
  }

  get weight(): Tensor | null {
    return this.param('weight');
  }

  get bias(): Tensor | null {
    return this.param('bias');
  }

  forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}

export interface GroupNormOptions extends Creation {
  eps?: number;
  /** Learn a per-channel weight and bias (default true). */
  affine?: boolean;
}

export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;

  constructor(numGroups: number, numChannels: number, options?: GroupNormOptions) {
    super();
    this.numGroups = checkInteger('GroupNorm', 'numGroups', numGroups, 1);
    this.numChannels = checkInteger('GroupNorm', 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) {
      throw new RangeError(`GroupNorm: numChannels ${numChannels} is not divisible by numGroups ${numGroups}`);
    }
    const o = checkOptions('GroupNorm', options) as GroupNormOptions;
    this.eps = checkEps('GroupNorm', o.eps ?? 1e-5);
    const on = checkBoolean('GroupNorm', 'affine', o.affine ?? true);
    this.registerParameter('weight', on ? ones([numChannels], creation(o)) : null);
    this.registerParameter('bias', on ? zeros([numChannels], creation(o)) : null);
  }

  get weight(): Tensor | null {
    return this.param('weight');
  }

  get bias(): Tensor | null {
    return this.param('bias');
  }

  forward(input: Tensor): Tensor {
    const x = checkTensor('GroupNorm', 'input', input);
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      expected(RangeError, 'GroupNorm', `a tensor with ${this.numChannels} channels in dim 1`, 'input', x);
    }
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.weight !== null}`;
  }
}

export interface BatchNormOptions extends Creation {
  eps?: number;
  /** Weight of each new batch in the running averages (default 0.1); null: a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel weight and bias (default true). */
  affine?: boolean;
  /** Keep running averages for eval mode (default true); without them eval uses batch statistics. */
  trackRunningStats?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly trackRunningStats: boolean;

  constructor(private readonly op: string, private readonly ranks: readonly number[], numFeatures: number, options?: BatchNormOptions) {
    super();
    this.numFeatures = checkInteger(op, 'numFeatures', numFeatures, 1);
    const o = checkOptions(op, options) as BatchNormOptions;
    this.eps = checkEps(op, o.eps ?? 1e-5);
    this.momentum = o.momentum === null ? null : checkNumber(op, 'momentum', o.momentum ?? 0.1);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      expected(RangeError, op, 'a number in [0, 1] or null', 'momentum', this.momentum);
    }
    const on = checkBoolean(op, 'affine', o.affine ?? true);
    this.trackRunningStats = checkBoolean(op, 'trackRunningStats', o.trackRunningStats ?? true);
    const c = creation(o);
    this.registerParameter('weight', on ? ones([numFeatures], c) : null);
    this.registerParameter('bias', on ? zeros([numFeatures], c) : null);
    const track = this.trackRunningStats;
    this.registerBuffer('runningMean', track ? zeros([numFeatures], c) : null);
    this.registerBuffer('runningVar', track ? ones([numFeatures], c) : null);
    this.registerBuffer('numBatchesTracked', track ? zeros([], { dtype: 'int32', device: o.device }) : null);
  }

  get weight(): Tensor | null {
    return this.param('weight');
  }

  get bias(): Tensor | null {
    return this.param('bias');
  }

  get runningMean(): Tensor | null {
    return this.buffer('runningMean');
  }

  get runningVar(): Tensor | null {
    return this.buffer('runningVar');
  }

  get numBatchesTracked(): Tensor | null {
    return this.buffer('numBatchesTracked');
  }

  forward(input: Tensor): Tensor {
    const x = checkTensor(this.op, 'input', input);
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      const rank = this.ranks.map((r) => `${r}-D`).join(' or ');
      expected(RangeError, this.op, `a ${rank} tensor with ${this.numFeatures} channels in dim 1`, 'input', x);
    }
    let momentum = this.momentum ?? 0;
    const rm = this.runningMean;
    const rv = this.runningVar;
    const n = this.numBatchesTracked;
    const update = this.training && rm !== null;
    if (update && n !== null && this.momentum === null) momentum = 1 / (n.item() + 1);
    // batch statistics in training, and in eval when no running ones are kept
    const y = batchNormImpl(this.op, x, rm, rv, {
      weight: this.weight, bias: this.bias, training: this.training || rm === null, momentum, eps: this.eps,
    });
    if (update && n !== null) noGrad(() => assign(this.op, n, add(n, 1)));
    return y;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options?: BatchNormOptions) {
    super('BatchNorm1d', [2, 3], numFeatures, options);
  }
}

/** Over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options?: BatchNormOptions) {
    super('BatchNorm2d', [4], numFeatures, options);
  }
}

/**
 * Loss functions with PyTorch's semantics and reductions ('mean' | 'sum' | 'none').
 * Each is written with the public ops, so each differentiates (to any order)
 * through autograd; class losses go through logSoftmax, which subtracts the row
 * max, so large logits cannot overflow. crossEntropy at class indices is the one
 * fused op softmaxCrossEntropy (ops/cross_entropy.ts), differentiable the same way.
 */
import { noGrad } from '../autograd';
import { checkInteger, checkNumber, checkOptions, checkSameDevice, checkTensor, expected, normalizeDims, shapesText } from '../check';
import { isFloating } from '../dtype';
import { cast } from '../ops/convert';
import { softmaxCrossEntropy } from '../ops/cross_entropy';
import { abs, add, clamp, div, exp, log, log1p, lt, maximum, mul, ne, neg, square, sub, where } from '../ops/elementwise';
import { logSoftmax, max, mean, min, sum } from '../ops/reduce';
import { gather, indexSelect, reshape, squeeze, unsqueeze } from '../ops/shape';
import { formatShape, sameShape, tryBroadcast } from '../shape';
import type { Tensor } from '../tensor';

export type Reduction = 'mean' | 'sum' | 'none';

export interface ReductionOptions {
  /** 'mean' (default) averages, 'sum' adds, 'none' returns the per-element losses. */
  reduction?: Reduction;
}

export interface SmoothL1LossOptions extends ReductionOptions {
  /** Where the loss turns from quadratic to linear (default 1; 0 is the L1 loss). */
  beta?: number;
}

export interface HuberLossOptions extends ReductionOptions {
  /** Where the loss turns from quadratic to linear (default 1). */
  delta?: number;
}

export interface ClassLossOptions extends ReductionOptions {
  /** A weight per class, shape [C]; 'mean' then divides by the summed weights of the counted targets. */
  weight?: Tensor;
  /** Class-index targets equal to this count for nothing (default -100). */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends ClassLossOptions {
  /** Mixes the target with the uniform distribution: (1 - s) target + s / C (default 0). */
  labelSmoothing?: number;
}

export interface BinaryCrossEntropyOptions extends ReductionOptions {
  /** Multiplies each element's loss; broadcasts to the input's shape. */
  weight?: Tensor;
}

export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive term, per class (broadcast along the last dims). */
  posWeight?: Tensor;
}

export interface OverlapLossOptions extends ReductionOptions {
  /** Added to numerator and denominator, so empty masks give a loss of 0 (default 1). */
  smooth?: number;
  /** The denominator is at least this (default 1e-7), so smooth 0 cannot divide by zero. */
  eps?: number;
  /** Dims summed into one score (default every dim but 0: one score per sample; [2, 3] for per-class scores of [N, C, H, W]). */
  dims?: number | readonly number[];
}

function reductionOf(op: string, options: Record<string, unknown>): Reduction {
  const r = options.reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') expected(TypeError, op, "'mean', 'sum' or 'none'", 'reduction', r);
  return r;
}

function reduceLoss(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? sum(loss) : mean(loss);
}

function floatInput(op: string, name: string, t: Tensor): void {
  if (!isFloating(t.dtype)) expected(TypeError, op, 'a floating-point tensor', name, t);
}

/** input and target of a pointwise loss: floating-point input, same shape, same device. */
function pointwise(op: string, input: Tensor, target: Tensor): void {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  checkSameDevice(op, [input, target]);
  floatInput(op, 'input', input);
  if (!sameShape(input.shape, target.shape)) {
    throw new RangeError(`${op}: input and target shapes ${shapesText(input.shape, target.shape)} differ`);
  }
}

/** An optional tensor that must broadcast to `shape` without growing it. */
function broadcastable(op: string, name: string, value: unknown, like: Tensor): Tensor | null {
  if (value === undefined || value === null) return null;
  const t = checkTensor(op, name, value);
  checkSameDevice(op, [like, t]);
  floatInput(op, name, t);
  const shape = tryBroadcast(t.shape, like.shape);
  if (shape === null || !sameShape(shape, like.shape)) {
    throw new RangeError(`${op}: ${name} of shape ${formatShape(t.shape)} does not broadcast to the input shape ${formatShape(like.shape)}`);
  }
  return t;
}

// ------------------------------------------------------------------ regression

/** Mean squared error: (input - target)^2. */
export function mseLoss(input: Tensor, target: Tensor, options?: ReductionOptions): Tensor {
  const o = checkOptions('mseLoss', options);
  pointwise('mseLoss', input, target);
  return reduceLoss(square(sub(input, target)), reductionOf('mseLoss', o));
}

/** Mean absolute error: |input - target|. */
export function l1Loss(input: Tensor, target: Tensor, options?: ReductionOptions): Tensor {
  const o = checkOptions('l1Loss', options);
  pointwise('l1Loss', input, target);
  return reduceLoss(abs(sub(input, target)), reductionOf('l1Loss', o));
}

/** 0.5 d^2 / beta where |d| < beta, |d| - beta / 2 elsewhere. */
export function smoothL1Loss(input: Tensor, target: Tensor, options?: SmoothL1LossOptions): Tensor {
  const o = checkOptions('smoothL1Loss', options);
  pointwise('smoothL1Loss', input, target);
  const beta = checkNumber('smoothL1Loss', 'beta', o.beta ?? 1);
  if (!(beta >= 0)) expected(RangeError, 'smoothL1Loss', 'a non-negative number', 'beta', beta);
  const reduction = reductionOf('smoothL1Loss', o);
  const d = abs(sub(input, target));
  const loss = beta === 0 ? d : where(lt(d, beta), mul(square(d), 0.5 / beta), sub(d, beta / 2));
  return reduceLoss(loss, reduction);
}

/** 0.5 d^2 where |d| < delta, delta (|d| - delta / 2) elsewhere (smoothL1Loss times beta). */
export function huberLoss(input: Tensor, target: Tensor, options?: HuberLossOptions): Tensor {
  const o = checkOptions('huberLoss', options);
  pointwise('huberLoss', input, target);
  const delta = checkNumber('huberLoss', 'delta', o.delta ?? 1);
  if (!(delta > 0)) expected(RangeError, 'huberLoss', 'a positive number', 'delta', delta);
  const reduction = reductionOf('huberLoss', o);
  const d = abs(sub(input, target));
  const loss = where(lt(d, delta), mul(square(d), 0.5), mul(sub(d, delta / 2), delta));
  return reduceLoss(loss, reduction);
}

// ------------------------------------------------------------------ classification

/** [C] with a 0-d (or [C]) target is one sample: both become a batch of one. */
function batched(input: Tensor, target: Tensor): { input: Tensor; target: Tensor; single: boolean } {
  if (input.ndim === 1) return { input: unsqueeze(input, 0), target: unsqueeze(target, 0), single: true };
  return { input, target, single: false };
}

function checkIndexTarget(op: string, input: Tensor, target: Tensor): void {
  if (target.dtype !== 'int32') expected(TypeError, op, 'an int32 tensor of class indices', 'target', target);
  const expectedShape = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (!sameShape(target.shape, expectedShape)) {
    throw new RangeError(
      `${op}: input shape ${formatShape(input.shape)} needs a target of shape ${formatShape(expectedShape)}, got ${formatShape(target.shape)}`,
    );
  }
}

function classInput(op: string, input: Tensor, target: Tensor): void {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  checkSameDevice(op, [input, target]);
  floatInput(op, 'input', input);
  if (input.ndim === 0) expected(RangeError, op, 'a tensor of at least 1 dim (classes in dim 1, or dim 0 unbatched)', 'input', input);
}

function classWeight(op: string, weight: unknown, input: Tensor, classes: number): Tensor | null {
  if (weight === undefined || weight === null) return null;
  const w = checkTensor(op, 'weight', weight);
  checkSameDevice(op, [input, w]);
  floatInput(op, 'weight', w);
  if (w.ndim !== 1 || w.shape[0] !== classes) expected(RangeError, op, `a 1-D tensor of ${classes} class weights`, 'weight', w);
  return w;
}

/** Every counted target must name a class; read back once, so the error names this call. */
function checkClassRange(op: string, target: Tensor, classes: number, ignoreIndex: number): void {
  if (target.numel === 0) return;
  const [lo, hi] = noGrad(() => {
    const counted = where(ne(target, ignoreIndex), target, 0);
    return [min(counted).item(), max(counted).item()];
  });
  if (lo < 0 || hi >= classes) {
    throw new RangeError(`${op}: target class ${lo < 0 ? lo : hi} is out of range for ${classes} classes (ignoreIndex ${ignoreIndex})`);
  }
}

/** [1, C, 1, ...]: a per-class tensor broadcast along an input of this rank. */
const alongClasses = (w: Tensor, rank: number): Tensor => reshape(w, [1, w.shape[0], ...Array(rank - 2).fill(1)]);

/**
 * The class-index loss on log-probabilities logp [N, C, ...]: per element
 * -(1 - s) w[t] logp[t] - (s / C) sum_c w[c] logp[c], zero where t is ignored;
 * 'mean' divides by the summed w[t] of the counted targets, as PyTorch does.
 */
function indexLoss(
  op: string, logp: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, smoothing: number,
  reduction: Reduction, single: boolean,
): Tensor {
  const classes = logp.shape[1];
  checkClassRange(op, target, classes, ignoreIndex);
  const counted = ne(target, ignoreIndex);
  const safe = where(counted, target, 0);
  let w = cast(counted, logp.dtype);
  if (weight !== null) w = mul(w, reshape(indexSelect(weight, 0, reshape(safe, [safe.numel])), safe.shape));
  const picked = squeeze(gather(logp, 1, unsqueeze(safe, 1)), 1);
  let loss = neg(mul(picked, w));
  if (smoothing > 0) {
    const uniform = neg(sum(weight === null ? logp : mul(logp, alongClasses(weight, logp.ndim)), 1));
    loss = add(mul(loss, 1 - smoothing), mul(where(counted, uniform, 0), smoothing / classes));
  }
  return reduceClassLoss(loss, w, reduction, single);
}

/** Per-position class losses reduced; 'mean' divides by the summed per-position weights w (read only then). */
function reduceClassLoss(loss: Tensor, w: Tensor | null, reduction: Reduction, single: boolean): Tensor {
  if (reduction === 'none') return single ? squeeze(loss, 0) : loss;
  if (reduction === 'sum') return sum(loss);
  return div(sum(loss), sum(w!));
}

function ignoreIndexOf(op: string, o: ClassLossOptions): number {
  return checkInteger(op, 'ignoreIndex', o.ignoreIndex ?? -100);
}

/**
 * Negative log-likelihood of log-probabilities [N, C, d1, ...] (or [C]) at int32
 * class indices [N, d1, ...] (or []): -weight[t] * input[t].
 */
export function nllLoss(input: Tensor, target: Tensor, options?: ClassLossOptions): Tensor {
  const op = 'nllLoss';
  const o = checkOptions(op, options) as ClassLossOptions;
  const reduction = reductionOf(op, o as Record<string, unknown>);
  const ignoreIndex = ignoreIndexOf(op, o);
  classInput(op, input, target);
  checkIndexTarget(op, input, target);
  const b = batched(input, target);
  const weight = classWeight(op, o.weight, input, b.input.shape[1]);
  return indexLoss(op, b.input, b.target, weight, ignoreIndex, 0, reduction, b.single);
}

/**
 * Cross-entropy from logits [N, C, d1, ...] (or [C]) against int32 class indices
 * [N, d1, ...] (or []), or against class probabilities of the input's shape
 * (a floating-point target). Class indices go through the fused softmaxCrossEntropy,
 * except with a weight that requires grad (the fused op has no weight gradient): then,
 * like probabilities, nllLoss of logSoftmax over dim 1.
 */
export function crossEntropy(input: Tensor, target: Tensor, options?: CrossEntropyOptions): Tensor {
  const op = 'crossEntropy';
  const o = checkOptions(op, options) as CrossEntropyOptions;
  const reduction = reductionOf(op, o as Record<string, unknown>);
  const ignoreIndex = ignoreIndexOf(op, o);
  const smoothing = checkNumber(op, 'labelSmoothing', o.labelSmoothing ?? 0);
  if (!(smoothing >= 0 && smoothing <= 1)) expected(RangeError, op, 'a number in [0, 1]', 'labelSmoothing', smoothing);
  classInput(op, input, target);
  if (isFloating(target.dtype)) {
    if (!sameShape(input.shape, target.shape)) {
      throw new RangeError(`${op}: probability targets must have the input's shape: ${shapesText(input.shape, target.shape)}`);
    }
  } else {
    checkIndexTarget(op, input, target);
  }
  const b = batched(input, target);
  const classes = b.input.shape[1];
  const weight = classWeight(op, o.weight, input, classes);
  if (!isFloating(target.dtype) && !weight?.requiresGrad) {
    const fused = softmaxCrossEntropy(b.input, b.target, { weight, ignoreIndex, smoothing, withWeightUsed: reduction === 'mean' });
    return reduceClassLoss(fused.loss, fused.weightUsed, reduction, b.single);
  }
  const logp = logSoftmax(b.input, 1);
  if (!isFloating(target.dtype)) return indexLoss(op, logp, b.target, weight, ignoreIndex, smoothing, reduction, b.single);
  // probabilities: -sum_c w[c] p[c] logp[c]; 'mean' divides by the number of positions (not the weights), as PyTorch
  const p = smoothing > 0 ? add(mul(b.target, 1 - smoothing), smoothing / classes) : b.target;
  let terms = mul(p, logp);
  if (weight !== null) terms = mul(terms, alongClasses(weight, logp.ndim));
  const loss = neg(sum(terms, 1));
  if (reduction === 'none') return b.single ? squeeze(loss, 0) : loss;
  return reduction === 'sum' ? sum(loss) : mean(loss);
}

// ------------------------------------------------------------------ binary

/** -(y log p + (1 - y) log(1 - p)) on probabilities p in [0, 1], with the logs clamped at -100 as PyTorch does. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options?: BinaryCrossEntropyOptions): Tensor {
  const op = 'binaryCrossEntropy';
  const o = checkOptions(op, options) as BinaryCrossEntropyOptions;
  pointwise(op, input, target);
  const reduction = reductionOf(op, o as Record<string, unknown>);
  const weight = broadcastable(op, 'weight', o.weight, input);
  if (input.numel > 0) {
    const [lo, hi] = noGrad(() => [min(input).item(), max(input).item()]);
    if (!(lo >= 0 && hi <= 1)) {
      throw new RangeError(`${op}: Expected probabilities in [0, 1] for input but received values from ${lo} to ${hi}`);
    }
  }
  const logP = clamp(log(input), -100, null);
  const log1mP = clamp(log1p(neg(input)), -100, null);
  let loss = neg(add(mul(target, logP), mul(sub(1, target), log1mP)));
  if (weight !== null) loss = mul(loss, weight);
  return reduceLoss(loss, reduction);
}

/**
 * Sigmoid and binary cross-entropy in one stable formula (no overflow for any logit):
 * (1 - y) x + (1 + (posWeight - 1) y) (log1p(e^-|x|) + max(-x, 0)).
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor, target: Tensor, options?: BinaryCrossEntropyWithLogitsOptions,
): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const o = checkOptions(op, options) as BinaryCrossEntropyWithLogitsOptions;
  pointwise(op, input, target);
  const reduction = reductionOf(op, o as Record<string, unknown>);
  const weight = broadcastable(op, 'weight', o.weight, input);
  const posWeight = broadcastable(op, 'posWeight', o.posWeight, input);
  const softplusNeg = add(log1p(exp(neg(abs(input)))), maximum(neg(input), 0)); // log(1 + e^-x)
  const scale = posWeight === null ? softplusNeg : mul(add(mul(sub(posWeight, 1), target), 1), softplusNeg);
  let loss = add(mul(sub(1, target), input), scale);
  if (weight !== null) loss = mul(loss, weight);
  return reduceLoss(loss, reduction);
}

// ------------------------------------------------------------------ segmentation

/** Sums of p*t, p and t over the score dims, and the checked settings. */
function overlaps(op: string, input: Tensor, target: Tensor, options: unknown) {
  const o = checkOptions(op, options) as OverlapLossOptions;
  pointwise(op, input, target);
  const reduction = reductionOf(op, o as Record<string, unknown>);
  const smooth = checkNumber(op, 'smooth', o.smooth ?? 1);
  if (!(smooth >= 0)) expected(RangeError, op, 'a non-negative number', 'smooth', smooth);
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-7);
  if (!(eps > 0)) expected(RangeError, op, 'a positive number', 'eps', eps);
  if (input.ndim < 2) expected(RangeError, op, 'a tensor with a batch dim and at least one more', 'input', input);
  const dims = o.dims === undefined ? input.shape.map((_, i) => i).slice(1) : normalizeDims(op, o.dims, input.ndim);
  if (dims.length === 0) expected(RangeError, op, 'at least one dim', 'dims', o.dims);
  return {
    inter: sum(mul(input, target), dims), ps: sum(input, dims), ts: sum(target, dims), smooth, eps, reduction,
  };
}

/**
 * Soft Dice loss on probabilities (e.g. sigmoid or softmax output) against masks
 * of the same shape: 1 - (2 sum(p t) + smooth) / max(sum p + sum t + smooth, eps),
 * one score per sample (or per sample and class with dims).
 */
export function diceLoss(input: Tensor, target: Tensor, options?: OverlapLossOptions): Tensor {
  const { inter, ps, ts, smooth, eps, reduction } = overlaps('diceLoss', input, target, options);
  const loss = sub(1, div(add(mul(inter, 2), smooth), maximum(add(add(ps, ts), smooth), eps)));
  return reduceLoss(loss, reduction);
}

/** Soft IoU (Jaccard) loss: 1 - (sum(p t) + smooth) / max(sum p + sum t - sum(p t) + smooth, eps). */
export function iouLoss(input: Tensor, target: Tensor, options?: OverlapLossOptions): Tensor {
  const { inter, ps, ts, smooth, eps, reduction } = overlaps('iouLoss', input, target, options);
  const loss = sub(1, div(add(inter, smooth), maximum(add(sub(add(ps, ts), inter), smooth), eps)));
  return reduceLoss(loss, reduction);
}

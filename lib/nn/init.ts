/**
 * Weight initializers (torch.nn.init). Each writes into the given tensor's storage
 * without recording a graph and returns it, so a parameter keeps its identity.
 * Random ones draw from the global generator (tg.manualSeed) unless given a seed.
 */
import { noGrad } from '../autograd';
import { checkFloating, checkNumber, checkOptions, checkTensor, expected } from '../check';
import { fullLike } from '../ops/creation';
import { add, mul } from '../ops/elementwise';
import { rand, randn } from '../ops/random';
import { formatShape } from '../shape';
import type { Tensor } from '../tensor';
import { assign } from './module';

export type Nonlinearity =
  | 'linear' | 'identity' | 'conv1d' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

export interface InitOptions {
  /** A fixed seed makes this call reproducible on its own. */
  seed?: number;
}

export interface KaimingOptions extends InitOptions {
  /** The negative slope of the leaky ReLU that follows (default 0). */
  a?: number;
  /** 'fanIn' (default) keeps the forward variance, 'fanOut' the backward one. */
  mode?: 'fanIn' | 'fanOut';
  /** Default 'leakyRelu' (with slope a), as in PyTorch. */
  nonlinearity?: Nonlinearity;
}

export interface XavierOptions extends InitOptions {
  gain?: number;
}

function target(op: string, t: unknown): Tensor {
  const x = checkTensor(op, 'tensor', t);
  checkFloating(op, 'tensor', x);
  return x;
}

/** fanIn and fanOut of a weight [out, in, ...kernel], as PyTorch counts them. */
function fans(op: string, t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) {
    throw new RangeError(`${op}: fan in and fan out need a tensor of at least 2 dims, got shape ${formatShape(t.shape)}`);
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'identity':
    case 'conv1d':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = checkNumber('calculateGain', 'param', param ?? 0.01);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      return expected(
        TypeError, 'calculateGain',
        "one of 'linear', 'identity', 'conv1d', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'selu'",
        'nonlinearity', nonlinearity,
      );
  }
}

/** Fills t with values uniform on [a, b). */
export function uniform_(t: Tensor, a = 0, b = 1, options?: InitOptions): Tensor {
  const x = target('uniform_', t);
  checkNumber('uniform_', 'a', a);
  checkNumber('uniform_', 'b', b);
  const { seed } = checkOptions('uniform_', options);
  noGrad(() => assign('uniform_', x, add(mul(rand(x.shape, { dtype: x.dtype, device: x.device, seed: seed as number | undefined }), b - a), a)));
  return x;
}

/** Fills t with values from N(mean, std^2). */
export function normal_(t: Tensor, mean = 0, std = 1, options?: InitOptions): Tensor {
  const x = target('normal_', t);
  checkNumber('normal_', 'mean', mean);
  checkNumber('normal_', 'std', std);
  if (!(std >= 0)) expected(RangeError, 'normal_', 'a non-negative number', 'std', std);
  const { seed } = checkOptions('normal_', options);
  noGrad(() => assign('normal_', x, add(mul(randn(x.shape, { dtype: x.dtype, device: x.device, seed: seed as number | undefined }), std), mean)));
  return x;
}

function kaimingStd(op: string, t: Tensor, options: unknown): number {
  const o = checkOptions(op, options) as KaimingOptions;
  const mode = o.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut') expected(TypeError, op, "'fanIn' or 'fanOut'", 'mode', mode);
  const a = checkNumber(op, 'a', o.a ?? 0);
  const { fanIn, fanOut } = fans(op, t);
  return calculateGain(o.nonlinearity ?? 'leakyRelu', a) / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut);
}

/** He initialization, uniform: bound = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, options?: KaimingOptions): Tensor {
  const x = target('kaimingUniform_', t);
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', x, options);
  return uniform_(x, -bound, bound, { seed: options?.seed });
}

/** He initialization, normal: std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, options?: KaimingOptions): Tensor {
  const x = target('kaimingNormal_', t);
  return normal_(x, 0, kaimingStd('kaimingNormal_', x, options), { seed: options?.seed });
}

function xavierStd(op: string, t: Tensor, options: unknown): number {
  const o = checkOptions(op, options) as XavierOptions;
  const gain = checkNumber(op, 'gain', o.gain ?? 1);
  const { fanIn, fanOut } = fans(op, t);
  return gain * Math.sqrt(2 / (fanIn + fanOut));
}

/** Glorot initialization, uniform: bound = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, options?: XavierOptions): Tensor {
  const x = target('xavierUniform_', t);
  const bound = Math.sqrt(3) * xavierStd('xavierUniform_', x, options);
  return uniform_(x, -bound, bound, { seed: options?.seed });
}

/** Glorot initialization, normal: std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, options?: XavierOptions): Tensor {
  const x = target('xavierNormal_', t);
  return normal_(x, 0, xavierStd('xavierNormal_', x, options), { seed: options?.seed });
}

export function constant_(t: Tensor, value: number): Tensor {
  const x = target('constant_', t);
  checkNumber('constant_', 'value', value);
  noGrad(() => assign('constant_', x, fullLike(x, value)));
  return x;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

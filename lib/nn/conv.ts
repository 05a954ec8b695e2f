/**
 * Conv1d and Conv2d layers over the native convolution ops (lib/ops/conv.ts),
 * which check stride, padding ('same' and 'valid' included) and dilation; the
 * layer owns the weight [out, in / groups, ...kernel] and the bias [out].
 */
import { checkBoolean, checkInteger, checkOptions, expected } from '../check';
import { DEFAULT_FLOAT, type FloatDType } from '../dtype';
import type { DeviceLike } from '../device';
import { zeros } from '../ops/creation';
import { conv1d, conv2d, type Conv1dOptions, type Conv2dOptions } from '../ops/conv';
import type { Tensor } from '../tensor';
import { resetDefault } from './linear';
import { Module } from './module';

interface LayerExtras {
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  dtype?: FloatDType;
  device?: DeviceLike;
}

export interface Conv1dLayerOptions extends Conv1dOptions, LayerExtras {}
export interface Conv2dLayerOptions extends Conv2dOptions, LayerExtras {}

function kernel(op: string, value: unknown, spatial: 1 | 2): number[] {
  if (typeof value === 'number') return Array(spatial).fill(checkInteger(op, 'kernelSize', value, 1));
  if (Array.isArray(value) && value.length === spatial) return value.map((k, i) => checkInteger(op, `kernelSize[${i}]`, k, 1));
  const what = spatial === 2 ? 'a positive integer or a pair of them' : 'a positive integer or an array of one';
  return expected(TypeError, op, what, 'kernelSize', value);
}

const text = (v: unknown): string => (Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'string' ? `'${v}'` : String(v));

abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly number[];
  protected readonly settings: Record<string, unknown>;

  constructor(op: string, spatial: 1 | 2, inChannels: number, outChannels: number, kernelSize: unknown, options: unknown) {
    super();
    this.inChannels = checkInteger(op, 'inChannels', inChannels, 1);
    this.outChannels = checkInteger(op, 'outChannels', outChannels, 1);
    this.kernelSize = kernel(op, kernelSize, spatial);
    const { bias, dtype, device, ...conv } = checkOptions(op, options) as LayerExtras & Record<string, unknown>;
    const groups = checkInteger(op, 'groups', conv.groups ?? 1, 1);
    if (inChannels % groups !== 0) throw new RangeError(`${op}: inChannels ${inChannels} is not divisible by groups ${groups}`);
    if (outChannels % groups !== 0) throw new RangeError(`${op}: outChannels ${outChannels} is not divisible by groups ${groups}`);
    this.settings = conv;
    const create = { dtype: dtype ?? DEFAULT_FLOAT, device };
    const weight = this.registerParameter('weight', zeros([outChannels, inChannels / groups, ...this.kernelSize], create));
    const b = this.registerParameter('bias', checkBoolean(op, 'bias', bias ?? true) ? zeros([outChannels], create) : null);
    resetDefault(weight, b, (inChannels / groups) * this.kernelSize.reduce((x, y) => x * y, 1));
  }

  get weight(): Tensor {
    return this.param('weight')!;
  }

  get bias(): Tensor | null {
    return this.param('bias');
  }

  override extraRepr(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}`, `kernelSize=${text(this.kernelSize)}`];
    for (const [k, v] of Object.entries(this.settings)) if (v !== undefined) parts.push(`${k}=${text(v)}`);
    if (this.bias === null) parts.push('bias=false');
    return parts.join(', ');
  }
}

/** Over [N, C, L] or [C, L]. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number], options?: Conv1dLayerOptions) {
    super('Conv1d', 1, inChannels, outChannels, kernelSize, options);
  }

  forward(input: Tensor): Tensor {
    return conv1d(input, this.weight, this.bias, this.settings as Conv1dOptions);
  }
}

/** Over [N, C, H, W] or [C, H, W]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], options?: Conv2dLayerOptions) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, options);
  }

  forward(input: Tensor): Tensor {
    return conv2d(input, this.weight, this.bias, this.settings as Conv2dOptions);
  }
}

/** Pooling layers over the native pooling ops (lib/ops/pool.ts), which check their arguments. */
import { checkOptions } from '../check';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from '../ops/pool';
import type { Tensor } from '../tensor';
import { Module } from './module';

type Pair = readonly [number, number];

const text = (v: unknown): string => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v));

function repr(first: string, options: Record<string, unknown>): string {
  return [first, ...Object.entries(options).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${text(v)}`)].join(', ');
}

export class MaxPool2d extends Module {
  readonly options: MaxPool2dOptions;

  constructor(readonly kernelSize: number | Pair, options?: MaxPool2dOptions) {
    super();
    this.options = { ...checkOptions('MaxPool2d', options) };
  }

  forward(input: Tensor): Tensor {
    return maxPool2d(input, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return repr(`kernelSize=${text(this.kernelSize)}`, this.options as Record<string, unknown>);
  }
}

export class AvgPool2d extends Module {
  readonly options: AvgPool2dOptions;

  constructor(readonly kernelSize: number | Pair, options?: AvgPool2dOptions) {
    super();
    this.options = { ...checkOptions('AvgPool2d', options) };
  }

  forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return repr(`kernelSize=${text(this.kernelSize)}`, this.options as Record<string, unknown>);
  }
}

/** Averages to a fixed output size whatever the input size (null keeps that dim's size). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }

  forward(input: Tensor): Tensor {
    return adaptiveAvgPool2d(input, this.outputSize);
  }

  override extraRepr(): string {
    return `outputSize=${text(this.outputSize)}`;
  }
}

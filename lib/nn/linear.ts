/** Linear: y = x W^T + b through the fused GEMM epilogue, initialized as torch.nn.Linear. */
import { checkBoolean, checkInteger, checkOptions } from '../check';
import { DEFAULT_FLOAT, type FloatDType } from '../dtype';
import type { DeviceLike } from '../device';
import { zeros } from '../ops/creation';
import { linear } from '../ops/linear';
import type { Tensor } from '../tensor';
import { kaimingUniform_, uniform_ } from './init';
import { Module } from './module';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  dtype?: FloatDType;
  device?: DeviceLike;
}

/**
 * PyTorch's default for Linear and Conv: kaiming_uniform with a = sqrt(5), which is
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for the weight, and the same bound for the bias.
 */
export function resetDefault(weight: Tensor, bias: Tensor | null, fanIn: number): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== null) {
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options?: LinearOptions) {
    super();
    this.inFeatures = checkInteger('Linear', 'inFeatures', inFeatures, 1);
    this.outFeatures = checkInteger('Linear', 'outFeatures', outFeatures, 1);
    const o = checkOptions('Linear', options) as LinearOptions;
    const bias = checkBoolean('Linear', 'bias', o.bias ?? true);
    const create = { dtype: o.dtype ?? DEFAULT_FLOAT, device: o.device };
    const weight = this.registerParameter('weight', zeros([outFeatures, inFeatures], create));
    const b = this.registerParameter('bias', bias ? zeros([outFeatures], create) : null);
    resetDefault(weight, b, inFeatures);
  }

  /** [outFeatures, inFeatures] */
  get weight(): Tensor {
    return this.param('weight')!;
  }

  /** [outFeatures], or null without bias */
  get bias(): Tensor | null {
    return this.param('bias');
  }

  forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

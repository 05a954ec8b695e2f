/** Adam and AdamW (decoupled weight decay), with AMSGrad (torch.optim.Adam / AdamW). */
import type { OptimHyperName } from '../binding';
import { describe } from '../check';
import { FusedOptimizer, type StateSlots } from './fused';
import type { ParamGroup, ParamSpec } from './optimizer';

export interface AdamOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

abstract class AdamBase extends FusedOptimizer<AdamOptions> {
  protected readonly kind = 'adam';
  protected abstract readonly decoupled: boolean;

  protected validate(o: AdamOptions): void {
    const name = this.name;
    if (!(o.lr >= 0)) throw new RangeError(`${name}: Invalid learning rate: ${o.lr}`);
    if (!(o.eps >= 0)) throw new RangeError(`${name}: Invalid epsilon value: ${o.eps}`);
    const b = o.betas as unknown;
    if (!Array.isArray(b) || b.length !== 2 || b.some((x) => typeof x !== 'number')) {
      throw new TypeError(`${name}: Expected a pair of numbers for betas but received ${describe(b)}`);
    }
    o.betas.forEach((beta, i) => {
      if (!(beta >= 0 && beta < 1)) throw new RangeError(`${name}: Invalid beta parameter at index ${i}: ${beta}`);
    });
    if (!(o.weightDecay >= 0)) throw new RangeError(`${name}: Invalid weight_decay value: ${o.weightDecay}`);
  }

  protected slots(g: ParamGroup<AdamOptions>): StateSlots {
    return ['expAvg', 'expAvgSq', g.amsgrad ? 'maxExpAvgSq' : null];
  }

  protected hyper(g: ParamGroup<AdamOptions>): Partial<Record<OptimHyperName, number | boolean>> {
    return {
      lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay,
      amsgrad: g.amsgrad, maximize: g.maximize, decoupled: this.decoupled,
    };
  }
}

const ADAM: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };

/** Adam: weight decay is added to the gradient (L2 regularization). */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamSpec<AdamOptions>, options?: Partial<AdamOptions>) {
    super('Adam', params, ADAM, options);
  }
}

/** AdamW: weight decay shrinks the parameter directly, p *= 1 - lr * weightDecay (default 1e-2). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamSpec<AdamOptions>, options?: Partial<AdamOptions>) {
    super('AdamW', params, { ...ADAM, weightDecay: 1e-2 }, options);
  }
}

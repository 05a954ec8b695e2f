/** SGD with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD). */
import type { OptimHyperName } from '../binding';
import { FusedOptimizer, type StateSlots } from './fused';
import type { ParamGroup, ParamSpec, ParamStateDict } from './optimizer';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

const DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

export class SGD extends FusedOptimizer<SGDOptions> {
  protected readonly kind = 'sgd';

  constructor(params: ParamSpec<SGDOptions>, options?: Partial<SGDOptions>) {
    super('SGD', params, DEFAULTS, options);
  }

  protected validate(o: SGDOptions): void {
    if (!(o.lr >= 0)) throw new RangeError(`SGD: Invalid learning rate: ${o.lr}`);
    if (!(o.momentum >= 0)) throw new RangeError(`SGD: Invalid momentum value: ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new RangeError(`SGD: Invalid weight_decay value: ${o.weightDecay}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected slots(g: ParamGroup<SGDOptions>): StateSlots {
    return [g.momentum !== 0 ? 'momentumBuffer' : null, null, null];
  }

  /** A new momentum buffer starts as the gradient: the kernel does that at step 1. */
  protected override stepValue(state: ParamStateDict, fresh: readonly string[]): number {
    return fresh.includes('momentumBuffer') ? 1 : state.step + 1;
  }

  protected hyper(g: ParamGroup<SGDOptions>): Partial<Record<OptimHyperName, number | boolean>> {
    return { lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay, nesterov: g.nesterov, maximize: g.maximize };
  }
}

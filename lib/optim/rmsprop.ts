/** RMSprop with momentum and the centered variant (torch.optim.RMSprop). */
import type { OptimHyperName } from '../binding';
import { FusedOptimizer, type StateSlots } from './fused';
import type { ParamGroup, ParamSpec } from './optimizer';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

const DEFAULTS: RMSpropOptions = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };

export class RMSprop extends FusedOptimizer<RMSpropOptions> {
  protected readonly kind = 'rmsprop';

  constructor(params: ParamSpec<RMSpropOptions>, options?: Partial<RMSpropOptions>) {
    super('RMSprop', params, DEFAULTS, options);
  }

  protected validate(o: RMSpropOptions): void {
    if (!(o.lr >= 0)) throw new RangeError(`RMSprop: Invalid learning rate: ${o.lr}`);
    if (!(o.eps >= 0)) throw new RangeError(`RMSprop: Invalid epsilon value: ${o.eps}`);
    if (!(o.momentum >= 0)) throw new RangeError(`RMSprop: Invalid momentum value: ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new RangeError(`RMSprop: Invalid weight_decay value: ${o.weightDecay}`);
    if (!(o.alpha >= 0)) throw new RangeError(`RMSprop: Invalid alpha value: ${o.alpha}`);
  }

  protected slots(g: ParamGroup<RMSpropOptions>): StateSlots {
    return ['squareAvg', g.momentum > 0 ? 'momentumBuffer' : null, g.centered ? 'gradAvg' : null];
  }

  protected hyper(g: ParamGroup<RMSpropOptions>): Partial<Record<OptimHyperName, number | boolean>> {
    return {
      lr: g.lr, alpha: g.alpha, eps: g.eps, weightDecay: g.weightDecay, momentum: g.momentum,
      centered: g.centered, maximize: g.maximize,
    };
  }
}

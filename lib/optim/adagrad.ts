/** Adagrad with learning-rate decay (torch.optim.Adagrad). */
import type { OptimHyperName } from '../binding';
import { noGrad } from '../autograd';
import { fullLike } from '../ops/creation';
import type { Tensor } from '../tensor';
import { FusedOptimizer, type StateSlots } from './fused';
import type { ParamGroup, ParamSpec } from './optimizer';

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

const DEFAULTS: AdagradOptions = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false };

export class Adagrad extends FusedOptimizer<AdagradOptions> {
  protected readonly kind = 'adagrad';

  constructor(params: ParamSpec<AdagradOptions>, options?: Partial<AdagradOptions>) {
    super('Adagrad', params, DEFAULTS, options);
  }

  protected validate(o: AdagradOptions): void {
    if (!(o.lr >= 0)) throw new RangeError(`Adagrad: Invalid learning rate: ${o.lr}`);
    if (!(o.lrDecay >= 0)) throw new RangeError(`Adagrad: Invalid lr_decay value: ${o.lrDecay}`);
    if (!(o.weightDecay >= 0)) throw new RangeError(`Adagrad: Invalid weight_decay value: ${o.weightDecay}`);
    if (!(o.initialAccumulatorValue >= 0)) {
      throw new RangeError(`Adagrad: Invalid initial_accumulator_value value: ${o.initialAccumulatorValue}`);
    }
    if (!(o.eps >= 0)) throw new RangeError(`Adagrad: Invalid epsilon value: ${o.eps}`);
  }

  protected slots(): StateSlots {
    return ['sum', null, null];
  }

  protected override initState(_name: string, p: Tensor, g: ParamGroup<AdagradOptions>): Tensor {
    return noGrad(() => fullLike(p, g.initialAccumulatorValue));
  }

  protected hyper(g: ParamGroup<AdagradOptions>): Partial<Record<OptimHyperName, number | boolean>> {
    return { lr: g.lr, lrDecay: g.lrDecay, weightDecay: g.weightDecay, eps: g.eps, maximize: g.maximize };
  }
}

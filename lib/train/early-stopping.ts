/**
 * Early stopping on a monitored loss (lower is better): an epoch improves when
 * its value is below the best so far by more than minDelta; after `patience`
 * epochs in a row without improvement training stops. With restoreBestWeights
 * the model's state at its best epoch is kept as a copy (the state dict shares
 * the model's storage, which the optimizer keeps changing) and put back at the end.
 */
import { noGrad } from '../autograd';
import { checkBoolean, checkInteger, checkNumber, expected } from '../check';
import type { Module } from '../nn/module';
import { clone } from '../ops/convert';
import type { Tensor } from '../tensor';
import { checkOptionsNamed } from './options';

export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping (default 5). */
  patience?: number;
  /** How much lower than the best a value must be to count as an improvement (default 0). */
  minDelta?: number;
  /** Put the best epoch's weights back when training ends (default true). */
  restoreBestWeights?: boolean;
}

export class BestTracker {
  best = Infinity;
  bestEpoch = 0;
  private stale = 0;
  private weights: Record<string, Tensor> | null = null;

  private constructor(
    readonly patience: number,
    readonly minDelta: number,
    readonly restoreBestWeights: boolean,
  ) {}

  /** Checks fit()'s earlyStopping option; null without it. */
  static from(op: string, options: unknown): BestTracker | null {
    if (options === undefined || options === false) return null;
    const o = checkOptionsNamed(op, 'earlyStopping', options);
    const patience = o.patience === undefined ? 5 : checkInteger(op, 'earlyStopping.patience', o.patience, 0);
    const minDelta = o.minDelta === undefined ? 0 : checkNumber(op, 'earlyStopping.minDelta', o.minDelta);
    if (!(minDelta >= 0)) expected(RangeError, op, 'a non-negative number', 'earlyStopping.minDelta', minDelta);
    const restore = o.restoreBestWeights === undefined ? true : checkBoolean(op, 'earlyStopping.restoreBestWeights', o.restoreBestWeights);
    return new BestTracker(patience, minDelta, restore);
  }

  /** Records an epoch's value; true when it is an improvement (its weights are then kept). */
  update(epoch: number, value: number, model: Module): boolean {
    const improved = value < this.best - this.minDelta;
    if (improved) {
      this.best = value;
      this.bestEpoch = epoch;
      this.stale = 0;
      if (this.restoreBestWeights) {
        this.release();
        this.weights = noGrad(() => Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, clone(t)])));
      }
    } else {
      this.stale++;
    }
    return improved;
  }

  /** Training should stop: `patience` epochs have passed without improvement. */
  get shouldStop(): boolean {
    return this.stale >= Math.max(this.patience, 1);
  }

  /** Loads the best weights into the model (when kept) and frees the copy; true if it loaded them. */
  restore(model: Module): boolean {
    if (this.weights === null) return false;
    model.loadStateDict(this.weights);
    this.release();
    return true;
  }

  release(): void {
    if (this.weights !== null) for (const t of Object.values(this.weights)) t.dispose();
    this.weights = null;
  }
}

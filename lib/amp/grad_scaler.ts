/**
 * GradScaler: dynamic loss scaling for float16 training (torch.amp.GradScaler).
 *
 * scale(loss) multiplies the loss by the scale so that small gradients survive in
 * half precision; unscale_(optimizer) divides the gradients by it and checks them for
 * inf/NaN in one fused native pass over all of them (native/cpu/amp.cc); step skips
 * the update when an overflow was found; update() halves the scale after an overflow
 * and doubles it after growthInterval clean steps. With an optimizer that supports it
 * (the fused ones, supportsAmpScaling) step is a check pass plus one fused update that
 * unscales each gradient as it reads it and skips everything on overflow; for the
 * others (LBFGS) it is unscale_ and then a plain step.
 *
 * Each optimizer moves through ready -> unscaled -> stepped between two update()
 * calls; a call out of that order throws an AmpStateError that names it.
 */
import { native } from '../binding';
import { checkBoolean, checkNumber, checkOptions, checkTensor, describe, expected } from '../check';
import { noGrad } from '../autograd';
import type { Device } from '../device';
import { TensorgradError } from '../errors';
import { mul } from '../ops/elementwise';
import { zeros } from '../ops/creation';
import type { Optimizer } from '../optim/optimizer';
import type { AmpStepOptions } from '../optim/fused';
import { Tensor } from '../tensor';

/** A GradScaler call made out of order (unscale_ twice, step before unscale_ after step, ...). */
export class AmpStateError extends TensorgradError {}

export interface GradScalerOptions {
  /** Default 65536 (2^16). */
  initScale?: number;
  /** Factor the scale grows by after growthInterval steps without overflow; default 2. */
  growthFactor?: number;
  /** Factor the scale shrinks by after an overflow; default 0.5. */
  backoffFactor?: number;
  /** Steps without overflow before the scale grows; default 2000. */
  growthInterval?: number;
  /** false makes every method a pass-through (scale 1, plain steps); default true. */
  enabled?: boolean;
}

/** The state that stateDict() saves and loadStateDict() restores (PyTorch's keys, camelCase). */
export interface GradScalerStateDict {
  scale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  growthTracker: number;
}

type Stage = 'ready' | 'unscaled' | 'stepped';

interface PerOptimizer {
  stage: Stage;
  foundInf: Tensor | null; // float32 [1], set by the check pass
}

interface AmpCapable {
  supportsAmpScaling?: boolean;
  step(closure?: () => Tensor | number, amp?: AmpStepOptions): number | undefined;
}

export class GradScaler {
  private scaleValue: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private growthTracker = 0;
  private readonly enabled: boolean;
  private perOptimizer = new Map<object, PerOptimizer>();

  constructor(options?: GradScalerOptions) {
    const op = 'GradScaler';
    const o = checkOptions(op, options) as GradScalerOptions;
    this.enabled = o.enabled === undefined ? true : checkBoolean(op, 'enabled', o.enabled);
    this.scaleValue = positive(op, 'initScale', o.initScale ?? 65536);
    this.growthFactor = checkNumber(op, 'growthFactor', o.growthFactor ?? 2);
    if (!(this.growthFactor > 1)) expected(RangeError, op, 'a number > 1', 'growthFactor', this.growthFactor);
    this.backoffFactor = checkNumber(op, 'backoffFactor', o.backoffFactor ?? 0.5);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) {
      expected(RangeError, op, 'a number in (0, 1)', 'backoffFactor', this.backoffFactor);
    }
    this.growthInterval = positiveInteger(op, 'growthInterval', o.growthInterval ?? 2000);
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  /** The current scale (1 when disabled). */
  getScale(): number {
    return this.enabled ? this.scaleValue : 1;
  }

  /** loss * scale, differentiable: its backward produces scaled gradients. */
  scale(loss: Tensor): Tensor {
    checkTensor('GradScaler.scale', 'loss', loss);
    if (!this.enabled) return loss;
    return mul(loss, this.scaleValue);
  }

  /**
   * Divides every gradient of the optimizer's parameters by the scale, in place, and
   * records whether any was inf or NaN: one native pass per gradient dtype. Call it
   * before clipping or inspecting gradients; at most once per optimizer between updates.
   */
  unscale_(optimizer: Optimizer<object, unknown>): void {
    const op = 'GradScaler.unscale_';
    checkOptimizer(op, optimizer);
    if (!this.enabled) return;
    const s = this.stateOf(optimizer);
    if (s.stage === 'unscaled') {
      throw new AmpStateError(`${op}: unscale_() has already been called on this optimizer since the last update()`);
    }
    if (s.stage === 'stepped') throw new AmpStateError(`${op}: unscale_() is being called after step(); call update() first`);
    s.foundInf = this.checkGrads(optimizer, 1 / this.scaleValue);
    s.stage = 'unscaled';
  }

  /**
   * Unscales (unless unscale_ did) and steps the optimizer unless a gradient was inf
   * or NaN; returns the optimizer's return value, or undefined for a skipped step.
   */
  step(optimizer: Optimizer<object, unknown>, closure?: () => Tensor | number): number | undefined {
    const op = 'GradScaler.step';
    checkOptimizer(op, optimizer);
    const opt = optimizer as unknown as AmpCapable;
    if (!this.enabled) return opt.step(closure);
    if (closure !== undefined) {
      throw new AmpStateError(`${op}: a closure is not supported while the GradScaler is enabled`);
    }
    const s = this.stateOf(optimizer);
    if (s.stage === 'stepped') throw new AmpStateError(`${op}: step() has already been called since the last update()`);
    let result: number | undefined;
    if (opt.supportsAmpScaling === true) {
      // fused: a check-only pass, then one update that unscales as it reads each
      // gradient and is skipped as a whole when the flag is set
      let invScale = 1;
      if (s.stage === 'ready') {
        s.foundInf = this.checkGrads(optimizer, 1);
        invScale = 1 / this.scaleValue;
      }
      result = opt.step(undefined, { invScale, foundInf: s.foundInf });
      if (s.foundInf !== null && s.foundInf.item() !== 0) result = undefined;
    } else {
      if (s.stage === 'ready') this.unscale_(optimizer);
      result = s.foundInf !== null && s.foundInf.item() !== 0 ? undefined : opt.step();
    }
    s.stage = 'stepped';
    return result;
  }

  /**
   * Ends the iteration: with newScale, sets the scale to it; otherwise halves it
   * (backoffFactor) if any optimizer stepped this iteration found an inf/NaN, or grows
   * it (growthFactor) after growthInterval consecutive clean iterations.
   */
  update(newScale?: number): void {
    const op = 'GradScaler.update';
    if (!this.enabled) return;
    if (newScale !== undefined) {
      this.scaleValue = positive(op, 'newScale', newScale);
    } else {
      const checked = [...this.perOptimizer.values()].filter((s) => s.foundInf !== null);
      if (checked.length === 0) {
        throw new AmpStateError(`${op}: no inf checks were recorded before update(); call step(optimizer) (or unscale_) first`);
      }
      const found = checked.some((s) => s.foundInf!.item() !== 0);
      if (found) {
        this.scaleValue = Math.fround(this.scaleValue * this.backoffFactor);
        this.growthTracker = 0;
      } else if (this.growthTracker + 1 === this.growthInterval) {
        this.scaleValue = Math.fround(this.scaleValue * this.growthFactor);
        this.growthTracker = 0;
      } else {
        this.growthTracker += 1;
      }
    }
    for (const s of this.perOptimizer.values()) s.foundInf?.dispose();
    this.perOptimizer = new Map();
  }

  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.scaleValue,
      growthFactor: this.growthFactor,
      backoffFactor: this.backoffFactor,
      growthInterval: this.growthInterval,
      growthTracker: this.growthTracker,
    };
  }

  loadStateDict(state: GradScalerStateDict): void {
    const op = 'GradScaler.loadStateDict';
    if (typeof state !== 'object' || state === null) expected(TypeError, op, 'a GradScaler state dict', 'state', state);
    if (!this.enabled) return;
    if (Object.keys(state).length === 0) {
      throw new AmpStateError(`${op}: the state dict is empty; it was saved by a disabled GradScaler`);
    }
    const scale = positive(op, 'state.scale', state.scale);
    const growthFactor = checkNumber(op, 'state.growthFactor', state.growthFactor);
    if (!(growthFactor > 1)) expected(RangeError, op, 'a number > 1', 'state.growthFactor', growthFactor);
    const backoffFactor = checkNumber(op, 'state.backoffFactor', state.backoffFactor);
    if (!(backoffFactor > 0 && backoffFactor < 1)) expected(RangeError, op, 'a number in (0, 1)', 'state.backoffFactor', backoffFactor);
    const growthInterval = positiveInteger(op, 'state.growthInterval', state.growthInterval);
    const tracker = state.growthTracker;
    if (typeof tracker !== 'number' || !Number.isInteger(tracker) || tracker < 0) {
      expected(RangeError, op, 'a non-negative integer', 'state.growthTracker', tracker);
    }
    Object.assign(this, { scaleValue: scale, growthFactor, backoffFactor, growthInterval, growthTracker: tracker });
  }

  private stateOf(optimizer: object): PerOptimizer {
    let s = this.perOptimizer.get(optimizer);
    if (s === undefined) {
      s = { stage: 'ready', foundInf: null };
      this.perOptimizer.set(optimizer, s);
    }
    return s;
  }

  // Every gradient times invScale (1: check only), with the inf/NaN flag: one native
  // pass per dtype over all gradients of the optimizer.
  private checkGrads(optimizer: Optimizer<object, unknown>, invScale: number): Tensor {
    const byDtype = new Map<string, Tensor[]>();
    let device: Device = 'cpu';
    for (const group of optimizer.paramGroups) {
      for (const p of group.params) {
        const g = p.grad;
        if (g === null) continue;
        checkTensor('GradScaler.unscale_', 'a gradient', g);
        device = g.device;
        const list = byDtype.get(g.dtype) ?? [];
        list.push(g);
        byDtype.set(g.dtype, list);
      }
    }
    // the flag lives beside the gradients: the optimizer's kernels read it there
    const foundInf = noGrad(() => zeros([1], { dtype: 'float32', device }));
    for (const grads of byDtype.values()) {
      native.ampUnscale(grads.map((g) => g._s), grads.map((g) => g.numel), invScale, foundInf._s);
    }
    return foundInf;
  }
}

function positive(op: string, name: string, v: unknown): number {
  const x = checkNumber(op, name, v);
  if (!(x > 0) || !Number.isFinite(x)) expected(RangeError, op, 'a finite number > 0', name, x);
  return x;
}

function positiveInteger(op: string, name: string, v: unknown): number {
  const x = checkNumber(op, name, v);
  if (!Number.isInteger(x) || x < 1) expected(RangeError, op, 'a positive integer', name, x);
  return x;
}

function checkOptimizer(op: string, optimizer: unknown): void {
  const o = optimizer as { paramGroups?: unknown; step?: unknown } | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.paramGroups) || typeof o.step !== 'function') {
    throw new TypeError(`${op}: Expected an optimizer for optimizer but received ${describe(optimizer)}`);
  }
}

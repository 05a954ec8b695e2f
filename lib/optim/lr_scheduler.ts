/**
 * Learning-rate schedulers (torch.optim.lr_scheduler). Each sets `lr` of every
 * parameter group; step() once per epoch (or per batch for OneCycleLR). Like
 * PyTorch's, the epoch-based ones update the current lr by a factor (the chainable
 * form), so two schedulers on one optimizer compose; alone, each follows its closed
 * form. The constructor takes the first step (lastEpoch 0).
 */
import { checkInteger, checkOptions, expected } from '../check';
import { Tensor } from '../tensor';
import { Optimizer } from './optimizer';

/** A parameter group as a scheduler sees it: lr and any other option by name. */
type Group = Record<string, unknown> & { lr: number; initialLr?: number };

/** Any optimizer whose groups have an lr. */
export type SchedulerOptimizer = Optimizer<{ lr: number }, unknown>;

function groupsOf(op: string, optimizer: unknown): Group[] {
  if (!(optimizer instanceof Optimizer)) expected(TypeError, op, 'an Optimizer', 'optimizer', optimizer);
  return (optimizer as SchedulerOptimizer).paramGroups as unknown as Group[];
}

/** A number per group: one for all, or an array with one entry per group. */
function perGroup(op: string, name: string, value: unknown, groups: number): number[] {
  if (Array.isArray(value)) {
    if (value.length !== groups) throw new RangeError(`${op}: expected ${groups} values for ${name}, got ${value.length}`);
    return value.map((v, i) => (typeof v === 'number' ? v : expected(TypeError, op, 'a number', `${name}[${i}]`, v)));
  }
  if (typeof value !== 'number') expected(TypeError, op, 'a number or an array of numbers', name, value);
  return new Array<number>(groups).fill(value);
}

function checkNum(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) expected(TypeError, op, 'a number', name, value);
  return value;
}

/** Saved fields: every own field but the optimizer, copied deeply (PyTorch saves __dict__ less the optimizer). */
function saveFields(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (k !== 'optimizer' && k !== 'name') out[k] = structuredClone(v);
  return out;
}

function loadFields(obj: object, name: string, dict: unknown): void {
  const op = `${name}.loadStateDict`;
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) expected(TypeError, op, 'a scheduler state dict', 'stateDict', dict);
  const own = Object.keys(saveFields(obj));
  for (const k of Object.keys(dict)) {
    if (!own.includes(k)) throw new RangeError(`${op}: the state dict has '${k}', which ${name} does not keep (expected ${own.join(', ')})`);
  }
  for (const [k, v] of Object.entries(dict)) (obj as Record<string, unknown>)[k] = structuredClone(v);
}

/** Base of the epoch-indexed schedulers. Subclasses end their constructor with initialStep(). */
export abstract class LRScheduler {
  readonly optimizer: SchedulerOptimizer;
  /** Each group's lr when the first scheduler was attached. */
  baseLrs: number[];
  /** Steps taken so far, counting the constructor's (so 0 after construction). */
  lastEpoch = -1;
  protected stepCount = 0;
  protected lastLr: number[] = [];

  protected constructor(
    protected readonly name: string,
    optimizer: unknown,
  ) {
    const groups = groupsOf(name, optimizer);
    this.optimizer = optimizer as SchedulerOptimizer;
    for (const g of groups) g.initialLr ??= g.lr;
    this.baseLrs = groups.map((g) => g.initialLr!);
  }

  protected get groups(): Group[] {
    return this.optimizer.paramGroups as unknown as Group[];
  }

  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The lr of every group for the new lastEpoch, from the current ones. */
  protected abstract getLr(): number[];

  /** Advances one epoch and sets every group's lr. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lrs = this.getLr();
    this.groups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = this.groups.map((g) => g.lr);
  }

  /** The lr of each group as this scheduler last set it. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): Record<string, unknown> {
    return saveFields(this);
  }

  loadStateDict(dict: Record<string, unknown>): void {
    loadFields(this, this.name, dict);
  }
}

/** lr = baseLr * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: SchedulerOptimizer, stepSize: number, options?: { gamma?: number }) {
    super('StepLR', optimizer);
    const o = checkOptions('StepLR', options);
    this.stepSize = checkInteger('StepLR', 'stepSize', stepSize, 1);
    this.gamma = checkNum('StepLR', 'gamma', o.gamma ?? 0.1);
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
}

/** lr = baseLr * gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: SchedulerOptimizer, gamma: number) {
    super('ExponentialLR', optimizer);
    this.gamma = checkNum('ExponentialLR', 'gamma', gamma);
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
}

/** lr = etaMin + (baseLr - etaMin) (1 + cos(pi epoch / tMax)) / 2 (SGDR without restarts). */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: SchedulerOptimizer, tMax: number, options?: { etaMin?: number }) {
    super('CosineAnnealingLR', optimizer);
    const o = checkOptions('CosineAnnealingLR', options);
    this.tMax = checkInteger('CosineAnnealingLR', 'tMax', tMax, 1);
    this.etaMin = checkNum('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0);
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    const m = (((e - 1 - T) % (2 * T)) + 2 * T) % (2 * T); // Python's modulo
    if (m === 0) {
      return this.groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return this.groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }
}

export interface LinearLROptions {
  /** Factor of the base lr at epoch 0 (default 1/3), in (0, 1]. */
  startFactor?: number;
  /** Factor reached at totalIters (default 1), in [0, 1]. */
  endFactor?: number;
  /** Epochs of the ramp (default 5). */
  totalIters?: number;
}

/** lr = baseLr (start + (end - start) min(epoch, totalIters) / totalIters): linear warmup or decay. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: SchedulerOptimizer, options?: LinearLROptions) {
    super('LinearLR', optimizer);
    const o = checkOptions('LinearLR', options) as LinearLROptions;
    const start = checkNum('LinearLR', 'startFactor', o.startFactor ?? 1 / 3);
    const end = checkNum('LinearLR', 'endFactor', o.endFactor ?? 1);
    if (start > 1 || start <= 0) {
      throw new RangeError('LinearLR: Starting multiplicative factor expected to be greater than 0 and less or equal to 1.');
    }
    if (end > 1 || end < 0) throw new RangeError('LinearLR: Ending multiplicative factor expected to be between 0 and 1.');
    this.startFactor = start;
    this.endFactor = end;
    this.totalIters = checkInteger('LinearLR', 'totalIters', o.totalIters ?? 5, 1);
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
}

export interface OneCycleLROptions {
  /** Steps of the whole cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD, RMSprop) or beta1 (Adam) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to the initial lr, down to the min lr) instead of two. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: 'initialLr' | 'maxLr' | 'minLr';
  endLr: 'initialLr' | 'maxLr' | 'minLr';
  startMomentum: 'maxMomentum' | 'baseMomentum';
  endMomentum: 'maxMomentum' | 'baseMomentum';
}

/** The 1cycle policy (Smith and Topin): lr up to maxLr then down far below, stepped once per batch. */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  phases: Phase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1: boolean;
  /** Per group: initialLr, maxLr, minLr, and the momentum bounds (PyTorch keeps them in the group). */
  bounds: Array<{ initialLr: number; maxLr: number; minLr: number; maxMomentum: number; baseMomentum: number }>;

  constructor(optimizer: SchedulerOptimizer, maxLr: number | number[], options?: OneCycleLROptions) {
    super('OneCycleLR', optimizer);
    const op = 'OneCycleLR';
    const o = checkOptions(op, options) as OneCycleLROptions;
    const groups = this.groups;
    if (o.totalSteps !== undefined) {
      if (!Number.isInteger(o.totalSteps) || o.totalSteps <= 0) {
        throw new RangeError(`${op}: Expected positive integer total_steps, but got ${o.totalSteps}`);
      }
      this.totalSteps = o.totalSteps;
    } else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      if (!Number.isInteger(o.epochs) || o.epochs <= 0) throw new RangeError(`${op}: Expected positive integer epochs, but got ${o.epochs}`);
      if (!Number.isInteger(o.stepsPerEpoch) || o.stepsPerEpoch <= 0) {
        throw new RangeError(`${op}: Expected positive integer steps_per_epoch, but got ${o.stepsPerEpoch}`);
      }
      this.totalSteps = o.epochs * o.stepsPerEpoch;
    } else {
      throw new RangeError(`${op}: You must define either total_steps OR (epochs AND steps_per_epoch)`);
    }
    const pct = o.pctStart ?? 0.3;
    if (typeof pct !== 'number' || !(pct >= 0 && pct <= 1)) {
      throw new RangeError(`${op}: Expected float between 0 and 1 pct_start, but got ${String(pct)}`);
    }
    const n = this.totalSteps;
    this.phases = o.threePhase
      ? [
          { endStep: pct * n - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * pct * n - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: n - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: pct * n - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: n - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    const anneal = o.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear') {
      throw new RangeError(`${op}: anneal_strategy must be one of 'cos' or 'linear', instead got ${String(anneal)}`);
    }
    this.annealStrategy = anneal;
    const maxLrs = perGroup(op, 'maxLr', maxLr, groups.length);
    const div = checkNum(op, 'divFactor', o.divFactor ?? 25);
    const finalDiv = checkNum(op, 'finalDivFactor', o.finalDivFactor ?? 1e4);
    this.cycleMomentum = o.cycleMomentum ?? true;
    const defaults = this.optimizer.defaults as Record<string, unknown>;
    this.useBeta1 = 'betas' in defaults;
    if (this.cycleMomentum && !('momentum' in defaults) && !this.useBeta1) {
      throw new RangeError(`${op}: optimizer must support momentum or beta1 with \`cycle_momentum\` option enabled`);
    }
    const baseM = perGroup(op, 'baseMomentum', o.baseMomentum ?? 0.85, groups.length);
    const maxM = perGroup(op, 'maxMomentum', o.maxMomentum ?? 0.95, groups.length);
    this.bounds = maxLrs.map((m, i) => ({
      initialLr: m / div, maxLr: m, minLr: m / div / finalDiv, maxMomentum: maxM[i], baseMomentum: baseM[i],
    }));
    groups.forEach((g, i) => {
      g.initialLr = this.bounds[i].initialLr;
      if (this.cycleMomentum) this.setMomentum(g, maxM[i]);
    });
    this.baseLrs = this.bounds.map((b) => b.initialLr);
    this.initialStep();
  }

  private setMomentum(g: Group, m: number): void {
    if (this.useBeta1) g.betas = [m, (g.betas as number[])[1]];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new RangeError(`OneCycleLR: Tried to step ${stepNum} times. The specified number of total steps is ${this.totalSteps}`);
    }
    return this.groups.map((g, gi) => {
      const b = this.bounds[gi];
      let start = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (stepNum <= ph.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - start) / (ph.endStep - start);
          if (this.cycleMomentum) this.setMomentum(g, this.anneal(b[ph.startMomentum], b[ph.endMomentum], pct));
          return this.anneal(b[ph.startLr], b[ph.endLr], pct);
        }
        start = ph.endStep;
      }
      return g.lr; // not reached: the last phase always matches
    });
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): lower metrics are better; 'max': higher. */
  mode?: 'min' | 'max';
  /** new lr = lr * factor (default 0.1), < 1. */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  minLr?: number | number[];
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps?: number;
}

/** Reduces the lr by `factor` when a metric has stopped improving for `patience` epochs. */
export class ReduceLROnPlateau {
  readonly optimizer: SchedulerOptimizer;
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  protected lastLr: number[];

  constructor(optimizer: SchedulerOptimizer, options?: ReduceLROnPlateauOptions) {
    const op = 'ReduceLROnPlateau';
    const groups = groupsOf(op, optimizer);
    this.optimizer = optimizer;
    const o = checkOptions(op, options) as ReduceLROnPlateauOptions;
    this.factor = checkNum(op, 'factor', o.factor ?? 0.1);
    if (this.factor >= 1) throw new RangeError(`${op}: Factor should be < 1.0.`);
    this.minLrs = perGroup(op, 'minLr', o.minLr ?? 0, groups.length);
    this.patience = checkInteger(op, 'patience', o.patience ?? 10, 0);
    this.threshold = checkNum(op, 'threshold', o.threshold ?? 1e-4);
    this.cooldown = checkInteger(op, 'cooldown', o.cooldown ?? 0, 0);
    this.eps = checkNum(op, 'eps', o.eps ?? 1e-8);
    const mode = o.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max') throw new RangeError(`${op}: mode ${String(mode)} is unknown!`);
    const thresholdMode = o.thresholdMode ?? 'rel';
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') throw new RangeError(`${op}: threshold mode ${String(thresholdMode)} is unknown!`);
    this.mode = mode;
    this.thresholdMode = thresholdMode;
    this.best = mode === 'min' ? Infinity : -Infinity;
    this.lastLr = groups.map((g) => g.lr);
  }

  private isBetter(a: number, best: number): boolean {
    const rel = this.thresholdMode === 'rel';
    if (this.mode === 'min') return rel ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return rel ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }

  /** Records this epoch's metric and reduces the lr when it has stalled. */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor ? metric.item() : metric;
    if (typeof current !== 'number') expected(TypeError, 'ReduceLROnPlateau.step', 'a number or a one-element Tensor', 'metric', metric);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs in cooldown do not count
    }
    const groups = this.optimizer.paramGroups as unknown as Group[];
    if (this.numBadEpochs > this.patience) {
      groups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = groups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): Record<string, unknown> {
    return saveFields(this);
  }

  loadStateDict(dict: Record<string, unknown>): void {
    loadFields(this, 'ReduceLROnPlateau', dict);
  }
}

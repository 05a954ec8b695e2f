/**
 * The optimizers with a fused native update (SGD, Adam, AdamW, RMSprop, Adagrad):
 * one native call per parameter group updates every parameter that has a gradient,
 * each in a single pass over its memory (native/cpu/optim.cc has the rules). This
 * file owns their state: tensors created on the first step that needs them, a step
 * count per parameter, and the state dict of both.
 *
 * float16 and bfloat16 parameters train through float32 master weights: the state
 * holds a float32 copy of the parameter ('master') and float32 moments; the fused pass
 * reads the half gradient, updates the master and rounds it into the half parameter.
 * Updates smaller than half a half-precision step then still add up.
 */
import { native, type OptimHyperName, type OptimKind } from '../binding';
import { checkOptions, checkTensor, expected } from '../check';
import { noGrad } from '../autograd';
import { clone, to } from '../ops/convert';
import { zerosLike } from '../ops/creation';
import { formatShape, sameShape } from '../shape';
import { Tensor } from '../tensor';
import { Optimizer, OptimizerStateError, type ParamGroup, type ParamStateDict } from './optimizer';

/** What a GradScaler passes to step() (PyTorch's grad_scale / found_inf). */
export interface AmpStepOptions {
  /** Every gradient is multiplied by this inside the update (1 / loss scale); default 1. */
  invScale?: number;
  /** A float32 tensor of one element: when non-zero the whole step is skipped and no state changes. */
  foundInf?: Tensor | null;
}

/** The kernel's three state slots for one group: a state name, or null where unused. */
export type StateSlots = readonly [string | null, string | null, string | null];

interface Item {
  param: Tensor;
  /** The float32 master weight of a half parameter, else null. */
  master: Tensor | null;
  grad: Tensor;
  state: ParamStateDict;
  slots: Array<Tensor | null>;
  fresh: string[];
  step: number;
  isNew: boolean;
}

const HYPER_COUNT = Object.keys(native.optimHyper).length;
const MASTER = 'master';

/** The dtype a parameter's optimizer state is kept in: float32 beside half parameters. */
function stateDtype(p: Tensor): Tensor['dtype'] {
  return p.dtype === 'float16' || p.dtype === 'bfloat16' ? 'float32' : p.dtype;
}

export abstract class FusedOptimizer<O extends object> extends Optimizer<O, ParamStateDict> {
  /** step() accepts AmpStepOptions (PyTorch's _step_supports_amp_scaling). */
  readonly supportsAmpScaling = true;
  protected readonly state = new Map<Tensor, ParamStateDict>();

  protected abstract readonly kind: OptimKind;
  /** The state tensors this group's update keeps, in the kernel's slot order. */
  protected abstract slots(group: ParamGroup<O>): StateSlots;
  /** The group's hyperparameters by optimHyper name; the rest are 0 (invScale 1). */
  protected abstract hyper(group: ParamGroup<O>): Partial<Record<OptimHyperName, number | boolean>>;

  /** A new state tensor for p: zeros unless a subclass says otherwise. */
  protected initState(_name: string, p: Tensor, _group: ParamGroup<O>): Tensor {
    return noGrad(() => zerosLike(p));
  }

  /** The step value the kernel gets for a parameter: its update count, from 1. */
  protected stepValue(state: ParamStateDict, _fresh: readonly string[]): number {
    return state.step + 1;
  }

  /** The state of p, or undefined before its first step. */
  getState(p: Tensor): Readonly<ParamStateDict> | undefined {
    return this.state.get(p);
  }

  step(closure?: () => Tensor | number, amp?: AmpStepOptions): number | undefined {
    const loss = this.runClosure(closure);
    const { invScale, foundInf } = this.ampOptions(amp);
    this.paramGroups.forEach((g, i) => this.updateGroup(g, i, invScale, foundInf));
    return loss;
  }

  private ampOptions(amp: AmpStepOptions | undefined): { invScale: number; foundInf: Tensor | null } {
    const o = checkOptions(`${this.name}.step`, amp) as AmpStepOptions;
    const invScale = o.invScale ?? 1;
    if (typeof invScale !== 'number') expected(TypeError, `${this.name}.step`, 'a number', 'invScale', invScale);
    if (!Number.isFinite(invScale)) expected(RangeError, `${this.name}.step`, 'a finite number', 'invScale', invScale);
    const foundInf = o.foundInf ?? null;
    if (foundInf !== null) {
      checkTensor(`${this.name}.step`, 'foundInf', foundInf);
      if (foundInf.dtype !== 'float32' || foundInf.numel !== 1) {
        expected(TypeError, `${this.name}.step`, 'a float32 tensor of one element', 'foundInf', foundInf);
      }
    }
    return { invScale, foundInf };
  }

  private updateGroup(group: ParamGroup<O>, g: number, invScale: number, foundInf: Tensor | null): void {
    const names = this.slots(group);
    const items: Item[] = [];
    group.params.forEach((param, j) => {
      if (param.grad === null) return;
      const where = `paramGroups[${g}].params[${j}]`;
      checkTensor(this.name, where, param);
      const raw = checkTensor(this.name, `the gradient of ${where}`, param.grad);
      if (!sameShape(raw.shape, param.shape)) {
        throw new RangeError(`${this.name}: the gradient of ${where} has shape ${formatShape(raw.shape)} but the parameter ${formatShape(param.shape)}`);
      }
      if (raw.device !== param.device) {
        throw new TypeError(`${this.name}: the gradient of ${where} is on ${raw.device} but the parameter on ${param.device}`);
      }
      const grad = raw.dtype === param.dtype ? raw : noGrad(() => to(raw, param.dtype));
      const existing = this.state.get(param);
      const state = existing ?? { step: 0, tensors: {} };
      const fresh: string[] = [];
      let master: Tensor | null = null;
      if (stateDtype(param) !== param.dtype) {
        master = state.tensors[MASTER] ?? null;
        if (master === null) {
          master = noGrad(() => to(param, 'float32'));
          fresh.push(MASTER);
        }
      }
      const slots = names.map((n) => {
        if (n === null) return null;
        const t = state.tensors[n];
        if (t !== undefined) return t;
        fresh.push(n);
        return this.initState(n, master ?? param, group);
      });
      const step = this.stepValue(state, fresh.filter((n) => n !== MASTER));
      items.push({ param, master, grad, state, slots, fresh, step, isNew: existing === undefined });
    });
    if (items.length === 0) return;
    const hyper = new Array<number>(HYPER_COUNT).fill(0);
    for (const [k, v] of Object.entries(this.hyper(group))) hyper[native.optimHyper[k as OptimHyperName]] = Number(v);
    hyper[native.optimHyper.invScale] = invScale;
    // one native pass per kind of parameter: its own dtype, or half beside a float32 master
    const buckets = new Map<string, Item[]>();
    for (const it of items) {
      const key = `${it.param.dtype}:${it.master !== null}`;
      const list = buckets.get(key) ?? [];
      list.push(it);
      buckets.set(key, list);
    }
    let applied = true;
    for (const list of buckets.values()) {
      const slot = (k: number) => list.map((it) => (it.slots[k] === null ? null : it.slots[k]!._s));
      const masters = list[0].master !== null;
      applied = native.optimStep(
        native.optimKinds[this.kind],
        hyper,
        list.map((it) => (it.master ?? it.param)._s),
        list.map((it) => it.grad._s),
        slot(0),
        slot(1),
        slot(2),
        list.map((it) => it.param.numel),
        list.map((it) => it.step),
        foundInf === null ? null : foundInf._s,
        masters ? list.map((it) => it.param._s) : null,
      );
    }
    for (const it of items) {
      if (it.grad !== it.param.grad) it.grad.dispose();
      const made = (n: string) => (n === MASTER ? it.master! : it.slots[names.indexOf(n)]!);
      if (!applied) {
        // a skipped step leaves no trace: state made for it goes again
        it.fresh.forEach((n) => made(n).dispose());
        continue;
      }
      it.fresh.forEach((n) => (it.state.tensors[n] = made(n)));
      it.state.step += 1;
      if (it.isNew) this.state.set(it.param, it.state);
    }
  }

  protected saveState(index: ReadonlyMap<Tensor, number>): Record<number, ParamStateDict> {
    const out: Record<number, ParamStateDict> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const tensors = Object.fromEntries(Object.entries(s.tensors).map(([k, t]) => [k, noGrad(() => clone(t))]));
      out[i] = { step: s.step, tensors };
    }
    return out;
  }

  protected loadState(state: Record<number, ParamStateDict>, params: readonly Tensor[]): void {
    const op = `${this.name}.loadStateDict`;
    const entries = Object.entries(state).map(([key, s]) => {
      const p = /^\d+$/.test(key) ? params[Number(key)] : undefined;
      if (p === undefined) throw new OptimizerStateError(`${op}: the state dict has state for parameter ${key}, which this optimizer does not have`);
      if (typeof s !== 'object' || s === null || typeof s.tensors !== 'object' || s.tensors === null) {
        expected(TypeError, op, 'a parameter state { step, tensors }', `state[${key}]`, s);
      }
      if (!Number.isInteger(s.step) || s.step < 0) expected(RangeError, op, 'a non-negative integer', `state[${key}].step`, s.step);
      for (const [name, t] of Object.entries(s.tensors)) {
        checkTensor(op, `state[${key}].tensors.${name}`, t);
        if (!sameShape(t.shape, p.shape)) {
          throw new OptimizerStateError(
            `${op}: state ${name} of parameter ${key} has shape ${formatShape(t.shape)} but the parameter has shape ${formatShape(p.shape)}`,
          );
        }
      }
      return { p, s };
    });
    // own copies on the parameter's device in its state dtype, as torch.optim casts loaded state
    const loaded = entries.map(({ p, s }) => ({
      p,
      step: s.step,
      tensors: Object.fromEntries(
        Object.entries(s.tensors).map(([name, t]) => [name, noGrad(() => clone(to(to(t, p.device), stateDtype(p))))]),
      ),
    }));
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
    for (const { p, step, tensors } of loaded) this.state.set(p, { step, tensors });
  }
}

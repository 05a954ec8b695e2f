/**
 * Optimizer base (torch.optim.Optimizer): parameter groups that each hold their own
 * copy of every option, options checked by name when a group is added, and a state
 * dict that resumes a run exactly. Subclasses say what their state is and how a step
 * uses it; per-parameter state is created lazily, on the first step that needs it.
 */
import { checkOptions, checkTensor, describe, expected } from '../check';
import { enableGrad, noGrad } from '../autograd';
import { isFloating } from '../dtype';
import { TensorgradError } from '../errors';
import { zerosLike } from '../ops/creation';
import { Tensor } from '../tensor';

/** A parameter group: its tensors and its own value of every option (PyTorch's group dict). */
export type ParamGroup<O> = O & {
  params: Tensor[];
  /** The group's lr when the first LR scheduler was attached (PyTorch's initial_lr). */
  initialLr?: number;
};

/** A group as the constructor and addParamGroup take it: options not given come from the defaults. */
export type ParamGroupSpec<O> = { params: Iterable<Tensor> | Tensor; initialLr?: number } & Partial<O>;

/** Tensors (one group), or groups with options of their own. */
export type ParamSpec<O> = Iterable<Tensor> | Iterable<ParamGroupSpec<O>>;

/** Saved state of one parameter of the fused optimizers: update count and state tensors. */
export interface ParamStateDict {
  step: number;
  tensors: Record<string, Tensor>;
}

/** What stateDict() returns: per-parameter state by position, and every group's options. */
export interface OptimizerStateDict<O, S = ParamStateDict> {
  state: Record<number, S>;
  paramGroups: Array<O & { params: number[]; initialLr?: number }>;
}

/** A state dict that does not fit this optimizer (other groups, sizes or shapes). */
export class OptimizerStateError extends TensorgradError {}

type Options = Record<string, unknown>;

/** Options may be plain values or arrays of them (betas); copies keep groups independent. */
function copyOptions<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v])) as T;
}

export abstract class Optimizer<O extends object, S = ParamStateDict> {
  readonly paramGroups: Array<ParamGroup<O>> = [];
  /** The options every new group starts from: PyTorch's defaults overridden by the constructor's options. */
  readonly defaults: Readonly<O>;

  /**
   * @param builtins PyTorch's defaults for this optimizer; they also fix each option's type.
   * @param options the caller's options, checked by name and type, then by `validate`.
   */
  protected constructor(
    readonly name: string,
    params: ParamSpec<O>,
    private readonly builtins: O,
    options: Partial<O> | undefined,
  ) {
    this.defaults = this.resolve('', checkOptions(name, options), builtins);
    const list = this.paramList(params);
    if (list.every((p) => p instanceof Tensor)) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupSpec<O>);
    else if (list.every((g) => !(g instanceof Tensor))) for (const g of list) this.addParamGroup(g as ParamGroupSpec<O>);
    else throw new TypeError(`${name}: params mixes tensors and parameter groups; pass one kind`);
  }

  private paramList(params: unknown): unknown[] {
    const iterable = typeof params === 'object' && params !== null && !(params instanceof Tensor) && Symbol.iterator in params;
    if (!iterable) expected(TypeError, this.name, 'an iterable of Tensors or parameter groups', 'params', params);
    const list = Array.from(params as Iterable<unknown>);
    if (list.length === 0) throw new RangeError(`${this.name}: optimizer got an empty parameter list`);
    return list;
  }

  /**
   * Merges `given` over `base` after checking every key is an option of this optimizer
   * and has the type of its built-in default; then `validate` checks the values.
   */
  private resolve(prefix: string, given: Options, base: O): O {
    const known = Object.keys(this.builtins);
    for (const [key, value] of Object.entries(given)) {
      if (value === undefined) continue;
      if (key === 'initialLr') {
        if (typeof value !== 'number') expected(TypeError, this.name, 'a number', `${prefix}initialLr`, value);
        continue;
      }
      if (!known.includes(key)) expected(TypeError, this.name, `one of ${known.join(', ')}`, 'an option name', key);
      const builtin = (this.builtins as Options)[key];
      const kind = typeof builtin;
      if ((kind === 'number' || kind === 'boolean') && typeof value !== kind) {
        expected(TypeError, this.name, `a ${kind}`, `${prefix}${key}`, value);
      }
    }
    const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    const merged = copyOptions({ ...base, ...defined } as O);
    this.validate(merged);
    return merged;
  }

  /** Throws naming the first bad hyperparameter, with PyTorch's messages. */
  protected abstract validate(options: O): void;

  /** Adds a group of parameters; options it does not set come from `defaults`. */
  addParamGroup(group: ParamGroupSpec<O>): void {
    const index = this.paramGroups.length;
    const where = `paramGroups[${index}]`;
    if (typeof group !== 'object' || group === null || group instanceof Tensor || Array.isArray(group)) {
      expected(TypeError, this.name, 'a parameter group { params, ...options }', where, group);
    }
    const { params, ...rest } = group as ParamGroupSpec<O>;
    const raw = params instanceof Tensor ? [params] : params;
    if (typeof raw !== 'object' || raw === null || !(Symbol.iterator in raw)) {
      expected(TypeError, this.name, 'an iterable of Tensors', `${where}.params`, params);
    }
    const list = Array.from(raw as Iterable<unknown>);
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    const mine = new Set<Tensor>();
    list.forEach((p, j) => {
      const name = `${where}.params[${j}]`;
      const t = checkTensor(this.name, name, p);
      if (!isFloating(t.dtype)) expected(TypeError, this.name, 'a floating-point tensor', name, t);
      if (!t.isLeaf) throw new TypeError(`${this.name}: can't optimize a non-leaf Tensor (${name})`);
      if (mine.has(t)) throw new RangeError(`${this.name}: ${name} appears twice in its parameter group`);
      if (seen.has(t)) throw new RangeError(`${this.name}: some parameters appear in more than one parameter group`);
      mine.add(t);
    });
    const options = this.resolve(`${where}.`, rest as Options, this.defaults as O);
    this.paramGroups.push({ ...options, params: list as Tensor[] } as ParamGroup<O>);
  }

  /**
   * Updates the parameters. With a closure (zeroGrad, forward, backward, return the loss),
   * it is called first and its loss returned.
   */
  abstract step(closure?: () => Tensor | number): number | undefined;

  /** Drops every gradient (setToNone, the default, as in PyTorch) or sets it to zeros. */
  zeroGrad(options?: { setToNone?: boolean }): void {
    const setToNone = checkOptions(`${this.name}.zeroGrad`, options).setToNone ?? true;
    if (typeof setToNone !== 'boolean') expected(TypeError, `${this.name}.zeroGrad`, 'a boolean', 'setToNone', setToNone);
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        const old = p.grad;
        p.grad = setToNone ? null : noGrad(() => zerosLike(old));
      }
    }
  }

  /** Runs the closure with grad enabled and returns its loss as a number. */
  protected runClosure(closure: unknown): number | undefined {
    if (closure === undefined) return undefined;
    if (typeof closure !== 'function') expected(TypeError, this.name, 'a function', 'closure', closure);
    const loss = enableGrad(() => (closure as () => unknown)());
    if (typeof loss === 'number') return loss;
    if (loss instanceof Tensor) return loss.item();
    return expected(TypeError, this.name, 'a closure that returns a Tensor or a number', 'closure', loss);
  }

  /** Every group's options and the per-parameter state, by parameter position; tensors are copies. */
  stateDict(): OptimizerStateDict<O, S> {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...options } = g;
      return {
        ...copyOptions(options),
        params: params.map((p) => {
          const position = index.size;
          index.set(p, position);
          return position;
        }),
      };
    });
    return { state: this.saveState(index), paramGroups } as OptimizerStateDict<O, S>;
  }

  /**
   * Restores options and state saved by stateDict(), for the same parameters in the
   * same order. Everything is checked before anything changes.
   */
  loadStateDict(dict: OptimizerStateDict<O, S>): void {
    const op = `${this.name}.loadStateDict`;
    if (typeof dict !== 'object' || dict === null || !Array.isArray(dict.paramGroups) || typeof dict.state !== 'object' || dict.state === null) {
      expected(TypeError, op, 'an optimizer state dict { state, paramGroups }', 'stateDict', dict);
    }
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new OptimizerStateError(
        `${op}: loaded state dict has ${dict.paramGroups.length} parameter groups but the optimizer has ${this.paramGroups.length}`,
      );
    }
    const merged = dict.paramGroups.map((g, i) => {
      const size = Array.isArray(g?.params) ? g.params.length : describe(g?.params);
      if (size !== this.paramGroups[i].params.length) {
        throw new OptimizerStateError(
          `${op}: loaded parameter group ${i} has ${size} parameters but the optimizer's group has ${this.paramGroups[i].params.length}`,
        );
      }
      const { params: _positions, ...options } = g;
      const { params: _own, ...current } = this.paramGroups[i];
      return this.resolve(`paramGroups[${i}].`, options as Options, current as unknown as O);
    });
    this.loadState(dict.state, this.paramGroups.flatMap((g) => g.params));
    merged.forEach((options, i) => Object.assign(this.paramGroups[i], options));
  }

  /** The per-parameter state by position (index maps each parameter to it). */
  protected abstract saveState(index: ReadonlyMap<Tensor, number>): Record<number, S>;

  /** Checks saved state against params (in position order), then replaces the state. */
  protected abstract loadState(state: Record<number, S>, params: readonly Tensor[]): void;
}

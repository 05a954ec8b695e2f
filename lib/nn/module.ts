/**
 * Module: the base of every layer. Parameters, buffers and child modules are
 * registered by name (as attribute assignment does in PyTorch), so
 * namedParameters(), stateDict() and loadStateDict() walk one tree with dotted
 * names. Layers read their tensors through the registry (param(), buffer()), so
 * loadStateDict(), to() and functionalCall() reach every forward.
 */
import { noGrad } from '../autograd';
import { native } from '../binding';
import { checkBoolean, checkOptions, checkTensor, expected } from '../check';
import { isDType, isFloating, type DType } from '../dtype';
import { checkDevice, type Device, type DeviceLike } from '../device';
import { TensorgradError } from '../errors';
import { cast, to as convert } from '../ops/convert';
import { contiguousStrides, formatShape, sameShape } from '../shape';
import { Tensor } from '../tensor';

/** Copies src's values into dst's storage (same shape; dtype and device converted), keeping dst's identity. */
export function assign(op: string, dst: Tensor, src: Tensor): void {
  if (!sameShape(dst.shape, src.shape)) {
    throw new RangeError(`${op}: shape ${formatShape(src.shape)} does not match ${formatShape(dst.shape)}`);
  }
  const value = noGrad(() => {
    const moved = src.device === dst.device ? src : convert(src, dst.device);
    return moved.dtype === dst.dtype ? moved : cast(moved, dst.dtype, op);
  });
  const strides = contiguousStrides(dst.shape);
  native.copy(dst._s, 0, strides, value._s, 0, strides, dst.shape);
}

/**
 * Makes dst hold src's storage, dtype and device (as PyTorch's `param.data = ...`),
 * so optimizers and fields that hold dst keep working after Module.to().
 */
function adopt(dst: Tensor, src: Tensor): void {
  const ref = src._storageRef('to');
  ref.refs++;
  src.dispose();
  dst._storageRef('to').release();
  dst._ref = ref;
  const fields = dst as unknown as { dtype: DType; device: Device };
  fields.dtype = src.dtype;
  fields.device = src.device;
}

/** loadStateDict found keys or shapes that do not fit the model. */
export class StateDictError extends TensorgradError {}

export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors (default true); shape mismatches always are. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface RegisterBufferOptions {
  /** Saved in stateDict() (default true). */
  persistent?: boolean;
}

type Kind = 'parameter' | 'buffer' | 'module';

function checkName(op: string, name: unknown): string {
  if (typeof name !== 'string') expected(TypeError, op, 'a string', 'name', name);
  if (name === '' || name.includes('.')) expected(RangeError, op, 'a non-empty name without dots', 'name', name);
  return name;
}

const join = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);

export abstract class Module {
  /** Set by train() and eval(); layers like Dropout and BatchNorm read it. */
  training = true;
  readonly #parameters = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #transient = new Set<string>();
  readonly #modules = new Map<string, Module>();

  abstract forward(...inputs: unknown[]): Tensor;

  #kindOf(name: string): Kind | null {
    if (this.#parameters.has(name)) return 'parameter';
    if (this.#buffers.has(name)) return 'buffer';
    if (this.#modules.has(name)) return 'module';
    return null;
  }

  #claim(op: string, name: unknown, kind: Kind): string {
    const n = checkName(op, name);
    const taken = this.#kindOf(n);
    if (taken !== null && taken !== kind) throw new TypeError(`${op}: '${n}' is already registered as a ${taken}`);
    return n;
  }

  /** Registers a trainable tensor under `name` (it is made to require grad); null reserves the name. */
  registerParameter(name: string, t: Tensor): Tensor;
  registerParameter(name: string, t: Tensor | null): Tensor | null;
  registerParameter(name: string, t: Tensor | null): Tensor | null {
    const n = this.#claim('registerParameter', name, 'parameter');
    if (t !== null) {
      checkTensor('registerParameter', n, t);
      if (!isFloating(t.dtype)) expected(TypeError, 'registerParameter', 'a floating-point tensor', n, t);
      if (!t.isLeaf) expected(TypeError, 'registerParameter', 'a leaf tensor (detach() it first)', n, t);
      if (!t.requiresGrad) t.requiresGrad_(true);
    }
    this.#parameters.set(n, t);
    return t;
  }

  /** Registers state that is saved but not trained (running statistics); null reserves the name. */
  registerBuffer(name: string, t: Tensor, options?: RegisterBufferOptions): Tensor;
  registerBuffer(name: string, t: Tensor | null, options?: RegisterBufferOptions): Tensor | null;
  registerBuffer(name: string, t: Tensor | null, options?: RegisterBufferOptions): Tensor | null {
    const n = this.#claim('registerBuffer', name, 'buffer');
    const persistent = checkBoolean('registerBuffer', 'persistent', checkOptions('registerBuffer', options).persistent ?? true);
    if (t !== null) checkTensor('registerBuffer', n, t);
    this.#buffers.set(n, t);
    if (persistent) this.#transient.delete(n);
    else this.#transient.add(n);
    return t;
  }

  /** Registers a child module under `name`; returns it. */
  registerModule<M extends Module>(name: string, m: M): M {
    const n = this.#claim('registerModule', name, 'module');
    if (!(m instanceof Module)) expected(TypeError, 'registerModule', 'a Module', n, m);
    this.#modules.set(n, m);
    return m;
  }

  /** The parameter registered here under name (null if none), for a layer's forward(). */
  protected param(name: string): Tensor | null {
    return this.#parameters.get(name) ?? null;
  }

  /** The buffer registered here under name (null if none). */
  protected buffer(name: string): Tensor | null {
    return this.#buffers.get(name) ?? null;
  }

  /** The module at a dotted path ('' is this one). */
  getSubmodule(target: string): Module {
    if (typeof target !== 'string') expected(TypeError, 'getSubmodule', 'a dotted name', 'target', target);
    let m: Module = this;
    if (target === '') return m;
    for (const part of target.split('.')) {
      const next = m.#modules.get(part);
      if (next === undefined) throw new RangeError(`getSubmodule: the module has no submodule '${target}'`);
      m = next;
    }
    return m;
  }

  #owner(op: string, target: string): [Module, string] {
    if (typeof target !== 'string') expected(TypeError, op, 'a dotted name', 'target', target);
    const at = target.lastIndexOf('.');
    const path = at < 0 ? '' : target.slice(0, at);
    let owner: Module;
    try {
      owner = this.getSubmodule(path);
    } catch {
      throw new RangeError(`${op}: the module has no submodule '${path}' (looking for '${target}')`);
    }
    return [owner, target.slice(at + 1)];
  }

  /** The parameter at a dotted path, like 'encoder.0.weight'. */
  getParameter(target: string): Tensor {
    const [owner, name] = this.#owner('getParameter', target);
    const t = owner.#parameters.get(name);
    if (!t) throw new RangeError(`getParameter: the module has no parameter '${target}'`);
    return t;
  }

  /** The buffer at a dotted path, like 'bn.runningMean'. */
  getBuffer(target: string): Tensor {
    const [owner, name] = this.#owner('getBuffer', target);
    const t = owner.#buffers.get(name);
    if (!t) throw new RangeError(`getBuffer: the module has no buffer '${target}'`);
    return t;
  }

  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this.#modules.entries();
  }

  *children(): IterableIterator<Module> {
    yield* this.#modules.values();
  }

  /** This module and every module below it, each once, depth first. */
  *namedModules(prefix = ''): IterableIterator<[string, Module]> {
    const seen = new Set<Module>();
    function* walk(m: Module, p: string): IterableIterator<[string, Module]> {
      if (seen.has(m)) return;
      seen.add(m);
      yield [p, m];
      for (const [name, child] of m.#modules) yield* walk(child, join(p, name));
    }
    yield* walk(this, prefix);
  }

  *modules(): IterableIterator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters by dotted name; a tensor shared by two layers is listed once. */
  *namedParameters(prefix = ''): IterableIterator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, t] of m.#parameters) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        yield [join(path, name), t];
      }
    }
  }

  parameters(): Tensor[] {
    return Array.from(this.namedParameters(), ([, t]) => t);
  }

  *namedBuffers(prefix = ''): IterableIterator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, t] of m.#buffers) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        yield [join(path, name), t];
      }
    }
  }

  buffers(): Tensor[] {
    return Array.from(this.namedBuffers(), ([, t]) => t);
  }

  /** Sets training mode on this module and every module below it. */
  train(mode = true): this {
    checkBoolean('train', 'mode', mode);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every submodule (children first) and then on this one, as for custom initialization. */
  apply(fn: (m: Module) => void): this {
    if (typeof fn !== 'function') expected(TypeError, 'apply', 'a function', 'fn', fn);
    for (const child of this.#modules.values()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Drops every parameter's gradient (PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Freezes (false) or unfreezes every parameter, e.g. for transfer learning. */
  requiresGrad_(requiresGrad = true): this {
    checkBoolean('requiresGrad_', 'requiresGrad', requiresGrad);
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** The registered tensors themselves, in PyTorch's order: own parameters, own buffers, then children. */
  #stateEntries(prefix: string, out: Map<string, Tensor>): Map<string, Tensor> {
    for (const [name, t] of this.#parameters) if (t !== null) out.set(join(prefix, name), t);
    for (const [name, t] of this.#buffers) if (t !== null && !this.#transient.has(name)) out.set(join(prefix, name), t);
    for (const [name, m] of this.#modules) m.#stateEntries(join(prefix, name), out);
    return out;
  }

  /** Parameters and persistent buffers by dotted name, as detached tensors sharing the model's storage. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.#stateEntries('', new Map())) out[name] = t.detach();
    return out;
  }

  /**
   * Copies the values of a state dict into the registered tensors (their identity
   * stays, so optimizers keep working). One error lists every missing key,
   * unexpected key and shape mismatch; with strict: false only mismatches throw.
   */
  loadStateDict(stateDict: Record<string, Tensor>, options?: LoadStateDictOptions): LoadStateDictResult {
    const op = 'loadStateDict';
    const strict = checkBoolean(op, 'strict', checkOptions(op, options).strict ?? true);
    if (typeof stateDict !== 'object' || stateDict === null || Array.isArray(stateDict) || stateDict instanceof Tensor) {
      expected(TypeError, op, 'an object of tensors by name', 'stateDict', stateDict);
    }
    for (const [name, t] of Object.entries(stateDict)) checkTensor(op, name, t);
    const own = this.#stateEntries('', new Map());
    const missingKeys = [...own.keys()].filter((k) => !Object.hasOwn(stateDict, k));
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !own.has(k));
    const mismatches: string[] = [];
    for (const [name, dst] of own) {
      const src = Object.hasOwn(stateDict, name) ? stateDict[name] : undefined;
      if (src !== undefined && !sameShape(src.shape, dst.shape)) {
        mismatches.push(`${name} is ${formatShape(src.shape)} in the state dict but ${formatShape(dst.shape)} in the model`);
      }
    }
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing keys [${missingKeys.join(', ')}]`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys [${unexpectedKeys.join(', ')}]`);
    if (mismatches.length > 0) problems.push(`shape mismatches [${mismatches.join('; ')}]`);
    if (problems.length > 0) throw new StateDictError(`${op}: the state dict does not fit the model: ${problems.join('; ')}`);
    for (const [name, dst] of own) {
      if (Object.hasOwn(stateDict, name)) assign(op, dst, stateDict[name]);
    }
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Converts floating-point parameters and buffers to a float dtype, or every
   * tensor to a device, in place: the tensors keep their identity (gradients are
   * converted too). Build optimizers after moving a model, as in PyTorch.
   */
  to(to: DType | DeviceLike): this {
    const toDType = isDType(to);
    if (toDType && !isFloating(to)) expected(TypeError, 'to', 'a floating-point dtype or a device', 'target', to);
    const target: DType | Device = toDType ? to : checkDevice('to', to, 'target');
    const seen = new Set<Tensor>();
    for (const m of this.modules()) {
      for (const t of [...m.#parameters.values(), ...m.#buffers.values()]) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        if (toDType ? !isFloating(t.dtype) || t.dtype === target : t.device === target) continue;
        const grad = t.grad;
        adopt(t, noGrad(() => convert(t, target)));
        t.grad = grad === null ? null : noGrad(() => convert(grad, target));
      }
    }
    return this;
  }

  /** One line of settings for toString(), e.g. 'inFeatures=4, outFeatures=8, bias=true'. */
  extraRepr(): string {
    return '';
  }

  /** The module tree in PyTorch's print format. */
  toString(): string {
    const name = this.constructor.name;
    const extra = this.extraRepr();
    const lines = [...this.#modules].map(([n, m]) => `(${n}): ${m.toString().split('\n').join('\n  ')}`);
    if (lines.length === 0) return `${name}(${extra})`;
    return `${name}(\n${(extra ? [extra, ...lines] : lines).map((l) => `  ${l}`).join('\n')}\n)`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal Swaps the tensor registered under a local name; returns the old one. */
  static _swap(m: Module, name: string, t: Tensor | null): Tensor | null | undefined {
    const table = m.#parameters.has(name) ? m.#parameters : m.#buffers.has(name) ? m.#buffers : null;
    if (table === null) return undefined;
    const old = table.get(name) ?? null;
    table.set(name, t);
    return old;
  }
}

/**
 * Runs module.forward(...inputs) with some parameters and buffers replaced by the
 * given tensors (torch.func.functional_call), then puts the originals back. The
 * replacements may be any tensors, including ones inside a graph.
 */
export function functionalCall(module: Module, tensors: Record<string, Tensor>, ...inputs: unknown[]): Tensor {
  const op = 'functionalCall';
  if (!(module instanceof Module)) expected(TypeError, op, 'a Module', 'module', module);
  if (typeof tensors !== 'object' || tensors === null) expected(TypeError, op, 'an object of tensors by name', 'tensors', tensors);
  const restore: Array<() => void> = [];
  try {
    for (const [target, t] of Object.entries(tensors)) {
      checkTensor(op, target, t);
      const at = target.lastIndexOf('.');
      let owner: Module;
      try {
        owner = module.getSubmodule(at < 0 ? '' : target.slice(0, at));
      } catch {
        throw new RangeError(`${op}: the module has no parameter or buffer '${target}'`);
      }
      const name = target.slice(at + 1);
      const old = Module._swap(owner, name, t);
      if (old === undefined) throw new RangeError(`${op}: the module has no parameter or buffer '${target}'`);
      restore.push(() => Module._swap(owner, name, old));
    }
    return module.forward(...inputs);
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}

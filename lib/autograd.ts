/**
 * Define-by-run autograd. Each op that sees an input requiring grad attaches a
 * GradFn to its output: the inputs and a closure that maps the output's gradient
 * to the inputs' gradients. Closures are written with the public ops, so running
 * them with grad enabled (createGraph) records a graph of the backward itself.
 */
import { AutogradError } from './errors';
import { checkOptions, checkTensor } from './check';
import { formatShape, sameShape } from './shape';
import type { Tensor } from './tensor';
import { add } from './ops/elementwise';
import { onesLike, zerosLike } from './ops/creation';
import { clone } from './ops/convert';

export type BackwardFn = (grad: Tensor) => ReadonlyArray<Tensor | null | undefined>;

export interface GradFn {
  readonly name: string;
  /** Inputs that need a gradient; null where an input needs none. Cleared when freed. */
  inputs: ReadonlyArray<Tensor | null>;
  /** Null once a backward pass has used and released it. */
  backward: BackwardFn | null;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Runs fn without recording a graph (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/**
 * Attaches the backward rule to `out` when grad mode is on and an input needs a
 * gradient. Returns `out`.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: ReadonlyArray<Tensor | null>,
  backward: BackwardFn,
): Tensor {
  if (!gradEnabled) return out;
  let any = false;
  const kept = inputs.map((t) => {
    const need = t !== null && t.requiresGrad;
    any ||= need;
    return need ? t : null;
  });
  if (!any) return out;
  out._gradFn = { name, inputs: kept, backward };
  out._requiresGrad = true;
  return out;
}

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

/** Nodes reachable from the roots, ordered so each comes after every node that feeds it a gradient. */
function topologicalOrder(roots: readonly GradFn[]): GradFn[] {
  const order: GradFn[] = [];
  const visited = new Set<GradFn>();
  // iterative post-order DFS: deep graphs (long training unrolls) must not overflow the stack
  const stack: Array<{ node: GradFn; next: number }> = [];
  for (const root of roots) {
    if (visited.has(root)) continue;
    visited.add(root);
    stack.push({ node: root, next: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const inputs = top.node.inputs;
      if (top.next < inputs.length) {
        const child = inputs[top.next++]?._gradFn;
        if (child && !visited.has(child)) {
          visited.add(child);
          stack.push({ node: child, next: 0 });
        }
      } else {
        order.push(top.node);
        stack.pop();
      }
    }
  }
  return order.reverse();
}


interface EngineRequest {
  roots: readonly Tensor[];
  grads: readonly Tensor[];
  retainGraph: boolean;
  createGraph: boolean;
  /** When given, gradients for these tensors are returned and no .grad is touched. */
  inputs?: readonly Tensor[];
}

function run(req: EngineRequest): Array<Tensor | null> {
  const pending = new Map<GradFn, Tensor>();
  const captured: Array<Tensor | null> = req.inputs ? req.inputs.map(() => null) : [];
  const captureLeaf = new Map<Tensor, number>();
  const captureNode = new Map<GradFn, number>();
  req.inputs?.forEach((t, i) => {
    if (t._gradFn) captureNode.set(t._gradFn, i);
    else captureLeaf.set(t, i);
  });

  const deliver = (t: Tensor, g: Tensor): void => {
    if (!sameShape(g.shape, t.shape)) {
      throw new AutogradError(
        `backward: a rule returned a gradient of shape ${formatShape(g.shape)} for a tensor of shape ${formatShape(t.shape)}`,
      );
    }
    const node = t._gradFn;
    if (node) {
      const prev = pending.get(node);
      pending.set(node, prev ? add(prev, g) : g);
      return;
    }
    if (req.inputs) {
      const i = captureLeaf.get(t);
      if (i !== undefined) captured[i] = captured[i] ? add(captured[i]!, g) : g;
      return;
    }
    if (!t.requiresGrad) return;
    if (t.grad === null) {
      // a copy, so .grad never aliases another tensor a later in-place update could change
      t.grad = req.createGraph ? g : clone(g);
    } else {
      t.grad = add(t.grad, g);
    }
  };

  const body = (): void => {
    req.roots.forEach((root, i) => deliver(root, req.grads[i]));
    for (const node of topologicalOrder(req.roots.map((r) => r._gradFn).filter((n): n is GradFn => n !== null))) {
      const g = pending.get(node);
      if (g === undefined) continue;
      pending.delete(node);
      const at = captureNode.get(node);
      if (at !== undefined) captured[at] = g;
      if (node.backward === null) {
        throw new AutogradError(
          `backward: the graph through '${node.name}' was freed by an earlier backward; ` +
            'pass { retainGraph: true } to the first backward to run it twice',
        );
      }
      const grads = node.backward(g);
      const inputs = node.inputs;
      if (!req.retainGraph) {
        node.backward = null; // drops the closure and with it the saved tensors
        node.inputs = [];
      }
      inputs.forEach((t, i) => {
        const gi = grads[i];
        if (t !== null && gi) deliver(t, gi);
      });
    }
  };
  withGradMode(req.createGraph, body);
  return captured;
}

function rootGrad(op: string, root: Tensor, gradient: Tensor | undefined): Tensor {
  if (gradient === undefined) {
    if (root.numel !== 1) {
      throw new AutogradError(
        `${op}: a gradient is needed for an output of shape ${formatShape(root.shape)} ` +
          '(only a single-element output gets an implicit gradient of 1)',
      );
    }
    return onesLike(root);
  }
  checkTensor(op, 'gradient', gradient);
  if (!sameShape(gradient.shape, root.shape)) {
    throw new RangeError(
      `${op}: gradient shape ${formatShape(gradient.shape)} does not match the output shape ${formatShape(root.shape)}`,
    );
  }
  return gradient;
}

/** t.backward(): accumulates d(t)/d(leaf) into every leaf's .grad. */
export function backward(root: Tensor, gradient?: Tensor, options?: BackwardOptions): void {
  checkTensor('backward', 'tensor', root);
  const opts = checkOptions('backward', options) as BackwardOptions;
  if (!root.requiresGrad) {
    throw new AutogradError(
      'backward: the tensor does not require grad and has no grad_fn (set requiresGrad on a leaf it depends on)',
    );
  }
  const createGraph = opts.createGraph ?? false;
  run({
    roots: [root],
    grads: [rootGrad('backward', root, gradient)],
    retainGraph: opts.retainGraph ?? createGraph,
    createGraph,
  });
}

export interface GradOptions extends BackwardOptions {
  /** Gradients of the outputs (default: 1 for single-element outputs). */
  gradOutputs?: ReadonlyArray<Tensor | undefined>;
  /** Return zeros instead of throwing for an input the outputs do not depend on. */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` with respect to `inputs`, returned rather than
 * accumulated into .grad (torch.autograd.grad). `outputs` may also be a function,
 * called with `inputs`. With createGraph the results are differentiable again.
 */
export function grad(
  outputs: Tensor | readonly Tensor[] | ((...inputs: Tensor[]) => Tensor),
  inputs: readonly Tensor[],
  options?: GradOptions,
): Tensor[] {
  const opts = checkOptions('grad', options) as GradOptions;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new TypeError('grad: Expected a non-empty array of tensors for inputs');
  }
  inputs.forEach((t, i) => {
    checkTensor('grad', `inputs[${i}]`, t);
    if (!t.requiresGrad) throw new AutogradError(`grad: inputs[${i}] does not require grad`);
  });
  const outs =
    typeof outputs === 'function' ? [outputs(...inputs)] : Array.isArray(outputs) ? outputs : [outputs as Tensor];
  const roots: Tensor[] = [];
  const grads: Tensor[] = [];
  outs.forEach((o, i) => {
    checkTensor('grad', `outputs[${i}]`, o);
    if (!o.requiresGrad) throw new AutogradError(`grad: outputs[${i}] does not depend on any input that requires grad`);
    roots.push(o);
    grads.push(rootGrad('grad', o, opts.gradOutputs?.[i]));
  });
  const createGraph = opts.createGraph ?? false;
  const found = run({ roots, grads, retainGraph: opts.retainGraph ?? createGraph, createGraph, inputs });
  return found.map((g, i) => {
    if (g !== null) return g;
    if (!opts.allowUnused) {
      throw new AutogradError(`grad: inputs[${i}] was not used to compute the outputs (pass allowUnused: true)`);
    }
    return zerosLike(inputs[i]);
  });
}

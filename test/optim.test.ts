/**
 * tg.optim: every optimizer against its published update rule written here in plain
 * JS (float64), state dicts that resume bit for bit, PyTorch's constructor messages,
 * L-BFGS on Rosenbrock, LR schedulers against their closed forms, gradient clipping,
 * and the native backstop of optimStep.
 */
import { describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { native } from '../lib/binding';
import { expectClose, randomValues } from './helpers';

const { SGD, Adam, AdamW, RMSprop, Adagrad, LBFGS } = tg.optim;
type Vec = Float64Array;
type AnyOptimizer = tg.optim.Optimizer<{ lr: number }, unknown>;

// ---- reference update rules (torch.optim documentation), one parameter at a time ----

interface Ref {
  /** Applies step t (from 1) to p with gradient g, keeping state in s. */
  step(p: Vec, g: Vec, s: Record<string, Vec>, t: number): void;
}

function refSGD(o: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean; maximize?: boolean }): Ref {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = o;
  return {
    step(p, g, s, t) {
      s.buf ??= new Float64Array(p.length);
      for (let i = 0; i < p.length; i++) {
        let d = (maximize ? -g[i] : g[i]) + weightDecay * p[i];
        if (momentum !== 0) {
          s.buf[i] = t === 1 ? d : momentum * s.buf[i] + (1 - dampening) * d;
          d = nesterov ? d + momentum * s.buf[i] : s.buf[i];
        }
        p[i] -= lr * d;
      }
    },
  };
}

function refAdam(o: { lr: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean; maximize?: boolean; decoupled?: boolean }): Ref {
  const { lr, betas: [b1, b2] = [0.9, 0.999], eps = 1e-8, weightDecay = 0, amsgrad = false, maximize = false, decoupled = false } = o;
  return {
    step(p, g, s, t) {
      for (const k of ['m', 'v', 'vmax']) s[k] ??= new Float64Array(p.length);
      for (let i = 0; i < p.length; i++) {
        let d = maximize ? -g[i] : g[i];
        if (decoupled) p[i] *= 1 - lr * weightDecay;
        else d += weightDecay * p[i];
        s.m[i] = b1 * s.m[i] + (1 - b1) * d;
        s.v[i] = b2 * s.v[i] + (1 - b2) * d * d;
        s.vmax[i] = Math.max(s.vmax[i], s.v[i]);
        const mHat = s.m[i] / (1 - b1 ** t);
        const vHat = (amsgrad ? s.vmax[i] : s.v[i]) / (1 - b2 ** t);
        p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    },
  };
}

function refRMSprop(o: { lr: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number; centered?: boolean }): Ref {
  const { lr, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false } = o;
  return {
    step(p, g, s) {
      for (const k of ['sq', 'ga', 'buf']) s[k] ??= new Float64Array(p.length);
      for (let i = 0; i < p.length; i++) {
        const d = g[i] + weightDecay * p[i];
        s.sq[i] = alpha * s.sq[i] + (1 - alpha) * d * d;
        s.ga[i] = alpha * s.ga[i] + (1 - alpha) * d;
        const avg = Math.sqrt(centered ? s.sq[i] - s.ga[i] ** 2 : s.sq[i]) + eps;
        if (momentum > 0) {
          s.buf[i] = momentum * s.buf[i] + d / avg;
          p[i] -= lr * s.buf[i];
        } else {
          p[i] -= (lr * d) / avg;
        }
      }
    },
  };
}

function refAdagrad(o: { lr: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number; eps?: number }): Ref {
  const { lr, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10 } = o;
  return {
    step(p, g, s, t) {
      s.sum ??= new Float64Array(p.length).fill(initialAccumulatorValue);
      const clr = lr / (1 + (t - 1) * lrDecay);
      for (let i = 0; i < p.length; i++) {
        const d = g[i] + weightDecay * p[i];
        s.sum[i] += d * d;
        p[i] -= (clr * d) / (Math.sqrt(s.sum[i]) + eps);
      }
    },
  };
}

// ---- a small fixed problem: loss = sum(c p^2 / 2 + b p), so grad = c p + b ----

interface Problem {
  p0: number[];
  c: number[];
  b: number[];
}
const P1: Problem = { p0: [1, -2, 0.5, 3, -0.1], c: [1, 2, 3, 0.5, 4], b: [0.1, -0.2, 0.3, 0, 0.05] };
const P2: Problem = { p0: [0.7, -0.3, 2], c: [0.5, 1.5, 1], b: [-0.4, 0.2, 0.1] };

function lossOf(ps: readonly tg.Tensor[], probs: readonly Problem[]): tg.Tensor {
  return ps
    .map((p, k) => {
      const c = tg.tensor(probs[k].c, { dtype: p.dtype });
      const b = tg.tensor(probs[k].b, { dtype: p.dtype });
      return p.square().mul(c).mul(0.5).add(p.mul(b)).sum();
    })
    .reduce((a, x) => a.add(x));
}

/**
 * Runs `steps` steps of the optimizer made by `make` over one parameter per problem
 * and the reference rules side by side, comparing parameters after every step.
 */
function matchReference(
  make: (ps: tg.Tensor[]) => AnyOptimizer,
  cases: ReadonlyArray<{ prob: Problem; ref: Ref }>,
  { steps = 3, dtype = 'float64' as tg.DType, atol = 1e-12, rtol = 1e-10 } = {},
): Vec[] {
  const ps = cases.map(({ prob }) => tg.tensor(prob.p0, { dtype, requiresGrad: true }));
  const opt = make(ps);
  const refs = cases.map(({ prob }) => ({ p: Float64Array.from(prob.p0), s: {} as Record<string, Vec> }));
  for (let t = 1; t <= steps; t++) {
    opt.zeroGrad();
    lossOf(ps, cases.map((c) => c.prob)).backward();
    opt.step();
    cases.forEach(({ prob, ref }, k) => {
      const r = refs[k];
      const g = r.p.map((v, i) => prob.c[i] * v + prob.b[i]);
      ref.step(r.p, g, r.s, t);
      expectClose(ps[k].data(), r.p, { atol, rtol });
    });
  }
  return refs.map((r) => r.p);
}

const one = (ref: Ref) => [{ prob: P1, ref }];

describe('optimizers match their update rules (first three steps)', () => {
  const sgdCases: Array<[string, Record<string, number | boolean>]> = [
    ['plain', { lr: 0.1 }],
    ['momentum', { lr: 0.1, momentum: 0.9 }],
    ['momentum + dampening', { lr: 0.1, momentum: 0.9, dampening: 0.5 }],
    ['nesterov', { lr: 0.1, momentum: 0.9, nesterov: true }],
    ['weight decay', { lr: 0.1, momentum: 0.5, weightDecay: 0.1 }],
    ['maximize', { lr: 0.05, momentum: 0.9, maximize: true }],
  ];
  it.each(sgdCases)('SGD %s', (_, o) => {
    matchReference((ps) => new SGD(ps, o), one(refSGD(o as { lr: number })));
  });

  const rmsCases: Array<[string, Record<string, number | boolean>]> = [
    ['plain', { lr: 0.01 }],
    ['momentum', { lr: 0.01, momentum: 0.5 }],
    ['centered', { lr: 0.01, centered: true, alpha: 0.9 }],
    ['centered + momentum + weight decay', { lr: 0.02, centered: true, momentum: 0.7, weightDecay: 0.1, eps: 1e-6 }],
  ];
  it.each(rmsCases)('RMSprop %s', (_, o) => {
    matchReference((ps) => new RMSprop(ps, o), one(refRMSprop(o as { lr: number })));
  });

  it('Adagrad plain and with lrDecay, weightDecay, initialAccumulatorValue', () => {
    matchReference((ps) => new Adagrad(ps, { lr: 0.1 }), one(refAdagrad({ lr: 0.1 })));
    const o = { lr: 0.1, lrDecay: 0.1, weightDecay: 0.05, initialAccumulatorValue: 0.2, eps: 1e-6 };
    matchReference((ps) => new Adagrad(ps, o), one(refAdagrad(o)));
  });

  it('Adam plain, weight decay, maximize', () => {
    matchReference((ps) => new Adam(ps, { lr: 0.1 }), one(refAdam({ lr: 0.1 })));
    matchReference((ps) => new Adam(ps, { lr: 0.1, weightDecay: 0.1, eps: 1e-3 }), one(refAdam({ lr: 0.1, weightDecay: 0.1, eps: 1e-3 })));
    matchReference((ps) => new Adam(ps, { lr: 0.1, maximize: true }), one(refAdam({ lr: 0.1, maximize: true })));
  });

  it('Adam amsgrad (with a second moment that falls, so the max matters)', () => {
    const o = { lr: 0.5, betas: [0.9, 0.5] as [number, number], amsgrad: true };
    const [withMax] = matchReference((ps) => new Adam(ps, o), one(refAdam(o)), { steps: 4 });
    const [without] = matchReference((ps) => new Adam(ps, { ...o, amsgrad: false }), one(refAdam({ ...o, amsgrad: false })), { steps: 4 });
    expect(Math.max(...withMax.map((v, i) => Math.abs(v - without[i])))).toBeGreaterThan(1e-3);
  });

  it('AdamW: decoupled weight decay, default 1e-2, and amsgrad', () => {
    const opt = new AdamW([tg.zeros([1], { requiresGrad: true })]);
    expect(opt.defaults.weightDecay).toBe(1e-2);
    matchReference((ps) => new AdamW(ps, { lr: 0.1 }), one(refAdam({ lr: 0.1, weightDecay: 1e-2, decoupled: true })));
    const o = { lr: 0.3, weightDecay: 0.2, betas: [0.8, 0.6] as [number, number], amsgrad: true };
    matchReference((ps) => new AdamW(ps, o), one(refAdam({ ...o, decoupled: true })), { steps: 4 });
  });

  it('parameter groups keep their own options; the rest come from the defaults', () => {
    const opt = matchReference(
      (ps) => new SGD([{ params: [ps[0]], lr: 0.2, nesterov: true }, { params: [ps[1]] }], { lr: 0.05, momentum: 0.9 }),
      [
        { prob: P1, ref: refSGD({ lr: 0.2, momentum: 0.9, nesterov: true }) },
        { prob: P2, ref: refSGD({ lr: 0.05, momentum: 0.9 }) },
      ],
    );
    expect(opt).toHaveLength(2);
    matchReference(
      (ps) => new Adam([{ params: [ps[0]], betas: [0.5, 0.9] }, { params: [ps[1]], lr: 0.01, amsgrad: true }], { lr: 0.1 }),
      [
        { prob: P1, ref: refAdam({ lr: 0.1, betas: [0.5, 0.9] }) },
        { prob: P2, ref: refAdam({ lr: 0.01, amsgrad: true }) },
      ],
    );
  });

  it('addParamGroup adds a group with the defaults under its own options', () => {
    const a = tg.tensor(P1.p0, { dtype: 'float64', requiresGrad: true });
    const b = tg.tensor(P2.p0, { dtype: 'float64', requiresGrad: true });
    const opt = new RMSprop([a], { lr: 0.01 });
    opt.addParamGroup({ params: [b], momentum: 0.5 });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.01, momentum: 0.5, alpha: 0.99, centered: false });
    expect(() => opt.addParamGroup({ params: [a] })).toThrow('RMSprop: some parameters appear in more than one parameter group');
  });

  it('float32 parameters compute in float and follow the rule closely', () => {
    const o = { lr: 0.1, weightDecay: 0.01, amsgrad: true };
    matchReference((ps) => new Adam(ps, o), one(refAdam(o)), { dtype: 'float32', atol: 1e-6, rtol: 1e-5 });
    matchReference((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), one(refSGD({ lr: 0.1, momentum: 0.9 })), {
      dtype: 'float32', atol: 1e-6, rtol: 1e-5,
    });
  });

  it('float16 and bfloat16 parameters update in float and store rounded', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      matchReference((ps) => new SGD(ps, { lr: 0.1 }), one(refSGD({ lr: 0.1 })), { dtype, steps: 1, atol: 2e-2, rtol: 1e-2 });
    }
  });
});

describe('optimizer state', () => {
  it('is created on the first step, only for parameters with a gradient, and zeroGrad clears grads', () => {
    const a = tg.tensor([1, 2], { requiresGrad: true });
    const b = tg.tensor([3], { requiresGrad: true });
    const opt = new Adam([a, b], { amsgrad: true });
    expect(opt.stateDict().state).toEqual({});
    a.square().sum().backward();
    opt.step();
    expect(opt.getState(b)).toBeUndefined();
    expect(opt.getState(a)!.step).toBe(1);
    expect(Object.keys(opt.getState(a)!.tensors)).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq']);
    expect(Array.from(b.data())).toEqual([3]);
    opt.zeroGrad({ setToNone: false });
    expect(Array.from(a.grad!.data())).toEqual([0, 0]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    opt.step(); // no gradients: nothing changes
    expect(opt.getState(a)!.step).toBe(1);
  });

  it('a momentum buffer made later starts from the gradient (SGD momentum switched on mid-run)', () => {
    const p = tg.tensor(P1.p0, { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1 });
    const ref = Float64Array.from(P1.p0);
    const refStep = (o: Parameters<typeof refSGD>[0], s: Record<string, Vec>, t: number) =>
      refSGD(o).step(ref, ref.map((v, i) => P1.c[i] * v + P1.b[i]), s, t);
    const stepOnce = () => {
      opt.zeroGrad();
      lossOf([p], [P1]).backward();
      opt.step();
    };
    stepOnce();
    refStep({ lr: 0.1 }, {}, 1);
    opt.paramGroups[0].momentum = 0.9;
    opt.paramGroups[0].dampening = 0.3;
    const s: Record<string, Vec> = {};
    for (let t = 1; t <= 2; t++) {
      stepOnce();
      refStep({ lr: 0.1, momentum: 0.9, dampening: 0.3 }, s, t);
    }
    expectClose(p.data(), ref, { atol: 1e-12, rtol: 1e-10 });
  });

  function resumes(make: (ps: tg.Tensor[], lr: number) => AnyOptimizer, probs: Problem[]): void {
    const run = (ps: tg.Tensor[], opt: AnyOptimizer, n: number) => {
      for (let i = 0; i < n; i++) {
        opt.zeroGrad();
        lossOf(ps, probs).backward();
        opt.step();
      }
    };
    const ps = probs.map((pr) => tg.tensor(pr.p0, { dtype: 'float64', requiresGrad: true }));
    const opt = make(ps, 0.05);
    run(ps, opt, 3);
    const saved = opt.stateDict();
    const values = ps.map((p) => Float64Array.from(p.data()));
    run(ps, opt, 2); // the dict holds copies: later steps do not change it
    const qs = values.map((v) => tg.tensor(v, { dtype: 'float64', requiresGrad: true }));
    const resumed = make(qs, 0.5); // other options: the dict's win
    resumed.loadStateDict(saved);
    expect(resumed.paramGroups.map((g) => g.lr)).toEqual(opt.paramGroups.map((g) => g.lr));
    run(qs, resumed, 2);
    qs.forEach((q, k) => expect(Array.from(q.data())).toEqual(Array.from(ps[k].data())));
  }

  it('stateDict / loadStateDict resume bit for bit (state tensors, step counts, group options)', () => {
    resumes((ps, lr) => new Adam([{ params: [ps[0]], amsgrad: true }, { params: [ps[1]], lr: lr * 2 }], { lr }), [P1, P2]);
    resumes((ps, lr) => new SGD([{ params: [ps[0]] }, { params: [ps[1]], nesterov: true }], { lr, momentum: 0.9 }), [P1, P2]);
    resumes((ps, lr) => new RMSprop(ps, { lr, centered: true, momentum: 0.5 }), [P1, P2]);
    resumes((ps, lr) => new Adagrad(ps, { lr, lrDecay: 0.1 }), [P1, P2]);
    resumes((ps, lr) => new AdamW(ps, { lr }), [P1]);
  });

  it('stateDict has step counts, state by parameter position and every group option', () => {
    const a = tg.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const b = tg.tensor([3], { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { momentum: 0.9 });
    b.square().sum().backward();
    opt.step();
    opt.step();
    const d = opt.stateDict();
    expect(Object.keys(d.state)).toEqual(['1']);
    expect(d.state[1].step).toBe(2);
    expect(Object.keys(d.state[1].tensors)).toEqual(['momentumBuffer']);
    expect(d.paramGroups).toEqual([
      { lr: 1e-3, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: [0] },
      { lr: 0.5, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: [1] },
    ]);
  });

  it('loadStateDict rejects a dict that does not fit, and changes nothing', () => {
    const a = tg.tensor([1, 2], { requiresGrad: true });
    const b = tg.tensor([3], { requiresGrad: true });
    const opt = new Adam([a, b]);
    a.square().sum().backward();
    opt.step();
    const d = opt.stateDict();
    const other = new Adam([{ params: [a] }, { params: [b] }]);
    expect(() => other.loadStateDict(d)).toThrow('Adam.loadStateDict: loaded state dict has 1 parameter groups but the optimizer has 2');
    const swapped = new Adam([b, a]);
    expect(() => swapped.loadStateDict(d)).toThrow(
      'Adam.loadStateDict: state expAvg of parameter 0 has shape [2] but the parameter has shape [1]',
    );
    expect(() => new Adam([a]).loadStateDict(d)).toThrow(
      "Adam.loadStateDict: loaded parameter group 0 has 2 parameters but the optimizer's group has 1",
    );
    const bad = { ...d, paramGroups: [{ ...d.paramGroups[0], betas: [1.5, 0.9] as [number, number] }] };
    expect(() => opt.loadStateDict(bad)).toThrow('Adam: Invalid beta parameter at index 0: 1.5');
    expect(opt.paramGroups[0].betas).toEqual([0.9, 0.999]);
    expect(() => swapped.loadStateDict(d)).toThrow(tg.optim.OptimizerStateError);
  });
});

describe('constructor checks (PyTorch messages)', () => {
  const p = () => tg.zeros([2], { requiresGrad: true });
  const cases: Array<[string, () => unknown, string]> = [
    ['Adam beta 0', () => new Adam([p()], { betas: [1.2, 0.999] }), 'Adam: Invalid beta parameter at index 0: 1.2'],
    ['Adam beta 1', () => new Adam([p()], { betas: [0.9, -0.1] }), 'Adam: Invalid beta parameter at index 1: -0.1'],
    ['Adam betas', () => new Adam([p()], { betas: [0.9] as unknown as [number, number] }), 'Adam: Expected a pair of numbers for betas but received [0.9]'],
    ['Adam lr', () => new Adam([p()], { lr: -1 }), 'Adam: Invalid learning rate: -1'],
    ['AdamW eps', () => new AdamW([p()], { eps: -1e-8 }), 'AdamW: Invalid epsilon value: -1e-8'],
    ['AdamW weightDecay', () => new AdamW([p()], { weightDecay: -0.5 }), 'AdamW: Invalid weight_decay value: -0.5'],
    ['SGD lr', () => new SGD([p()], { lr: -0.1 }), 'SGD: Invalid learning rate: -0.1'],
    ['SGD lr NaN', () => new SGD([p()], { lr: NaN }), 'SGD: Invalid learning rate: NaN'],
    ['SGD momentum', () => new SGD([p()], { momentum: -0.5 }), 'SGD: Invalid momentum value: -0.5'],
    ['SGD weightDecay', () => new SGD([p()], { weightDecay: -1 }), 'SGD: Invalid weight_decay value: -1'],
    ['SGD nesterov', () => new SGD([p()], { nesterov: true }), 'SGD: Nesterov momentum requires a momentum and zero dampening'],
    ['SGD nesterov dampening', () => new SGD([p()], { nesterov: true, momentum: 0.9, dampening: 0.1 }), 'SGD: Nesterov momentum requires a momentum and zero dampening'],
    ['RMSprop alpha', () => new RMSprop([p()], { alpha: -0.9 }), 'RMSprop: Invalid alpha value: -0.9'],
    ['RMSprop eps', () => new RMSprop([p()], { eps: -1 }), 'RMSprop: Invalid epsilon value: -1'],
    ['RMSprop momentum', () => new RMSprop([p()], { momentum: -1 }), 'RMSprop: Invalid momentum value: -1'],
    ['Adagrad lrDecay', () => new Adagrad([p()], { lrDecay: -1 }), 'Adagrad: Invalid lr_decay value: -1'],
    ['Adagrad initialAccumulatorValue', () => new Adagrad([p()], { initialAccumulatorValue: -0.1 }), 'Adagrad: Invalid initial_accumulator_value value: -0.1'],
    ['group option', () => new SGD([{ params: [p()] }, { params: [p()], lr: -0.5 }], { lr: 0.1 }), 'SGD: Invalid learning rate: -0.5'],
    ['option type', () => new SGD([p()], { lr: '0.1' as unknown as number }), "SGD: Expected a number for lr but received '0.1'"],
    ['group option type', () => new SGD([{ params: [p()], nesterov: 1 as unknown as boolean }]), 'SGD: Expected a boolean for paramGroups[0].nesterov but received 1'],
    [
      'unknown option',
      () => new SGD([p()], { weight_decay: 0.1 } as unknown as { lr: number }),
      "SGD: Expected one of lr, momentum, dampening, weightDecay, nesterov, maximize for an option name but received 'weight_decay'",
    ],
    ['empty params', () => new SGD([]), 'SGD: optimizer got an empty parameter list'],
    ['not iterable', () => new SGD(p() as unknown as tg.Tensor[]), 'SGD: Expected an iterable of Tensors or parameter groups for params but received a float32 tensor of shape [2]'],
    ['shared parameter', () => { const q = p(); return new SGD([{ params: [q] }, { params: [q] }]); }, 'SGD: some parameters appear in more than one parameter group'],
    ['twice in a group', () => { const q = p(); return new SGD([q, q]); }, 'SGD: paramGroups[0].params[1] appears twice in its parameter group'],
    ['non-leaf', () => new SGD([p().mul(2)]), "SGD: can't optimize a non-leaf Tensor (paramGroups[0].params[0])"],
    ['integer parameter', () => new SGD([tg.tensor([1, 2], { dtype: 'int32' })]), 'SGD: Expected a floating-point tensor for paramGroups[0].params[0] but received a int32 tensor of shape [2]'],
    ['LBFGS groups', () => new LBFGS([{ params: [p()] }, { params: [p()] }]), "LBFGS: LBFGS doesn't support per-parameter options (parameter groups)"],
    ['LBFGS line search', () => new LBFGS([p()], { lineSearchFn: 'armijo' as 'strongWolfe' }), "LBFGS: Expected null or 'strongWolfe' for lineSearchFn but received 'armijo'"],
    ['LBFGS maxIter', () => new LBFGS([p()], { maxIter: 0 }), 'LBFGS: Expected a positive integer for maxIter but received 0'],
  ];
  it.each(cases)('%s', (_, make, message) => {
    expect(make).toThrow(message);
    try {
      make();
    } catch (e) {
      expect((e as Error).message).toBe(message);
    }
  });

  it('step checks gradients and its arguments', () => {
    const q = tg.zeros([2], { requiresGrad: true });
    const opt = new SGD([q]);
    q.grad = tg.zeros([3]);
    expect(() => opt.step()).toThrow('SGD: the gradient of paramGroups[0].params[0] has shape [3] but the parameter [2]');
    q.grad = tg.zeros([2]);
    expect(() => opt.step(5 as unknown as () => tg.Tensor)).toThrow('SGD: Expected a function for closure but received 5');
    expect(() => opt.step(undefined, { invScale: Infinity })).toThrow('SGD.step: Expected a finite number for invScale but received Infinity');
    expect(() => opt.step(undefined, { foundInf: tg.zeros([2]) })).toThrow(
      'SGD.step: Expected a float32 tensor of one element for foundInf but received a float32 tensor of shape [2]',
    );
    expect(() => new LBFGS([q]).step()).toThrow('LBFGS: Expected a function for closure but received undefined');
  });
});

describe('mixed-precision hooks: inverse scale and found-inf flag', () => {
  it('invScale multiplies the gradient inside the update', () => {
    const a = tg.tensor(P1.p0, { dtype: 'float64', requiresGrad: true });
    const b = tg.tensor(P1.p0, { dtype: 'float64', requiresGrad: true });
    const oa = new Adam([a], { lr: 0.1 });
    const ob = new Adam([b], { lr: 0.1 });
    for (let i = 0; i < 3; i++) {
      a.grad = tg.tensor(P1.c.map((c) => c * 1024), { dtype: 'float64' });
      b.grad = tg.tensor(P1.c, { dtype: 'float64' });
      oa.step(undefined, { invScale: 1 / 1024 });
      ob.step();
    }
    expect(Array.from(a.data())).toEqual(Array.from(b.data()));
  });

  it('a set foundInf flag skips the whole step: parameters, state and step counts stay', () => {
    const a = tg.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([a], { lr: 0.1, momentum: 0.9 });
    a.grad = tg.tensor([1, 1], { dtype: 'float64' });
    expect(opt.step(undefined, { foundInf: tg.tensor([1]) })).toBeUndefined();
    expect(Array.from(a.data())).toEqual([1, 2]);
    expect(opt.getState(a)).toBeUndefined();
    opt.step(undefined, { foundInf: tg.tensor([0]) });
    expectClose(a.data(), [0.9, 1.9], { atol: 1e-15 });
    expect(opt.getState(a)!.step).toBe(1);
    opt.step(undefined, { foundInf: tg.tensor([Infinity]) });
    expectClose(a.data(), [0.9, 1.9], { atol: 1e-15 });
    expect(opt.getState(a)!.step).toBe(1);
    expect(opt.supportsAmpScaling).toBe(true);
  });
});

/** expectClose for long arrays: one assertion that names the worst element. */
function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < expected.length; i++) {
    const over = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(over <= excess)) [worst, excess] = [i, Number.isNaN(over) ? Infinity : over];
  }
  expect(worst, worst < 0 ? '' : `element ${worst}: got ${actual[worst]}, expected ${expected[worst]}`).toBe(-1);
}

describe('fused update equals the op-based formula on large tensors (many threads)', () => {
  const sizes = [1037, 100003, 1];
  const values = (seed: number) => sizes.map((n, k) => tg.tensor(randomValues(n, seed + 31 * k), { dtype: 'float32' }));

  function compare(make: (ps: tg.Tensor[]) => AnyOptimizer, formula: (p: tg.Tensor, g: tg.Tensor, s: Record<string, tg.Tensor>, t: number) => tg.Tensor) {
    const threads = tg.getNumThreads();
    tg.setNumThreads(4);
    try {
      const ps = values(1).map((v) => v.clone().requiresGrad_());
      let refs = values(1);
      const states = sizes.map(() => ({}) as Record<string, tg.Tensor>);
      const opt = make(ps);
      for (let t = 1; t <= 3; t++) {
        const grads = values(100 * t);
        ps.forEach((p, k) => (p.grad = grads[k]));
        opt.step();
        refs = refs.map((r, k) => tg.noGrad(() => formula(r, grads[k], states[k], t)));
        ps.forEach((p, k) => expectAllClose(p.data(), refs[k].data(), 2e-6, 2e-5));
      }
    } finally {
      tg.setNumThreads(threads);
    }
  }

  it('AdamW with amsgrad', () => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.99, 1e-8, 0.1];
    compare(
      (ps) => new AdamW(ps, { lr, betas: [b1, b2], eps, weightDecay: wd, amsgrad: true }),
      (p, g, s, t) => {
        s.m = (s.m ?? tg.zerosLike(p)).mul(b1).add(g.mul(1 - b1));
        s.v = (s.v ?? tg.zerosLike(p)).mul(b2).add(g.square().mul(1 - b2));
        s.vmax = tg.maximum(s.vmax ?? tg.zerosLike(p), s.v);
        const denom = s.vmax.sqrt().div(Math.sqrt(1 - b2 ** t)).add(eps);
        return p.mul(1 - lr * wd).sub(s.m.div(denom).mul(lr / (1 - b1 ** t)));
      },
    );
  });

  it('RMSprop centered with momentum and weight decay', () => {
    const [lr, alpha, eps, mom, wd] = [0.01, 0.9, 1e-6, 0.8, 0.05];
    compare(
      (ps) => new RMSprop(ps, { lr, alpha, eps, momentum: mom, centered: true, weightDecay: wd }),
      (p, g, s) => {
        const d = g.add(p.mul(wd));
        s.sq = (s.sq ?? tg.zerosLike(p)).mul(alpha).add(d.square().mul(1 - alpha));
        s.ga = (s.ga ?? tg.zerosLike(p)).mul(alpha).add(d.mul(1 - alpha));
        const avg = s.sq.sub(s.ga.square()).sqrt().add(eps);
        s.buf = (s.buf ?? tg.zerosLike(p)).mul(mom).add(d.div(avg));
        return p.sub(s.buf.mul(lr));
      },
    );
  });
});

describe('native backstop (optimStep)', () => {
  const h = () => {
    const v = new Array<number>(Object.keys(native.optimHyper).length).fill(0);
    v[native.optimHyper.lr] = 0.1;
    v[native.optimHyper.invScale] = 1;
    return v;
  };
  const f64 = (n: number) => tg.zeros([n], { dtype: 'float64' });

  it('rejects mismatched sizes, dtypes and state slots with an error, not a crash', () => {
    const p = f64(5);
    const sgd = native.optimKinds.sgd;
    const adam = native.optimKinds.adam;
    const call = (kind: number, grad: tg.Tensor, s0: tg.Tensor | null, numel = 5, hyper = h()) =>
      () => native.optimStep(kind, hyper, [p._s], [grad._s], [s0 && s0._s], [null], [null], [numel], [1], null);
    expect(call(sgd, f64(3), null)).toThrow('optimStep: argument 3[0] is too small: the update reads 5 elements but it holds 3');
    expect(call(sgd, f64(5), null, 6)).toThrow('optimStep: argument 2[0] is too small: the update reads 6 elements but it holds 5');
    expect(call(sgd, tg.zeros([5]), null)).toThrow(TypeError);
    expect(call(sgd, tg.zeros([5]), null)).toThrow(
      'optimStep: argument 3[0] has dtype float32 beside float64 parameters; only float32 master weights take float16 or bfloat16 gradients',
    );
    expect(call(adam, f64(5), null)).toThrow('optimStep: argument 4[0] must be a Storage: this update keeps state in it');
    expect(call(sgd, f64(5), f64(5))).toThrow('optimStep: argument 4[0] must be null: this update keeps no state there');
    expect(call(sgd, f64(5), null, 5, [0.1])).toThrow(`optimStep: argument 1 has 1 entries, expected ${h().length}`);
    expect(call(99, f64(5), null)).toThrow('optimStep: unknown optimizer kind');
    expect(() => native.optimStep(sgd, h(), [p._s], [], [null], [null], [null], [5], [1], null)).toThrow(
      'optimStep: argument 3 has 0 entries, expected 1',
    );
    expect(() => native.optimStep(sgd, h(), [p._s], [f64(5)._s], [null], [null], [null], [5], [0], null)).toThrow(
      'optimStep: argument 8[0] must be an integer >= 1',
    );
    const ints = tg.zeros([5], { dtype: 'int32' });
    expect(() => native.optimStep(sgd, h(), [ints._s], [ints._s], [null], [null], [null], [5], [1], null)).toThrow(
      'optimStep: argument 2[0] must be float32 or float64 (half parameters train through float32 master weights), got int32',
    );
    // master weights: float32 params, half grads and the half copies, all or none
    const m = tg.zeros([5]);
    const hg = tg.zeros([5], { dtype: 'float16' });
    const master = (grad: tg.Tensor, copies: tg.Tensor[] | null) => () =>
      native.optimStep(sgd, h(), [m._s], [grad._s], [null], [null], [null], [5], [1], null, copies && copies.map((c) => c._s));
    expect(master(hg, null)).toThrow('optimStep: argument 10 must list the half parameters the float32 masters update');
    expect(master(tg.zeros([5]), [tg.zeros([5])])).toThrow('optimStep: argument 10 must be null: the parameters are their own masters');
    expect(master(hg, [tg.zeros([5], { dtype: 'bfloat16' })])).toThrow('optimStep: argument 10[0] has dtype bfloat16, expected float16');
    expect(master(hg, [hg])).toThrow('optimStep: argument 10[0] aliases the gradient');
    expect(master(hg, [tg.zeros([3], { dtype: 'float16' })])).toThrow('optimStep: argument 10[0] is too small');
    expect(() => native.optimStep(sgd, h(), [p._s], [f64(5)._s], [null], [null], [null], [5], [1], f64(1)._s)).toThrow(
      'optimStep: argument 9 must be a float32 storage on the parameters\' device',
    );
    // still alive, and a good call works
    const g = tg.ones([5], { dtype: 'float64' });
    expect(native.optimStep(sgd, h(), [p._s], [g._s], [null], [null], [null], [5], [1], null)).toBe(true);
    expectClose(p.data(), [-0.1, -0.1, -0.1, -0.1, -0.1], { atol: 1e-15 });
  });
});

// ---- L-BFGS ----

function rosenbrockClosure(x: tg.Tensor, opt: AnyOptimizer): () => tg.Tensor {
  return () => {
    opt.zeroGrad();
    const a = x.slice(0, 0, 1);
    const b = x.slice(0, 1, 2);
    const f = tg.sub(1, a).square().add(b.sub(a.square()).square().mul(100)).sum();
    f.backward();
    return f;
  };
}
const rosenGrad = ([x, y]: number[]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)];

describe('LBFGS', () => {
  it('minimizes the 2-D Rosenbrock function to within 1e-5 of (1, 1) with the strong Wolfe line search', () => {
    const x = tg.tensor([-1.5, 2], { dtype: 'float64', requiresGrad: true });
    const opt = new LBFGS([x], { lineSearchFn: 'strongWolfe', maxIter: 100, toleranceGrad: 1e-10, toleranceChange: 1e-14 });
    const closure = rosenbrockClosure(x, opt);
    const first = opt.step(closure);
    expect(first).toBeCloseTo(6.25 + 100 * 0.0625, 10);
    for (let i = 0; i < 4; i++) opt.step(closure);
    const [a, b] = Array.from(x.data());
    expect(Math.abs(a - 1)).toBeLessThan(1e-5);
    expect(Math.abs(b - 1)).toBeLessThan(1e-5);
  });

  it('without line search, takes the steepest-descent step then the BFGS direction', () => {
    const lr = 0.5;
    const x = tg.tensor([-1.2, 1], { dtype: 'float64', requiresGrad: true });
    const opt = new LBFGS([x], { lr, maxIter: 2, maxEval: 10 }); // the default maxEval, floor(2 * 5 / 4), stops after one
    opt.step(rosenbrockClosure(x, opt));
    // iteration 1: x1 = x0 - t g0 with t = min(1, 1 / |g0|_1) lr
    const x0 = [-1.2, 1];
    const g0 = rosenGrad(x0);
    const t = Math.min(1, 1 / (Math.abs(g0[0]) + Math.abs(g0[1]))) * lr;
    const x1 = x0.map((v, i) => v - t * g0[i]);
    // iteration 2: d = -H g1, H the BFGS update of gamma I with s = x1 - x0, y = g1 - g0
    const g1 = rosenGrad(x1);
    const s = x1.map((v, i) => v - x0[i]);
    const y = g1.map((v, i) => v - g0[i]);
    const ys = s[0] * y[0] + s[1] * y[1];
    const gamma = ys / (y[0] * y[0] + y[1] * y[1]);
    const rho = 1 / ys;
    const I = [[1, 0], [0, 1]];
    const V = I.map((row, i) => row.map((v, j) => v - rho * y[i] * s[j])); // I - rho y s^T
    const H = I.map((_, i) =>
      I.map((__, j) => gamma * (V[0][i] * V[0][j] + V[1][i] * V[1][j]) + rho * s[i] * s[j]),
    ); // V^T (gamma I) V + rho s s^T
    const d = [-(H[0][0] * g1[0] + H[0][1] * g1[1]), -(H[1][0] * g1[0] + H[1][1] * g1[1])];
    expectClose(x.data(), x1.map((v, i) => v + lr * d[i]), { atol: 1e-12, rtol: 1e-10 });
  });

  it('stateDict round trip resumes bit for bit', () => {
    const x = tg.tensor([-1.2, 1], { dtype: 'float64', requiresGrad: true });
    const options = { lineSearchFn: 'strongWolfe', maxIter: 3, maxEval: 20, historySize: 2 } as const;
    const opt = new LBFGS([x], options);
    expect(opt.stateDict().state).toEqual({});
    opt.step(rosenbrockClosure(x, opt));
    opt.step(rosenbrockClosure(x, opt));
    const saved = opt.stateDict();
    expect(saved.state[0].nIter).toBe(6);
    expect(saved.state[0].oldDirs).toHaveLength(2);
    const y = tg.tensor(Float64Array.from(x.data()), { dtype: 'float64', requiresGrad: true });
    opt.step(rosenbrockClosure(x, opt));
    const resumed = new LBFGS([y], options);
    resumed.loadStateDict(saved);
    resumed.step(rosenbrockClosure(y, resumed));
    expect(Array.from(y.data())).toEqual(Array.from(x.data()));
  });
});

// ---- LR schedulers ----

function schedOptimizer(): tg.optim.SGD {
  const a = tg.zeros([1], { requiresGrad: true });
  const b = tg.zeros([1], { requiresGrad: true });
  return new SGD([{ params: [a] }, { params: [b], lr: 0.02 }], { lr: 0.1, momentum: 0.9 });
}

function followsClosedForm(
  make: (opt: tg.optim.SGD) => { step(): void; getLastLr(): number[] },
  closed: (base: number, epoch: number) => number,
  epochs: number,
): void {
  const opt = schedOptimizer();
  const s = make(opt);
  for (let e = 0; e <= epochs; e++) {
    if (e > 0) s.step();
    const expected = [0.1, 0.02].map((b) => closed(b, e));
    expectClose(s.getLastLr(), expected, { atol: 1e-15, rtol: 1e-12 });
    expectClose(opt.paramGroups.map((g) => g.lr), expected, { atol: 1e-15, rtol: 1e-12 });
  }
}

describe('LR schedulers follow PyTorch closed forms', () => {
  const { StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, ReduceLROnPlateau } = tg.optim;

  it('StepLR', () => followsClosedForm((o) => new StepLR(o, 3, { gamma: 0.5 }), (b, e) => b * 0.5 ** Math.floor(e / 3), 12));
  it('ExponentialLR', () => followsClosedForm((o) => new ExponentialLR(o, 0.9), (b, e) => b * 0.9 ** e, 12));
  it('CosineAnnealingLR, past tMax too', () => {
    const etaMin = 0.001;
    followsClosedForm(
      (o) => new CosineAnnealingLR(o, 10, { etaMin }),
      (b, e) => etaMin + ((b - etaMin) * (1 + Math.cos((Math.PI * e) / 10))) / 2,
      30,
    );
  });
  it('LinearLR warmup', () => {
    followsClosedForm(
      (o) => new LinearLR(o, { startFactor: 0.25, totalIters: 4 }),
      (b, e) => b * (0.25 + (0.75 * Math.min(e, 4)) / 4),
      8,
    );
  });

  it('OneCycleLR: lr and momentum over two phases, and no step past totalSteps', () => {
    const opt = schedOptimizer();
    const s = new OneCycleLR(opt, [1, 0.5], { totalSteps: 10 });
    const cos = (a: number, b: number, pct: number) => b + ((a - b) / 2) * (1 + Math.cos(Math.PI * pct));
    for (let step = 0; step <= 10; step++) {
      if (step > 0) s.step();
      const up = step <= 2; // phase 1 ends at 0.3 * 10 - 1
      const pct = up ? step / 2 : (step - 2) / 7;
      const lrs = [1, 0.5].map((m) => (up ? cos(m / 25, m, pct) : cos(m, m / 25 / 1e4, pct)));
      expectClose(s.getLastLr(), lrs, { atol: 1e-15, rtol: 1e-12 });
      const mom = up ? cos(0.95, 0.85, pct) : cos(0.85, 0.95, pct);
      expectClose(opt.paramGroups.map((g) => g.momentum), [mom, mom], { atol: 1e-15, rtol: 1e-12 });
    }
    expect(() => s.step()).toThrow('OneCycleLR: Tried to step 11 times. The specified number of total steps is 10');
    // Adam: beta1 cycles
    const adam = new Adam([tg.zeros([1], { requiresGrad: true })]);
    const s2 = new OneCycleLR(adam, 0.01, { epochs: 2, stepsPerEpoch: 5, annealStrategy: 'linear', threePhase: true });
    expect(adam.paramGroups[0].betas).toEqual([0.95, 0.999]);
    s2.step();
    expect(adam.paramGroups[0].lr).toBeCloseTo(0.01 / 25 + (0.01 - 0.01 / 25) / 2, 15);
    expect(adam.paramGroups[0].betas[0]).toBeCloseTo(0.9, 15);
  });

  it('ReduceLROnPlateau: patience, cooldown, minLr and eps', () => {
    const opt = schedOptimizer();
    const s = new ReduceLROnPlateau(opt, { patience: 1, factor: 0.5, cooldown: 1, minLr: 0.02, threshold: 0, thresholdMode: 'abs' });
    const metrics = [1, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.9, 0.99, 1, 1, 1, 1, 1];
    const expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02];
    metrics.forEach((m, i) => {
      s.step(i % 2 ? tg.tensor(m) : m);
      expect(s.getLastLr()[0]).toBeCloseTo(expected[i], 7);
    });
    expect(s.getLastLr()[1]).toBe(0.02); // at minLr from the start: never reduced
  });

  it('stateDict / loadStateDict resume a schedule', () => {
    const opt = schedOptimizer();
    const s = new CosineAnnealingLR(opt, 7);
    for (let i = 0; i < 4; i++) s.step();
    const saved = { opt: opt.stateDict(), sched: s.stateDict() };
    expect(saved.sched).toMatchObject({ lastEpoch: 4, tMax: 7, etaMin: 0, baseLrs: [0.1, 0.02] });
    const opt2 = schedOptimizer();
    const s2 = new CosineAnnealingLR(opt2, 7);
    opt2.loadStateDict(saved.opt);
    s2.loadStateDict(saved.sched);
    expect(s2.getLastLr()).toEqual(s.getLastLr());
    for (let i = 0; i < 5; i++) {
      s.step();
      s2.step();
      expect(s2.getLastLr()).toEqual(s.getLastLr());
    }
    expect(() => s2.loadStateDict({ gamma: 1 })).toThrow(
      "CosineAnnealingLR.loadStateDict: the state dict has 'gamma', which CosineAnnealingLR does not keep",
    );
  });

  it('checks their arguments (PyTorch messages)', () => {
    const opt = schedOptimizer();
    expect(() => new LinearLR(opt, { startFactor: 0 })).toThrow(
      'LinearLR: Starting multiplicative factor expected to be greater than 0 and less or equal to 1.',
    );
    expect(() => new LinearLR(opt, { endFactor: 1.5 })).toThrow('LinearLR: Ending multiplicative factor expected to be between 0 and 1.');
    expect(() => new ReduceLROnPlateau(opt, { factor: 1 })).toThrow('ReduceLROnPlateau: Factor should be < 1.0.');
    expect(() => new ReduceLROnPlateau(opt, { minLr: [0.1] })).toThrow('ReduceLROnPlateau: expected 2 values for minLr, got 1');
    expect(() => new OneCycleLR(opt, 1)).toThrow('OneCycleLR: You must define either total_steps OR (epochs AND steps_per_epoch)');
    expect(() => new OneCycleLR(opt, 1, { totalSteps: 10, pctStart: 2 })).toThrow(
      'OneCycleLR: Expected float between 0 and 1 pct_start, but got 2',
    );
    expect(() => new OneCycleLR(new Adagrad([tg.zeros([1], { requiresGrad: true })]), 1, { totalSteps: 5 })).toThrow(
      'OneCycleLR: optimizer must support momentum or beta1 with `cycle_momentum` option enabled',
    );
    expect(() => new StepLR(opt, 0)).toThrow('StepLR: Expected a positive integer for stepSize but received 0');
    expect(() => new StepLR({} as tg.optim.SGD, 2)).toThrow('StepLR: Expected an Optimizer for optimizer but received a Object');
  });
});

// ---- gradient clipping ----

describe('gradient clipping', () => {
  const { clipGradNorm_, clipGradValue_, NonFiniteNormError } = tg.optim;
  const withGrads = (...gs: number[][]) =>
    gs.map((g) => {
      const p = tg.zeros([g.length], { dtype: 'float64', requiresGrad: true });
      p.grad = tg.tensor(g, { dtype: 'float64' });
      return p;
    });

  it('clipGradNorm_ scales all gradients by maxNorm / (total + 1e-6) and returns the total norm', () => {
    const ps = withGrads([3, 4], [12]);
    expect(clipGradNorm_(ps, 6.5)).toBeCloseTo(13, 12);
    const k = 6.5 / (13 + 1e-6);
    expectClose(ps[0].grad!.data(), [3 * k, 4 * k], { atol: 1e-15 });
    expectClose(ps[1].grad!.data(), [12 * k], { atol: 1e-15 });
  });

  it('clipGradNorm_ with other norms, no clipping needed, no gradients, and non-finite norms', () => {
    expect(clipGradNorm_(withGrads([3, -4], [12]), 100, { normType: 1 })).toBeCloseTo(19, 12);
    const inf = withGrads([3, -4], [-12]);
    expect(clipGradNorm_(inf, 6, { normType: Infinity })).toBe(12);
    expectClose(inf[1].grad!.data(), [(-12 * 6) / (12 + 1e-6)], { atol: 1e-15 });
    const small = withGrads([0.3, 0.4]);
    const g = small[0].grad;
    expect(clipGradNorm_(small, 1)).toBeCloseTo(0.5, 12);
    expect(small[0].grad).toBe(g);
    expect(clipGradNorm_([tg.zeros([2], { requiresGrad: true })], 1)).toBe(0);
    const bad = withGrads([Infinity, 1]);
    expect(() => clipGradNorm_(bad, 1, { errorIfNonfinite: true })).toThrow(NonFiniteNormError);
    expect(() => clipGradNorm_(bad, 1, { errorIfNonfinite: true })).toThrow(
      'clipGradNorm_: the total norm of order 2 for gradients from parameters is non-finite, so it cannot be clipped.',
    );
    expect(() => clipGradNorm_(bad, 1, { normType: 0 })).toThrow('clipGradNorm_: Expected a positive number or Infinity for normType but received 0');
  });

  it('clipGradValue_ clamps every element', () => {
    const ps = withGrads([3, -4, 0.5], [-0.2]);
    clipGradValue_(ps, 1);
    expect(Array.from(ps[0].grad!.data())).toEqual([1, -1, 0.5]);
    expect(Array.from(ps[1].grad!.data())).toEqual([-0.2]);
    const single = withGrads([5])[0];
    clipGradValue_(single, 2);
    expect(Array.from(single.grad!.data())).toEqual([2]);
    expect(() => clipGradValue_(5 as unknown as tg.Tensor, 1)).toThrow('clipGradValue_: Expected a Tensor or an iterable of Tensors for parameters but received 5');
  });
});

import { describe, expect, test } from 'vitest';
import * as tg from '../lib/index';
import { expectClose, randomTensor } from './helpers';

describe('backward', () => {
  test('a scalar output fills .grad of every leaf that requires grad', () => {
    const { t: x, v: xv } = randomTensor([3, 4], { seed: 1, requiresGrad: true });
    const { t: w } = randomTensor([4, 2], { seed: 2 });
    const y = x.matmul(w).square().sum();
    y.backward();
    expect(w.grad).toBeNull();
    expect(x.grad!.shape).toEqual([3, 4]);
    // d/dx sum((xw)^2) = 2 (xw) w^T
    const xw = x.detach().matmul(w);
    expectClose(x.grad!.data(), xw.mul(2).matmul(w.transpose(0, 1)).data(), { atol: 1e-12 });
    expect(xv.length).toBe(12);
  });

  test('gradients accumulate across backward calls', () => {
    const x = tg.tensor([1.5, -2, 0.5], { dtype: 'float64', requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(3).sum().backward();
    expectClose(x.grad!.data(), [2 * 1.5 + 3, 2 * -2 + 3, 2 * 0.5 + 3]);
  });

  test('a non-scalar output takes an explicit gradient of its shape', () => {
    const x = tg.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const g = tg.tensor([[0.5, -1], [2, 0.25]]);
    x.exp().backward(g);
    expectClose(x.grad!.data(), [0.5 * Math.exp(1), -Math.exp(2), 2 * Math.exp(3), 0.25 * Math.exp(4)], { rtol: 1e-6 });
  });

  test('a tensor used twice sums its gradient contributions', () => {
    const x = tg.tensor([0.3, -0.7], { dtype: 'float64', requiresGrad: true });
    const y = x.tanh();
    y.mul(y).add(y).sum().backward();
    const t = [Math.tanh(0.3), Math.tanh(-0.7)];
    expectClose(x.grad!.data(), t.map((v) => (2 * v + 1) * (1 - v * v)), { atol: 1e-12 });
  });

  test('requiresGrad, detach and noGrad cut the graph', () => {
    const x = tg.tensor([1, 2, 3], { requiresGrad: true });
    expect(x.isLeaf).toBe(true);
    const y = x.mul(2);
    expect(y.requiresGrad).toBe(true);
    expect(y.gradFn?.name).toBe('mul');
    expect(y.isLeaf).toBe(false);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(Array.from(d.data())).toEqual([2, 4, 6]);
    const z = tg.noGrad(() => x.mul(2));
    expect(z.requiresGrad).toBe(false);
    expect(tg.isGradEnabled()).toBe(true);
    const inner = tg.noGrad(() => tg.enableGrad(() => x.mul(2)));
    expect(inner.requiresGrad).toBe(true);
    const c = tg.tensor([1, 2, 3]);
    expect(c.add(1).requiresGrad).toBe(false);
  });

  test('a second backward through a freed graph throws unless retainGraph was given', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(
      "backward: the graph through 'sum' was freed by an earlier backward; pass { retainGraph: true } to the first backward to run it twice",
    );
    const x2 = tg.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y2 = x2.exp().sum();
    y2.backward(undefined, { retainGraph: true });
    y2.backward();
    expectClose(x2.grad!.data(), [2 * Math.E, 2 * Math.exp(2)], { atol: 1e-12 });
  });

  test('backward releases the closures that hold saved tensors', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const y = x.exp();
    const s = y.sum();
    s.backward();
    expect(y._gradFn!.backward).toBeNull();
    expect(y._gradFn!.inputs).toEqual([]);
    expect(s._gradFn!.backward).toBeNull();
  });

  test('a dtype cast passes the gradient back in the input dtype', () => {
    const x = tg.tensor([0.5, 1.5], { dtype: 'float64', requiresGrad: true });
    x.to('float32').mul(tg.tensor([2, 3])).sum().backward();
    expect(x.grad!.dtype).toBe('float64');
    expectClose(x.grad!.data(), [2, 3]);
  });
});

describe('grad and higher-order derivatives', () => {
  test('tg.grad returns gradients without touching .grad', () => {
    const x = tg.tensor([0.2, -1.3], { dtype: 'float64', requiresGrad: true });
    const [g] = tg.grad(x.sin().sum(), [x]);
    expectClose(g.data(), [Math.cos(0.2), Math.cos(-1.3)], { atol: 1e-12 });
    expect(x.grad).toBeNull();
  });

  test('tg.grad accepts a function of the inputs', () => {
    const w = tg.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
    const [g] = tg.grad((a) => a.square().sum(), [w]);
    expectClose(g.data(), [2, 4, 6, 8]);
  });

  test('d2/dx2 tanh(x) = -2 tanh(x) (1 - tanh(x)^2)', () => {
    const values = [-2.1, -0.4, 0, 0.3, 1.7];
    const x = tg.tensor(values, { dtype: 'float64', requiresGrad: true });
    const [g] = tg.grad(x.tanh().sum(), [x], { createGraph: true });
    expect(g.requiresGrad).toBe(true);
    expectClose(g.data(), values.map((v) => 1 - Math.tanh(v) ** 2), { atol: 1e-12 });
    const [h] = tg.grad(g.sum(), [x]);
    expectClose(h.data(), values.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)), { atol: 1e-12 });
    // and a third derivative: d3/dx3 tanh = -2 (1 - t^2)(1 - 3 t^2)
    const [g1] = tg.grad(x.tanh().sum(), [x], { createGraph: true });
    const [g2] = tg.grad(g1.sum(), [x], { createGraph: true });
    const [g3] = tg.grad(g2.sum(), [x]);
    expectClose(g3.data(), values.map((v) => { const t = Math.tanh(v); return -2 * (1 - t * t) * (1 - 3 * t * t); }), { atol: 1e-10 });
  });

  test('Hessian-vector product of an MLP output matches finite differences', () => {
    const { t: x } = randomTensor([5, 3], { seed: 11 });
    const { t: w1 } = randomTensor([3, 7], { seed: 12, requiresGrad: true });
    const { t: w2 } = randomTensor([7, 2], { seed: 13, requiresGrad: true });
    const { t: v } = randomTensor([3, 7], { seed: 14 });
    const f = (a: tg.Tensor, b: tg.Tensor) => x.matmul(a).tanh().matmul(b).sigmoid().sum();
    // Hv = d/dw1 <df/dw1, v>
    const [g] = tg.grad(f(w1, w2), [w1], { createGraph: true });
    const [hv] = tg.grad(g.mul(v).sum(), [w1]);
    const eps = 1e-5;
    const gradAt = (shift: number) => {
      const w = tg.noGrad(() => w1.add(v.mul(shift))).requiresGrad_();
      return tg.grad(f(w, w2), [w])[0];
    };
    const plus = gradAt(eps);
    const minus = gradAt(-eps);
    const fd = plus.sub(minus).div(2 * eps);
    expectClose(hv.data(), fd.data(), { atol: 1e-7, rtol: 1e-5 });
  });

  test('grad through an intermediate and unused inputs', () => {
    const x = tg.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const u = tg.tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(3);
    const z = y.square().sum();
    const [gy] = tg.grad(z, [y], { retainGraph: true });
    expectClose(gy.data(), [6, 12]);
    expect(() => tg.grad(z, [u])).toThrow('grad: inputs[0] was not used to compute the outputs (pass allowUnused: true)');
    const [gu] = tg.grad(x.sum(), [u], { allowUnused: true });
    expect(Array.from(gu.data())).toEqual([0, 0]);
  });
});

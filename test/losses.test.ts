import { describe, expect, test } from 'vitest';
import * as tg from '../lib/index';
import { expectClose, gradcheckShapes, randomTensor, randomValues } from './helpers';

const F = tg.nn.functional;
const reductions = ['mean', 'sum', 'none'] as const;
type R = (typeof reductions)[number];

function reduceRef(values: number[], reduction: R): number[] {
  if (reduction === 'none') return values;
  const s = values.reduce((a, b) => a + b, 0);
  return [reduction === 'sum' ? s : s / values.length];
}

function expectError(fn: () => unknown, cls: abstract new (...a: never[]) => Error, message: string): void {
  let error: unknown = null;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(cls);
  expect((error as Error).message).toBe(message);
}

const f64 = (values: ArrayLike<number>, shape: number[]): tg.Tensor => tg.tensor(Float64Array.from(values), { dtype: 'float64', shape });
const int32 = (values: number[], shape?: number[]): tg.Tensor => tg.tensor(Int32Array.from(values), { dtype: 'int32', shape });

describe('regression losses', () => {
  const shape = [3, 1, 5];
  const { t: x, v: xv } = randomTensor(shape, { seed: 1 });
  const { t: y, v: yv } = randomTensor(shape, { seed: 2 });
  const cases: Array<[string, (a: tg.Tensor, b: tg.Tensor, r: R) => tg.Tensor, (d: number) => number]> = [
    ['mseLoss', (a, b, r) => F.mseLoss(a, b, { reduction: r }), (d) => d * d],
    ['l1Loss', (a, b, r) => F.l1Loss(a, b, { reduction: r }), (d) => Math.abs(d)],
    ['smoothL1Loss', (a, b, r) => F.smoothL1Loss(a, b, { reduction: r, beta: 0.7 }), (d) => (Math.abs(d) < 0.7 ? (0.5 * d * d) / 0.7 : Math.abs(d) - 0.35)],
    ['smoothL1Loss beta 0', (a, b, r) => F.smoothL1Loss(a, b, { reduction: r, beta: 0 }), (d) => Math.abs(d)],
    ['huberLoss', (a, b, r) => F.huberLoss(a, b, { reduction: r, delta: 0.8 }), (d) => (Math.abs(d) < 0.8 ? 0.5 * d * d : 0.8 * (Math.abs(d) - 0.4))],
  ];
  for (const [name, fn, ref] of cases) {
    test(`${name}: values in every reduction, and gradients in every reduction`, () => {
      const diffs = Array.from(xv, (v, i) => v - yv[i]);
      for (const r of reductions) {
        const out = fn(x, y, r);
        expect(out.shape).toEqual(r === 'none' ? shape : []);
        expectClose(out.data(), reduceRef(diffs.map(ref), r), { atol: 1e-12 });
        gradcheckShapes((a, b) => fn(a, b, r), [[4, 1, 3], [4, 1, 3]], { seed: 5 });
      }
      gradcheckShapes((a, b) => fn(a, b, 'mean'), [[1], [1]], { seed: 9 });
    });
  }
});

describe('binary cross-entropy', () => {
  const logits = randomValues(12, 3, -3, 3);
  const targets = randomValues(12, 4, 0, 1);
  const p = logits.map((v) => 1 / (1 + Math.exp(-v)));
  const lt = f64(logits, [3, 4]);
  const tt = f64(targets, [3, 4]);
  const wv = [0.5, 2, 1.5, 0.25];
  const pwv = [2, 0.5, 1, 3];
  const w = f64(wv, [4]);
  const pw = f64(pwv, [4]);

  test('probabilities and logits forms match the formula, with weight and posWeight, in every reduction', () => {
    const ref = Array.from(p, (pi, i) => -(targets[i] * Math.log(pi) + (1 - targets[i]) * Math.log(1 - pi)));
    const refW = ref.map((l, i) => l * wv[i % 4]);
    const refPw = Array.from(p, (pi, i) => -(pwv[i % 4] * targets[i] * Math.log(pi) + (1 - targets[i]) * Math.log(1 - pi)) * wv[i % 4]);
    for (const r of reductions) {
      expectClose(F.binaryCrossEntropy(lt.sigmoid(), tt, { reduction: r }).data(), reduceRef(ref, r), { atol: 1e-10 });
      expectClose(F.binaryCrossEntropy(lt.sigmoid(), tt, { reduction: r, weight: w }).data(), reduceRef(refW, r), { atol: 1e-10 });
      expectClose(F.binaryCrossEntropyWithLogits(lt, tt, { reduction: r }).data(), reduceRef(ref, r), { atol: 1e-10 });
      expectClose(F.binaryCrossEntropyWithLogits(lt, tt, { reduction: r, weight: w, posWeight: pw }).data(), reduceRef(refPw, r), { atol: 1e-10 });
    }
  });

  test('huge logits stay finite; log(0) is clamped at -100 as in PyTorch', () => {
    const big = f64([1000, -1000, 40, -40], [1, 4]);
    expectClose(F.binaryCrossEntropyWithLogits(big, f64([0, 1, 1, 0], [1, 4]), { reduction: 'none' }).data(),
      [1000, 1000, Math.log1p(Math.exp(-40)), Math.log1p(Math.exp(-40))], { rtol: 1e-12 });
    expectClose(F.binaryCrossEntropy(f64([0, 1, 0, 1], [2, 2]), f64([1, 0, 0, 1], [2, 2]), { reduction: 'none' }).data(), [100, 100, 0, 0]);
  });

  test('gradients in every reduction, odd and size-1 dims', () => {
    for (const r of reductions) {
      gradcheckShapes((a, b) => F.binaryCrossEntropyWithLogits(a, b.sigmoid(), { posWeight: pw.narrow(0, 0, 3), weight: w.narrow(0, 1, 3), reduction: r }), [[2, 3], [2, 3]]);
      gradcheckShapes((a, b) => F.binaryCrossEntropy(a.sigmoid(), b.sigmoid(), { reduction: r, weight: f64([0.3, 1.7], [2, 1, 1]) }), [[2, 1, 3], [2, 1, 3]]);
    }
    gradcheckShapes((a, b) => F.binaryCrossEntropyWithLogits(a, b.sigmoid()), [[1], [1]]);
  });

  test('bad inputs are named', () => {
    expectError(() => F.binaryCrossEntropy(f64([-0.5, 0.5], [2]), f64([0, 1], [2])), RangeError,
      'binaryCrossEntropy: Expected probabilities in [0, 1] for input but received values from -0.5 to 0.5');
    expectError(() => F.binaryCrossEntropyWithLogits(lt, tt, { posWeight: f64([1, 2, 3], [3]) }), RangeError,
      'binaryCrossEntropyWithLogits: posWeight of shape [3] does not broadcast to the input shape [3,4]');
    expectError(() => F.binaryCrossEntropy(lt.sigmoid(), tt, { weight: f64(randomValues(24, 5), [2, 3, 4]) }), RangeError,
      'binaryCrossEntropy: weight of shape [2,3,4] does not broadcast to the input shape [3,4]');
  });
});

describe('soft Dice and IoU', () => {
  const shape = [2, 2, 3];
  const pv = randomValues(12, 8, 0, 1);
  const tv = randomValues(12, 9, 0, 1).map((v) => (v > 0.5 ? 1 : 0));
  const p = f64(pv, shape);
  const t = f64(tv, shape);

  /** Scores over groups of `size` consecutive elements. */
  function scores(size: number, smooth: number): { dice: number[]; iou: number[] } {
    const dice: number[] = [];
    const iou: number[] = [];
    for (let s = 0; s < pv.length / size; s++) {
      let inter = 0;
      let ps = 0;
      let ts = 0;
      for (let i = s * size; i < (s + 1) * size; i++) {
        inter += pv[i] * tv[i];
        ps += pv[i];
        ts += tv[i];
      }
      dice.push(1 - (2 * inter + smooth) / (ps + ts + smooth));
      iou.push(1 - (inter + smooth) / (ps + ts - inter + smooth));
    }
    return { dice, iou };
  }

  test('per-sample and per-class scores in every reduction', () => {
    const perSample = scores(6, 1);
    const perClass = scores(3, 0.5);
    for (const r of reductions) {
      expectClose(F.diceLoss(p, t, { reduction: r }).data(), reduceRef(perSample.dice, r), { atol: 1e-12 });
      expectClose(F.iouLoss(p, t, { reduction: r }).data(), reduceRef(perSample.iou, r), { atol: 1e-12 });
      expectClose(F.diceLoss(p, t, { reduction: r, dims: [2], smooth: 0.5 }).data(), reduceRef(perClass.dice, r), { atol: 1e-12 });
      expectClose(F.iouLoss(p, t, { reduction: r, dims: -1, smooth: 0.5 }).data(), reduceRef(perClass.iou, r), { atol: 1e-12 });
    }
    expect(F.diceLoss(p, t, { reduction: 'none', dims: [2] }).shape).toEqual([2, 2]);
  });

  test('empty masks: smooth gives 0, smooth 0 is kept finite by eps', () => {
    const z = tg.zeros([2, 3], { dtype: 'float64' });
    expectClose(F.diceLoss(z, z, { reduction: 'none' }).data(), [0, 0]);
    expectClose(F.iouLoss(z, z, { smooth: 0, reduction: 'none' }).data(), [1, 1]);
  });

  test('gradients in every reduction', () => {
    for (const r of reductions) {
      gradcheckShapes((a, b) => F.diceLoss(a.sigmoid(), b.sigmoid(), { reduction: r }), [[2, 5], [2, 5]]);
      gradcheckShapes((a, b) => F.iouLoss(a.sigmoid(), b.sigmoid(), { smooth: 0.5, reduction: r, dims: [2, 3] }), [[3, 2, 1, 3], [3, 2, 1, 3]]);
    }
  });

  test('bad inputs are named', () => {
    expectError(() => F.diceLoss(f64([0.5, 0.5], [2]), f64([1, 0], [2])), RangeError,
      'diceLoss: Expected a tensor with a batch dim and at least one more for input but received a float64 tensor of shape [2]');
    expectError(() => F.iouLoss(p, t, { eps: 0 }), RangeError, 'iouLoss: Expected a positive number for eps but received 0');
  });
});

/**
 * PyTorch's cross-entropy on class indices, written out for logits laid out
 * [N, C, S] (S = the product of the extra dims): weights, ignoreIndex, smoothing.
 */
function crossEntropyRef(
  logits: ArrayLike<number>, n: number, c: number, s: number, target: number[],
  { weight, ignoreIndex = -100, smoothing = 0, reduction = 'mean', logProbs = false }:
  { weight?: number[]; ignoreIndex?: number; smoothing?: number; reduction?: R; logProbs?: boolean },
): number[] {
  const w = weight ?? Array(c).fill(1);
  const losses: number[] = [];
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < s; j++) {
      const row = Array.from({ length: c }, (_, k) => logits[(i * c + k) * s + j]);
      const m = Math.max(...row);
      const lse = logProbs ? 0 : m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      const logp = row.map((v) => v - lse);
      const t = target[i * s + j];
      if (t === ignoreIndex) {
        losses.push(0);
        continue;
      }
      const nll = -w[t] * logp[t];
      const uniform = -logp.reduce((a, v, k) => a + w[k] * v, 0);
      losses.push((1 - smoothing) * nll + (smoothing / c) * uniform);
      wsum += w[t];
    }
  }
  if (reduction === 'none') return losses;
  const total = losses.reduce((a, b) => a + b, 0);
  return [reduction === 'sum' ? total : total / wsum];
}

describe('crossEntropy and nllLoss', () => {
  const n = 6;
  const c = 5;
  const logits = randomValues(n * c, 11, -3, 3);
  const target = [0, 4, 2, 2, 1, 3];
  const x = f64(logits, [n, c]);
  const y = int32(target);
  const weight = [0.5, 1, 2, 1.5, 0.25];
  const wt = f64(weight, [c]);

  test('class indices with weights, ignoreIndex and label smoothing, in every reduction', () => {
    for (const reduction of reductions) {
      expectClose(F.crossEntropy(x, y, { reduction }).data(), crossEntropyRef(logits, n, c, 1, target, { reduction }), { atol: 1e-12 });
      expectClose(F.crossEntropy(x, y, { reduction, weight: wt }).data(), crossEntropyRef(logits, n, c, 1, target, { reduction, weight }), { atol: 1e-12 });
      const ignored = [0, -100, 2, 2, -100, 3];
      expectClose(
        F.crossEntropy(x, int32(ignored), { reduction, weight: wt, labelSmoothing: 0.2 }).data(),
        crossEntropyRef(logits, n, c, 1, ignored, { reduction, weight, smoothing: 0.2 }),
        { atol: 1e-12 },
      );
      expectClose(
        F.crossEntropy(x, int32([1, 7, 7, 0, 2, 7]), { reduction, ignoreIndex: 7, labelSmoothing: 0.1 }).data(),
        crossEntropyRef(logits, n, c, 1, [1, 7, 7, 0, 2, 7], { reduction, ignoreIndex: 7, smoothing: 0.1 }),
        { atol: 1e-12 },
      );
      // nllLoss on log-probabilities is the same thing without the softmax
      const logp = x.logSoftmax(1);
      expectClose(
        F.nllLoss(logp, int32(ignored), { weight: wt, reduction }).data(),
        crossEntropyRef(logp.data(), n, c, 1, ignored, { reduction, weight, logProbs: true }),
        { atol: 1e-12 },
      );
    }
    // every target ignored: 'mean' is 0 / 0, as in PyTorch
    expect(Number.isNaN(F.crossEntropy(x, int32(Array(n).fill(-100))).item())).toBe(true);
  });

  test('spatial targets [N, d1, d2] with C in dim 1: weights, ignoreIndex and smoothing', () => {
    const shape = [2, 3, 2, 3];
    const { t: s, v: sv } = randomTensor(shape, { seed: 12, low: -4, high: 4 });
    const tv = [0, 1, 2, 1, -100, 2, 2, 2, 0, -100, 1, 0];
    const st = int32(tv, [2, 2, 3]);
    const w3 = [1.5, 0.5, 2];
    for (const reduction of reductions) {
      const out = F.crossEntropy(s, st, { reduction, weight: f64(w3, [3]), labelSmoothing: 0.3 });
      expect(out.shape).toEqual(reduction === 'none' ? [2, 2, 3] : []);
      expectClose(out.data(), crossEntropyRef(sv, 2, 3, 6, tv, { reduction, weight: w3, smoothing: 0.3 }), { atol: 1e-12 });
    }
    // the same as the flattened [N * d1 * d2, C] form
    const flat = s.permute([0, 2, 3, 1]).reshape([12, 3]);
    expectClose(F.crossEntropy(s, st).data(), F.crossEntropy(flat, st.reshape([12])).data(), { atol: 1e-12 });
  });

  test('stable for huge logits, and a single unbatched sample', () => {
    const big = tg.tensor([[1000, 0, -1000]], { dtype: 'float32' });
    expectClose(F.crossEntropy(big, int32([1])).data(), [1000], { rtol: 1e-6 });
    expectClose(F.crossEntropy(big, int32([0])).data(), [0], { atol: 1e-6 });
    const one = F.crossEntropy(x.narrow(0, 1, 1).reshape([c]), tg.tensor(4, { dtype: 'int32' }), { reduction: 'none' });
    expect(one.shape).toEqual([]);
    expectClose(one.data(), [crossEntropyRef(logits, n, c, 1, target, { reduction: 'none' })[1]], { atol: 1e-12 });
  });

  test('class-probability targets with smoothing and weights, spatial too; mean divides by positions', () => {
    const shape = [2, 3, 4];
    const { t: s, v: sv } = randomTensor(shape, { seed: 13, low: -3, high: 3 });
    const probs = randomTensor(shape, { seed: 14 }).t.softmax(1);
    const pv = probs.data();
    const w3 = [0.5, 2, 1];
    const ref: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 4; j++) {
        const row = [0, 1, 2].map((k) => sv[(i * 3 + k) * 4 + j]);
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
        ref.push(-row.reduce((a, v, k) => a + w3[k] * (pv[(i * 3 + k) * 4 + j] * 0.9 + 0.1 / 3) * (v - lse), 0));
      }
    }
    for (const reduction of reductions) {
      expectClose(F.crossEntropy(s, probs, { reduction, weight: f64(w3, [3]), labelSmoothing: 0.1 }).data(), reduceRef(ref, reduction), { atol: 1e-12 });
    }
  });

  test('gradients in every reduction, odd and size-1 dims', () => {
    for (const reduction of reductions) {
      gradcheckShapes((a) => F.crossEntropy(a, y, { weight: wt, labelSmoothing: 0.1, reduction }), [[n, c]]);
      gradcheckShapes((a) => F.crossEntropy(a, int32([0, 2, -100, 1, 1, 0], [3, 2, 1]), { weight: f64([2, 0.5, 1], [3]), reduction }), [[3, 3, 2, 1]]);
      gradcheckShapes((a, b) => F.crossEntropy(a, b.softmax(1), { labelSmoothing: 0.2, reduction }), [[1, 3, 3], [1, 3, 3]]);
      gradcheckShapes((a) => F.nllLoss(a.logSoftmax(1), y, { ignoreIndex: 2, weight: wt, reduction }), [[n, c]]);
    }
    gradcheckShapes((a) => F.crossEntropy(a, tg.tensor(0, { dtype: 'int32' })), [[1]]);
  });

  test('errors name the op and the values', () => {
    expectError(() => F.crossEntropy(x, int32([0, 1])), RangeError, 'crossEntropy: input shape [6,5] needs a target of shape [6], got [2]');
    expectError(() => F.crossEntropy(x, tg.tensor([0, 1, 2, 3, 4, 5])), RangeError,
      "crossEntropy: probability targets must have the input's shape: [6,5] and [6]");
    expectError(() => F.crossEntropy(x, tg.tensor([0, 1, 2, 3, 4, 0], { dtype: 'uint8' })), TypeError,
      'crossEntropy: Expected an int32 tensor of class indices for target but received a uint8 tensor of shape [6]');
    expectError(() => F.nllLoss(x, y, { weight: tg.ones([3]) }), RangeError,
      'nllLoss: Expected a 1-D tensor of 5 class weights for weight but received a float32 tensor of shape [3]');
    expectError(() => F.crossEntropy(x, int32([0, 9, 0, 0, 0, 0])), RangeError,
      'crossEntropy: target class 9 is out of range for 5 classes (ignoreIndex -100)');
    expectError(() => F.nllLoss(x, int32([0, -1, 0, 0, 0, 0])), RangeError,
      'nllLoss: target class -1 is out of range for 5 classes (ignoreIndex -100)');
    expectError(() => F.crossEntropy(x, y, { labelSmoothing: 1.5 }), RangeError,
      'crossEntropy: Expected a number in [0, 1] for labelSmoothing but received 1.5');
    expectError(() => F.mseLoss(x, tg.ones([5, 6])), RangeError, 'mseLoss: input and target shapes [6,5] and [5,6] differ');
    expectError(() => F.l1Loss(x, x, { reduction: 'avg' as never }), TypeError, "l1Loss: Expected 'mean', 'sum' or 'none' for reduction but received 'avg'");
    expectError(() => F.huberLoss(x, x, { delta: 0 }), RangeError, 'huberLoss: Expected a positive number for delta but received 0');
    expectError(() => F.mseLoss(tg.arange(3), tg.arange(3)), TypeError, 'mseLoss: Expected a floating-point tensor for input but received a int32 tensor of shape [3]');
  });
});

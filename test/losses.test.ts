import { describe, expect, test } from 'vitest';
import * as tg from '../lib/index';
import { native, type NativeStorage } from '../lib/binding';
import { expectClose, gradcheckShapes, numelOf, randomTensor, randomValues } from './helpers';

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

/**
 * The composed softmax cross-entropy at class indices, written out from logSoftmax and
 * gather (PyTorch's formula: (1 - s) nll + s / C * the weighted uniform term), as the
 * reference for the fused op. Differentiable to any order.
 */
function composedCrossEntropy(
  x: tg.Tensor, target: tg.Tensor,
  { weight, ignoreIndex = -100, smoothing = 0, reduction = 'mean' }: { weight?: tg.Tensor; ignoreIndex?: number; smoothing?: number; reduction?: R } = {},
): tg.Tensor {
  const c = x.shape[1];
  const logp = tg.logSoftmax(x, 1);
  const counts = tg.ne(target, ignoreIndex);
  const safe = tg.where(counts, target, 0);
  const counted = counts.to(x.dtype);
  const wt = weight ? tg.mul(counted, tg.indexSelect(weight, 0, safe.reshape([safe.numel])).reshape(safe.shape)) : counted;
  const picked = tg.gather(logp, 1, tg.unsqueeze(safe, 1)).squeeze(1);
  const along = weight ? tg.mul(logp, weight.reshape([1, c, ...x.shape.slice(2).map(() => 1)])) : logp;
  const uniform = tg.mul(tg.neg(tg.sum(along, 1)), counted);
  const loss = tg.add(tg.mul(tg.neg(tg.mul(picked, wt)), 1 - smoothing), tg.mul(uniform, smoothing / c));
  if (reduction === 'none') return loss;
  return reduction === 'sum' ? tg.sum(loss) : tg.div(tg.sum(loss), tg.sum(wt));
}

describe('crossEntropy at class indices: the fused kernels against the composed reference', () => {
  // odd C, C = 1, inner > 1 (70 columns span two tiles of the CPU kernel), and the last
  // two large enough to be split across the thread pool
  const shapes = [[7, 1], [6, 3], [9, 17], [5, 1001], [3, 5, 4, 3], [2, 17, 1, 7], [2, 3, 70], [300, 130], [2, 5, 4000]];
  // class-index targets for `shape`, with every third position ignored when asked
  function targets(shape: number[], ignoreIndex: number | null, seed: number): tg.Tensor {
    const c = shape[1];
    const positions = [shape[0], ...shape.slice(2)];
    const r = randomValues(numelOf(positions), seed, 0, c);
    return int32(Array.from(r, (v, i) => (ignoreIndex !== null && i % 3 === 1 ? ignoreIndex : Math.floor(v))), positions);
  }
  const settings: Array<{ name: string; weight: boolean; ignoreIndex: number | null; smoothing: number }> = [
    { name: 'plain', weight: false, ignoreIndex: null, smoothing: 0 },
    { name: 'weights', weight: true, ignoreIndex: null, smoothing: 0 },
    { name: 'ignoreIndex', weight: false, ignoreIndex: -100, smoothing: 0 },
    { name: 'smoothing', weight: false, ignoreIndex: null, smoothing: 0.15 },
    { name: 'weights, an ignoreIndex inside [0, C) and smoothing', weight: true, ignoreIndex: 0, smoothing: 0.3 },
  ];
  // float64 compares at rounding level; the others against float64 math on their rounded inputs
  const tolerances = {
    float64: { atol: 1e-12, rtol: 1e-10 },
    float32: { atol: 1e-5, rtol: 1e-5 },
    float16: { atol: 3e-3, rtol: 3e-3 },
    bfloat16: { atol: 2e-2, rtol: 2e-2 },
  } as const;

  for (const dtype of ['float64', 'float32', 'float16', 'bfloat16'] as const) {
    test(`${dtype}: loss and gradient on every shape, setting and reduction`, () => {
      const tol = tolerances[dtype];
      shapes.forEach((shape, k) => {
        const c = shape[1];
        const x = randomTensor(shape, { dtype, seed: 30 + k, low: -4, high: 4 }).t;
        const x64 = x.to('float64');
        const w = tg.tensor(randomValues(c, 50 + k, 0.25, 2), { dtype });
        for (const s of settings) {
          // an ignoreIndex inside [0, C) only means something when C > 1
          const ignoreIndex = s.ignoreIndex === 0 && c === 1 ? -1 : s.ignoreIndex;
          const t = targets(shape, ignoreIndex, 70 + k);
          const options = { weight: s.weight ? w : undefined, ignoreIndex: ignoreIndex ?? undefined, labelSmoothing: s.smoothing };
          const refOptions = { weight: s.weight ? w.to('float64') : undefined, ignoreIndex: ignoreIndex ?? undefined, smoothing: s.smoothing };
          for (const reduction of reductions) {
            const where = `${formatCase(shape, s.name, reduction)}`;
            const leaf = x.detach().requiresGrad_();
            const out = F.crossEntropy(leaf, t, { ...options, reduction });
            expect(out.dtype, where).toBe(dtype);
            expect(out.shape, where).toEqual(reduction === 'none' ? t.shape : []);
            const leaf64 = x64.detach().requiresGrad_();
            const ref = composedCrossEntropy(leaf64, t, { ...refOptions, reduction });
            expectCloseAt(where, out.data(), ref.data(), tol);
            const probe = reduction === 'none' ? tg.tensor(randomValues(out.numel, 90 + k), { dtype: 'float64', shape: out.shape }) : null;
            (probe ? tg.sum(tg.mul(out, probe.to(dtype))) : out).backward();
            (probe ? tg.sum(tg.mul(ref, probe)) : ref).backward();
            expect(leaf.grad!.dtype).toBe(dtype);
            expectCloseAt(`${where} gradient`, leaf.grad!.data(), leaf64.grad!.data(), tol);
          }
        }
      });
    });
  }

  test('gradcheck in float64 on [3, 5] and [2, 4, 3] with weights, ignoreIndex and smoothing, in every reduction', () => {
    const w5 = f64([0.5, 1, 2, 1.5, 0.25], [5]);
    const w4 = f64([2, 0.5, 1, 3], [4]);
    for (const reduction of reductions) {
      gradcheckShapes((a) => F.crossEntropy(a, int32([4, -100, 0]), { weight: w5, labelSmoothing: 0.2, reduction }), [[3, 5]]);
      gradcheckShapes((a) => F.crossEntropy(a, int32([3, 0, 2, 1, 1, 3], [2, 3]), { weight: w4, ignoreIndex: 1, labelSmoothing: 0.1, reduction }), [[2, 4, 3]]);
      gradcheckShapes((a) => F.crossEntropy(a, int32([1, 2, 0]), { reduction }), [[3, 5]]);
    }
  });

  test('a -inf logit: finite loss and gradient without smoothing (as PyTorch), inf with it', () => {
    const x = tg.tensor([[1, -Infinity, 2, 3], [0.5, 2, -Infinity, -1]], { requiresGrad: true });
    const t = int32([2, 1], [2]);
    const loss = tg.nn.functional.crossEntropy(x, t, { reduction: 'none' });
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    expectClose(loss.data(), [lse([1, 2, 3]) - 2, lse([0.5, 2, -1]) - 2], { atol: 1e-6 });
    tg.sum(loss).backward();
    const g = Array.from(x.grad!.data());
    expect(g.every(Number.isFinite)).toBe(true);
    expect(g[1]).toBe(0);
    const smoothed = tg.nn.functional.crossEntropy(x.detach(), t, { reduction: 'none', labelSmoothing: 0.1 });
    expect(Array.from(smoothed.data())).toEqual([Infinity, Infinity]);
  });

  test('second derivatives (createGraph) match the composed reference', () => {
    const x = randomTensor([4, 5, 2], { seed: 21, requiresGrad: true }).t;
    const t = int32([0, 4, -100, 2, 3, 3, 1, -100], [4, 2]);
    const weight = f64([0.5, 1, 2, 1.5, 0.25], [5]);
    const v = randomTensor([4, 5, 2], { seed: 22 }).t;
    const hvp = (loss: (a: tg.Tensor) => tg.Tensor): { g: Float64Array; h: Float64Array } => {
      const [g] = tg.grad(loss(x), [x], { createGraph: true });
      const [h] = tg.grad(tg.sum(tg.mul(g, v)), [x]);
      return { g: Float64Array.from(g.data()), h: Float64Array.from(h.data()) };
    };
    for (const reduction of reductions) {
      const probe = reduction === 'none' ? randomTensor([4, 2], { seed: 23 }).t : null;
      const scalar = (l: tg.Tensor) => (probe ? tg.sum(tg.mul(l, probe)) : l);
      const fused = hvp((a) => scalar(F.crossEntropy(a, t, { weight, labelSmoothing: 0.2, reduction })));
      const ref = hvp((a) => scalar(composedCrossEntropy(a, t, { weight, smoothing: 0.2, reduction })));
      expectClose(fused.g, ref.g, { atol: 1e-12 });
      expectClose(fused.h, ref.h, { atol: 1e-12 });
    }
    // the first derivative taken with createGraph is the fused kernel's
    const [once] = tg.grad(F.crossEntropy(x, t, { weight, labelSmoothing: 0.2 }), [x]);
    const [graphed] = tg.grad(F.crossEntropy(x, t, { weight, labelSmoothing: 0.2 }), [x], { createGraph: true });
    expectClose(once.data(), graphed.data(), { atol: 1e-15 });
  });

  test('a weight that requires grad gets its gradient (through the composed path)', () => {
    const x = randomTensor([6, 4], { seed: 24 }).t;
    const t = int32([0, 3, 1, -100, 2, 2]);
    const w = f64([0.5, 1, 2, 1.5], [4]).requiresGrad_();
    const w64 = f64([0.5, 1, 2, 1.5], [4]).requiresGrad_();
    F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1 }).backward();
    composedCrossEntropy(x, t, { weight: w64, smoothing: 0.1 }).backward();
    expectClose(w.grad!.data(), w64.grad!.data(), { atol: 1e-12 });
  });

  test('dtypes: half logits run in float32 under autocast; logits and weight of two dtypes run in the promoted one', () => {
    const x = randomTensor([5, 3], { dtype: 'float16', seed: 25 }).t.requiresGrad_();
    const t = int32([0, 2, 1, 1, 0]);
    const loss = tg.amp.autocast('float16', () => F.crossEntropy(x, t));
    expect(loss.dtype).toBe('float32');
    loss.backward();
    expect(x.grad!.dtype).toBe('float16');
    expectClose(x.grad!.data(), tg.grad(composedCrossEntropy(x.to('float32'), t), [x])[0].data(), { atol: 1e-3 });
    const x32 = randomTensor([5, 3], { dtype: 'float32', seed: 26 }).t;
    const mixed = F.crossEntropy(x32, t, { weight: f64([1, 2, 0.5], [3]) });
    expect(mixed.dtype).toBe('float64');
    expectClose(mixed.data(), composedCrossEntropy(x32.to('float64'), t, { weight: f64([1, 2, 0.5], [3]) }).data(), { atol: 1e-12 });
  });

  test('targets outside [0, C) are rejected whatever the ignoreIndex; one equal to it counts for nothing', () => {
    const x = randomTensor([3, 4], { seed: 27 }).t;
    expectError(() => F.crossEntropy(x, int32([0, 4, 1]), { ignoreIndex: 2 }), RangeError,
      'crossEntropy: target class 4 is out of range for 4 classes (ignoreIndex 2)');
    expectError(() => F.crossEntropy(x, int32([0, -3, 9]), { ignoreIndex: 9 }), RangeError,
      'crossEntropy: target class -3 is out of range for 4 classes (ignoreIndex 9)');
    const none = F.crossEntropy(x, int32([9, 1, 9]), { ignoreIndex: 9, reduction: 'none' });
    expectClose(none.data(), composedCrossEntropy(x, int32([9, 1, 9]), { ignoreIndex: 9, reduction: 'none' }).data(), { atol: 1e-12 });
    expect(none.data()[0]).toBe(0);
  });

  test('native backstops: sizes, dtypes and targets are checked before the kernels run', () => {
    const s = (n: number, dtype: tg.DType = 'float32') => new native.Storage(native.dtypes[dtype], n, 0);
    const targets = tg.tensor([0, 2], { dtype: 'int32' })._s;
    // logits (2, 3, 1), per-position outputs of 2 values
    const forward = (x: NativeStorage, lse: NativeStorage, weight: NativeStorage | null = null, t = targets) =>
      native.crossEntropy(x, t, weight, 2, 3, 1, -100, 0.1, s(2), lse, null);
    expect(() => forward(s(5), s(2))).toThrow('crossEntropy: argument 0 is too small: the op reads 6 elements but it holds 5');
    expect(() => forward(s(6), s(2, 'float64'))).toThrow('crossEntropy: argument 9 has dtype float64, expected float32');
    expect(() => forward(s(6), s(2), s(3, 'float64'))).toThrow('crossEntropy: argument 2 has dtype float64, expected float32');
    expect(() => forward(s(6, 'int32'), s(2))).toThrow('crossEntropy: argument 0 must have a floating-point dtype, got int32');
    expect(() => forward(s(6), s(2), null, tg.tensor([0, 3], { dtype: 'int32' })._s)).toThrow(
      'crossEntropy: target class 3 is out of range for 3 classes (ignoreIndex -100)');
    expect(() => native.crossEntropyBackward(s(6), targets, null, 2, 3, 1, -100, 0, s(2), s(2), s(5))).toThrow(
      'crossEntropyBackward: argument 10 is too small: the op reads 6 elements but it holds 5');
  });
});

function formatCase(shape: number[], setting: string, reduction: R): string {
  return `[${shape.join(',')}] ${setting}, ${reduction}`;
}

/** expectClose with the case named in the message, and one expect per array (the arrays are large). */
function expectCloseAt(where: string, actual: ArrayLike<number>, wanted: ArrayLike<number>, tol: { atol: number; rtol: number }): void {
  expect(actual.length, where).toBe(wanted.length);
  const bad = Array.from(wanted).findIndex((e, i) => !(Math.abs(actual[i] - e) <= tol.atol + tol.rtol * Math.abs(e)));
  expect(bad, bad < 0 ? where : `${where}: element ${bad} is ${actual[bad]}, expected ${wanted[bad]}`).toBe(-1);
}

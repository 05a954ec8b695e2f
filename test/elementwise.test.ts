/**
 * Elementwise ops (lib/ops/elementwise.ts): forward values against plain JS references
 * on seeded random inputs in every dtype an op serves, NumPy broadcasting, dtype
 * promotion, gradients by finite differences, and IEEE special values.
 */
import { describe, expect, it } from 'vitest';
import * as tg from '../lib/index';
import { broadcastRef, expectClose, gradcheckShapes, numelOf, randomTensor } from './helpers';

type FloatDT = 'float32' | 'float64' | 'float16' | 'bfloat16';

// Half types are compared against the reference on their rounded inputs: the only
// error left is the rounding of the output (2^-11 or 2^-8 relative).
const TOL: Record<FloatDT, { atol: number; rtol: number }> = {
  float64: { atol: 1e-12, rtol: 1e-10 },
  float32: { atol: 1e-6, rtol: 1e-5 },
  float16: { atol: 1e-3, rtol: 1e-2 },
  bfloat16: { atol: 1e-3, rtol: 1e-2 },
};
const EXACT = { atol: 0, rtol: 0 };

const FULL_SIZES: number[][] = [[7], [13], [33], [1031], [3, 1, 5]];
// Over 40000 elements: the native kernels split these across the thread pool
// (a 32768-element grain), which withThreads makes at least 4 wide on any machine.
const BIG: number[] = [3, 20011];

function withThreads<T>(fn: () => T): T {
  const before = tg.getNumThreads();
  tg.setNumThreads(Math.max(before, 4));
  try {
    return fn();
  } finally {
    tg.setNumThreads(before);
  }
}

// ---------------------------------------------------------------- JS references

/** erf by its series of positive terms, 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!, good to ~1e-15. */
function erfRef(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) > 6) return Math.sign(x);
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 400; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}
const sigmoidRef = (x: number) => 1 / (1 + Math.exp(-x));
const softplusRef = (beta: number, threshold: number) => (x: number) =>
  beta * x > threshold ? x : Math.log1p(Math.exp(beta * x)) / beta;
const geluRef = (x: number) => 0.5 * x * (1 + erfRef(x / Math.SQRT2));
const geluTanhRef = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const clampRef = (lo: number, hi: number) => (x: number) => Math.min(Math.max(x, lo), hi);

/** A float64 constant of `shape` cycling through `values` (no grad). */
function cycling(shape: readonly number[], values: readonly number[]): tg.Tensor {
  const n = numelOf(shape);
  return tg.tensor(Float64Array.from({ length: n }, (_, i) => values[i % values.length]), { dtype: 'float64', shape });
}

/**
 * Gradcheck inputs for ops with kinks at -0.8, 0 and 0.7 (and softplus's threshold at 1.5):
 * x in [0, 0.25] plus these offsets lands in [-2,-1.75], [-0.45,-0.2], [0.15,0.4], [1,1.25]
 * and [2,2.25], at least 0.15 from every kink while covering each side of it.
 */
const KINK_OFFSETS = [-2, -0.45, 0.15, 1.0, 2.0];
function gradcheckAwayFromKinks(op: (x: tg.Tensor) => tg.Tensor, shapes: number[][]): void {
  for (const shape of shapes) {
    const off = cycling(shape, KINK_OFFSETS);
    gradcheckShapes((x) => op(tg.add(x, off)), [shape], { low: 0, high: 0.25, seed: 11 + shape.length });
  }
}

// ---------------------------------------------------------------- unary

interface UnaryCase {
  name: string;
  op: (x: tg.Tensor) => tg.Tensor;
  ref: (x: number) => number;
  low?: number;
  high?: number;
  /** Keeps int32 inputs int32 (else integer input computes in float32). */
  ints?: boolean;
  /** Gradcheck: input range, or 'kinks' for the offset inputs above. */
  grad: { low?: number; high?: number } | 'kinks';
  /** Also run on [3, 20011] (the threaded path). */
  big?: boolean;
}

const UNARY: UnaryCase[] = [
  { name: 'neg', op: tg.neg, ref: (x) => -x, ints: true, grad: {} },
  { name: 'abs', op: tg.abs, ref: Math.abs, ints: true, grad: 'kinks' },
  { name: 'exp', op: tg.exp, ref: Math.exp, low: -3, high: 3, grad: {}, big: true },
  { name: 'log', op: tg.log, ref: Math.log, low: 0.05, high: 5, grad: { low: 0.2, high: 3 } },
  { name: 'log1p', op: tg.log1p, ref: Math.log1p, low: -0.9, high: 3, grad: { low: -0.5, high: 3 } },
  { name: 'sqrt', op: tg.sqrt, ref: Math.sqrt, low: 0.01, high: 5, grad: { low: 0.2, high: 3 } },
  { name: 'rsqrt', op: tg.rsqrt, ref: (x) => 1 / Math.sqrt(x), low: 0.05, high: 5, grad: { low: 0.2, high: 3 } },
  { name: 'square', op: tg.square, ref: (x) => x * x, ints: true, grad: {} },
  { name: 'sin', op: tg.sin, ref: Math.sin, low: -4, high: 4, grad: { low: -4, high: 4 } },
  { name: 'cos', op: tg.cos, ref: Math.cos, low: -4, high: 4, grad: { low: -4, high: 4 } },
  { name: 'tanh', op: tg.tanh, ref: Math.tanh, low: -3, high: 3, grad: {} },
  { name: 'sigmoid', op: tg.sigmoid, ref: sigmoidRef, low: -6, high: 6, grad: { low: -4, high: 4 }, big: true },
  { name: 'relu', op: tg.relu, ref: (x) => Math.max(x, 0), ints: true, grad: 'kinks' },
  { name: 'leakyRelu', op: (x) => tg.leakyRelu(x), ref: (x) => (x > 0 ? x : 0.01 * x), grad: 'kinks' },
  { name: 'leakyRelu(0.2)', op: (x) => tg.leakyRelu(x, 0.2), ref: (x) => (x > 0 ? x : 0.2 * x), grad: 'kinks' },
  { name: 'elu', op: (x) => tg.elu(x), ref: (x) => (x > 0 ? x : Math.expm1(x)), low: -3, high: 3, grad: 'kinks' },
  { name: 'elu(0.5)', op: (x) => tg.elu(x, 0.5), ref: (x) => (x > 0 ? x : 0.5 * Math.expm1(x)), low: -3, high: 3, grad: 'kinks' },
  { name: 'gelu', op: (x) => tg.gelu(x), ref: geluRef, low: -4, high: 4, grad: { low: -3, high: 3 }, big: true },
  { name: "gelu('none')", op: (x) => tg.gelu(x, { approximate: 'none' }), ref: geluRef, low: -4, high: 4, grad: {} },
  { name: "gelu('tanh')", op: (x) => tg.gelu(x, { approximate: 'tanh' }), ref: geluTanhRef, low: -4, high: 4, grad: { low: -3, high: 3 } },
  { name: 'silu', op: tg.silu, ref: (x) => x * sigmoidRef(x), low: -5, high: 5, grad: { low: -4, high: 4 } },
  { name: 'softplus', op: (x) => tg.softplus(x), ref: softplusRef(1, 20), low: -5, high: 5, grad: { low: -4, high: 4 } },
  {
    name: 'softplus(beta 2, threshold 3)',
    op: (x) => tg.softplus(x, { beta: 2, threshold: 3 }),
    ref: softplusRef(2, 3),
    low: -4,
    high: 4,
    grad: 'kinks',
  },
  {
    name: 'softplus(beta -1.5, threshold 2)',
    op: (x) => tg.softplus(x, { beta: -1.5, threshold: 2 }),
    ref: softplusRef(-1.5, 2),
    low: -4,
    high: 4,
    grad: { low: -1, high: 1 },
  },
  { name: 'clamp(min)', op: (x) => tg.clamp(x, -0.8), ref: clampRef(-0.8, Infinity), grad: 'kinks' },
  { name: 'clamp(max)', op: (x) => tg.clamp(x, null, 0.7), ref: clampRef(-Infinity, 0.7), grad: 'kinks' },
  { name: 'clamp(min, max)', op: (x) => tg.clamp(x, -0.8, 0.7), ref: clampRef(-0.8, 0.7), grad: 'kinks', big: true },
  { name: 'clamp(int bounds)', op: (x) => tg.clamp(x, -7, 5), ref: clampRef(-7, 5), low: -20, high: 20, ints: true, grad: 'kinks' },
  { name: 'sign', op: tg.sign, ref: Math.sign, ints: true, grad: 'kinks' },
  { name: 'reciprocal', op: tg.reciprocal, ref: (x) => 1 / x, low: 0.1, high: 4, grad: { low: 0.3, high: 3 } },
  { name: 'reciprocal (negative)', op: tg.reciprocal, ref: (x) => 1 / x, low: -4, high: -0.1, grad: { low: -3, high: -0.3 } },
  { name: 'erf', op: tg.erf, ref: erfRef, low: -3.5, high: 3.5, grad: { low: -2.5, high: 2.5 } },
];

function checkUnary(c: UnaryCase, shape: readonly number[], dtype: tg.DType, seed: number): void {
  const ints = dtype === 'int32';
  const { t, v } = randomTensor(shape, { dtype, seed, low: ints ? -20 : c.low, high: ints ? 20 : c.high });
  const y = c.op(t);
  expect(y.dtype).toBe(dtype);
  expect(y.shape).toEqual(shape);
  if (ints) {
    expect(y.data()).toBeInstanceOf(Int32Array);
    expectClose(y.data(), Float64Array.from(v, c.ref), EXACT);
  } else {
    expectClose(y.data(), Float64Array.from(v, c.ref), TOL[dtype as FloatDT]);
  }
}

describe('unary ops: forward', () => {
  for (const c of UNARY) {
    it(`${c.name} matches the JS reference in float32 and float64`, () => {
      for (const dtype of ['float32', 'float64'] as const) {
        FULL_SIZES.forEach((shape, k) => checkUnary(c, shape, dtype, 100 + k));
      }
    });
    it(`${c.name} in float16 and bfloat16 (reference on the rounded inputs)`, () => {
      checkUnary(c, [33], 'float16', 5);
      checkUnary(c, [2, 17], 'bfloat16', 6);
    });
    if (c.ints) {
      it(`${c.name} keeps int32`, () => {
        checkUnary(c, [13], 'int32', 21);
        checkUnary(c, [1031], 'int32', 22);
      });
    }
    if (c.big) {
      it(`${c.name} over ${BIG.join('x')} elements (threaded)`, () => {
        withThreads(() => checkUnary(c, BIG, 'float32', 31));
      });
    }
  }

  it('size-0 and 0-d inputs', () => {
    const empty = tg.exp(tg.zeros([2, 0, 3]));
    expect(empty.shape).toEqual([2, 0, 3]);
    expect(empty.data().length).toBe(0);
    const s = tg.tensor(0.75, { dtype: 'float64' });
    const y = tg.tanh(s);
    expect(y.shape).toEqual([]);
    expectClose([y.item()], [Math.tanh(0.75)], TOL.float64);
  });

  it('float-only ops compute integer input in float32', () => {
    const x = tg.tensor(new Int32Array([-3, 0, 2, 7]));
    for (const [op, ref] of [
      [tg.exp, Math.exp],
      [tg.sigmoid, sigmoidRef],
      [tg.tanh, Math.tanh],
      [(t: tg.Tensor) => tg.leakyRelu(t, 0.5), (v: number) => (v > 0 ? v : 0.5 * v)],
    ] as Array<[(t: tg.Tensor) => tg.Tensor, (v: number) => number]>) {
      const y = op(x);
      expect(y.dtype).toBe('float32');
      expectClose(y.data(), [-3, 0, 2, 7].map(ref), TOL.float32);
    }
    const r = tg.sqrt(tg.tensor(new Int32Array([1, 4, 9, 2])));
    expect(r.dtype).toBe('float32');
    expectClose(r.data(), [1, 2, 3, Math.SQRT2], TOL.float32);
  });

  it('clamp of int32 with fractional bounds computes in float32', () => {
    const y = tg.clamp(tg.tensor(new Int32Array([-3, 0, 1, 4])), -1.5, 2.5);
    expect(y.dtype).toBe('float32');
    expectClose(y.data(), [-1.5, 0, 1, 2.5], EXACT);
  });

  it('clamp with min > max sets every element to max, as torch.clamp does', () => {
    const { t, v } = randomTensor([13], { dtype: 'float32', seed: 3, low: -3, high: 3 });
    expectClose(tg.clamp(t, 1, -1).data(), Array.from(v, () => -1), EXACT);
    const i = tg.clamp(tg.tensor(new Int32Array([-5, 0, 5])), 2, 1);
    expectClose(i.data(), [1, 1, 1], EXACT);
  });

  it('abs of -0 is +0', () => {
    for (const dtype of ['float32', 'float64', 'float16'] as const) {
      const y = tg.abs(tg.tensor([-0, -1.5], { dtype })).data();
      expect(Object.is(y[0], 0), dtype).toBe(true);
      expect(y[1]).toBe(1.5);
    }
  });

  it('rejects bool input to numeric ops and a clamp without bounds', () => {
    const b = tg.tensor([true, false]);
    expect(() => tg.neg(b)).toThrow(TypeError);
    expect(() => tg.clamp(tg.tensor([1, 2]))).toThrow(/clamp: Expected at least one of min and max/);
    expect(() => tg.gelu(tg.tensor([1]), { approximate: 'fast' as never })).toThrow(TypeError);
    expect(() => tg.softplus(tg.tensor([1]), { beta: 0 })).toThrow(RangeError);
  });
});

describe('unary ops: gradients (float64 finite differences)', () => {
  const shapes = [[1], [7], [3, 1, 5]];
  for (const c of UNARY.filter((u) => u.name !== 'clamp(int bounds)')) {
    it(c.name, () => {
      const range = c.grad;
      if (range === 'kinks') {
        gradcheckAwayFromKinks(c.op, shapes);
      } else {
        shapes.forEach((s, k) => gradcheckShapes(c.op, [s], { seed: 40 + k, low: range.low, high: range.high }));
      }
    });
  }

  it('clamp passes no gradient outside [min, max] and all of it inside', () => {
    const x = tg.tensor([-2, -0.5, 0.3, 0.9, 3], { dtype: 'float64', requiresGrad: true });
    tg.clamp(x, -1, 1).sum().backward();
    expectClose(x.grad!.data(), [0, 1, 1, 1, 0], EXACT);
  });

  it('second derivative of tanh and sigmoid', () => {
    const { t: x, v } = randomTensor([7], { seed: 9, requiresGrad: true });
    const [g] = tg.grad(tg.tanh(x).sum(), [x], { createGraph: true });
    const [h] = tg.grad(g.sum(), [x]);
    expectClose(h.data(), Array.from(v, (a) => -2 * Math.tanh(a) * (1 - Math.tanh(a) ** 2)), TOL.float64);
    const [gs] = tg.grad(tg.sigmoid(x).sum(), [x], { createGraph: true });
    const [hs] = tg.grad(gs.sum(), [x]);
    expectClose(hs.data(), Array.from(v, (a) => sigmoidRef(a) * (1 - sigmoidRef(a)) * (1 - 2 * sigmoidRef(a))), TOL.float64);
  });
});

// ---------------------------------------------------------------- binary

interface BinaryCase {
  name: string;
  op: (a: tg.Operand, b: tg.Operand) => tg.Tensor;
  ref: (a: number, b: number) => number;
  a?: [number, number];
  b?: [number, number];
  /** int32 operands stay int32 (div alone goes to float32). */
  int?: { a: [number, number]; b: [number, number]; out: tg.DType };
  /** A JS number for the scalar-operand cases. */
  scalar: number;
}

const BINARY: BinaryCase[] = [
  { name: 'add', op: tg.add, ref: (x, y) => x + y, int: { a: [-50, 50], b: [-50, 50], out: 'int32' }, scalar: 1.75 },
  { name: 'sub', op: tg.sub, ref: (x, y) => x - y, int: { a: [-50, 50], b: [-50, 50], out: 'int32' }, scalar: -0.625 },
  { name: 'mul', op: tg.mul, ref: (x, y) => x * y, int: { a: [-50, 50], b: [-50, 50], out: 'int32' }, scalar: 2.5 },
  { name: 'div', op: tg.div, ref: (x, y) => x / y, b: [0.25, 2], int: { a: [-50, 50], b: [1, 9], out: 'float32' }, scalar: 1.25 },
  { name: 'pow', op: tg.pow, ref: Math.pow, a: [0.1, 3], b: [-2, 2], int: { a: [-6, 7], b: [0, 5], out: 'int32' }, scalar: 1.5 },
  { name: 'maximum', op: tg.maximum, ref: Math.max, int: { a: [-50, 50], b: [-50, 50], out: 'int32' }, scalar: 0.3 },
  { name: 'minimum', op: tg.minimum, ref: Math.min, int: { a: [-50, 50], b: [-50, 50], out: 'int32' }, scalar: -0.3 },
];

const PAIRS: Array<[number[], number[]]> = [
  [[7], [7]],
  [[13], [13]],
  [[1031], [1031]],
  [[3, 1, 5], [4, 1]],
  [[4, 1], [3, 1, 5]],
  [[1], [2, 3]],
  [[], [2, 3]],
  [[2, 3], []],
  [[13, 1], [1, 33]],
  [[2, 1, 3], [2, 1]],
  [[2, 0, 3], [1, 3]],
  [[0, 3], [2, 1, 1]],
  [[0], [1]],
];

function checkBinary(
  c: BinaryCase,
  aShape: readonly number[],
  bShape: readonly number[],
  dtype: tg.DType,
  seed: number,
  outDtype: tg.DType = dtype,
): void {
  const ints = dtype === 'int32';
  const ra = ints ? c.int!.a : (c.a ?? [-2, 2]);
  const rb = ints ? c.int!.b : (c.b ?? [-2, 2]);
  const A = randomTensor(aShape, { dtype, seed, low: ra[0], high: ra[1] });
  const B = randomTensor(bShape, { dtype, seed: seed + 1000, low: rb[0], high: rb[1] });
  const y = c.op(A.t, B.t);
  const ref = broadcastRef(A.v, aShape, B.v, bShape, c.ref);
  expect(y.shape).toEqual(ref.shape);
  expect(y.dtype).toBe(outDtype);
  expectClose(y.data(), ref.values, outDtype === 'int32' ? EXACT : TOL[outDtype as FloatDT]);
}

describe('binary ops: forward with broadcasting', () => {
  for (const c of BINARY) {
    it(`${c.name} in float32 and float64 over broadcast shape pairs`, () => {
      for (const dtype of ['float32', 'float64'] as const) {
        PAIRS.forEach(([sa, sb], k) => checkBinary(c, sa, sb, dtype, 200 + k));
      }
    });

    it(`${c.name} in float16 and bfloat16`, () => {
      checkBinary(c, [3, 1, 5], [4, 1], 'float16', 7);
      checkBinary(c, [33], [33], 'bfloat16', 8);
    });

    it(`${c.name} of int32 gives ${c.int!.out}`, () => {
      checkBinary(c, [13], [13], 'int32', 9, c.int!.out);
      checkBinary(c, [3, 1, 5], [4, 1], 'int32', 10, c.int!.out);
      checkBinary(c, [1031], [], 'int32', 11, c.int!.out);
    });

    it(`${c.name} with a JS number on either side`, () => {
      const s = c.scalar;
      for (const dtype of ['float32', 'float64', 'float16'] as const) {
        const { t, v } = randomTensor([2, 7], { dtype, seed: 12, low: c.a?.[0] ?? 0.25, high: c.a?.[1] ?? 2 });
        const right = c.op(t, s);
        const left = c.op(s, t);
        for (const y of [right, left]) {
          expect(y.dtype).toBe(dtype);
          expect(y.shape).toEqual([2, 7]);
        }
        // the number is stored in the tensor's dtype before the op, as PyTorch does for half types
        const sv = tg.tensor([s], { dtype }).data()[0];
        expectClose(right.data(), Array.from(v, (x) => c.ref(x, sv)), TOL[dtype]);
        expectClose(left.data(), Array.from(v, (x) => c.ref(sv, x)), TOL[dtype]);
      }
    });

  }

  // One large check per layout (each costs ~0.5 s of JS reference work). The binary
  // walk splits rows across threads: long rows against a broadcast row or column, many
  // short rows; a fully contiguous pair merges into one row.
  const bigCases: Array<[string, number[], number[], FloatDT]> = [
    ['add', BIG, BIG, 'float32'],
    ['mul', BIG, [BIG[1]], 'float32'],
    ['maximum', [20011, 3], [3], 'float64'],
    ['pow', BIG, [BIG[0], 1], 'float32'],
  ];
  for (const [name, sa, sb, dtype] of bigCases) {
    it(`${name} of [${sa}] and [${sb}] (threaded)`, () => {
      withThreads(() => checkBinary(BINARY.find((c) => c.name === name)!, sa, sb, dtype, 13));
    });
  }

  it('int32 pow with a non-negative integer exponent, and int32 true division', () => {
    const base = tg.tensor(new Int32Array([-3, -2, 0, 1, 2, 5, 7]));
    const p = tg.pow(base, 3);
    expect(p.dtype).toBe('int32');
    expectClose(p.data(), [-27, -8, 0, 1, 8, 125, 343], EXACT);
    expectClose(tg.pow(base, 0).data(), [1, 1, 1, 1, 1, 1, 1], EXACT);
    const e = tg.pow(2, tg.tensor(new Int32Array([0, 1, 5, 10])));
    expect(e.dtype).toBe('int32');
    expectClose(e.data(), [1, 2, 32, 1024], EXACT);
    const q = tg.div(tg.tensor(new Int32Array([7, -7, 1, 0])), tg.tensor(new Int32Array([2, 2, 3, 5])));
    expect(q.dtype).toBe('float32');
    expectClose(q.data(), [3.5, -3.5, 1 / 3, 0], TOL.float32);
    const q2 = tg.div(tg.tensor(new Int32Array([7, -9])), 2);
    expect(q2.dtype).toBe('float32');
    expectClose(q2.data(), [3.5, -4.5], EXACT);
  });

  it('rejects shapes that do not broadcast and non-numeric operands', () => {
    expect(() => tg.add(tg.zeros([2, 3]), tg.zeros([4]))).toThrow(RangeError);
    expect(() => tg.add(tg.zeros([2, 3]), tg.zeros([4]))).toThrow(/add: shapes \[2,\s?3\] and \[4\] cannot be broadcast together/);
    expect(() => tg.mul(tg.zeros([2]), '3' as never)).toThrow(TypeError);
  });
});

describe('dtype promotion', () => {
  it('int32 + float32 -> float32', () => {
    const y = tg.add(tg.tensor(new Int32Array([1, -2, 3])), tg.tensor([0.5, 0.25, -1.5]));
    expect(y.dtype).toBe('float32');
    expectClose(y.data(), [1.5, -1.75, 1.5], EXACT);
  });

  it('float16 + bfloat16 -> float32', () => {
    const A = randomTensor([9], { dtype: 'float16', seed: 1 });
    const B = randomTensor([9], { dtype: 'bfloat16', seed: 2 });
    const y = tg.add(A.t, B.t);
    expect(y.dtype).toBe('float32');
    // half values are exact in float32; the sum is rounded once, to float32
    expectClose(y.data(), Array.from(A.v, (a, i) => Math.fround(a + B.v[i])), EXACT);
    expect(tg.mul(B.t, A.t).dtype).toBe('float32');
  });

  it('float32 + float64 -> float64', () => {
    const A = randomTensor([2, 3], { dtype: 'float32', seed: 3 });
    const B = randomTensor([3], { dtype: 'float64', seed: 4 });
    const y = tg.sub(A.t, B.t);
    expect(y.dtype).toBe('float64');
    expectClose(y.data(), broadcastRef(A.v, [2, 3], B.v, [3], (a, b) => a - b).values, EXACT);
  });

  it('int32 tensor with a fractional number -> float32; with an integer stays int32', () => {
    const x = tg.tensor(new Int32Array([1, 2, -3]));
    const y = tg.add(x, 2.5);
    expect(y.dtype).toBe('float32');
    expectClose(y.data(), [3.5, 4.5, -0.5], EXACT);
    expect(tg.mul(2.5, x).dtype).toBe('float32');
    expect(tg.mul(x, 2).dtype).toBe('int32');
    expect(tg.sub(3, x).dtype).toBe('int32');
  });

  it('float16 tensor with a number stays float16', () => {
    const x = tg.tensor([0.5, -1.25, 3], { dtype: 'float16' });
    const y = tg.add(x, 3);
    expect(y.dtype).toBe('float16');
    expectClose(y.data(), [3.5, 1.75, 6], EXACT);
    expect(tg.mul(1.5, x).dtype).toBe('float16');
    expect(tg.add(tg.tensor([1], { dtype: 'bfloat16' }), 0.1).dtype).toBe('bfloat16');
  });

  it('uint8 with int32 -> int32; bool with a number -> int32', () => {
    expect(tg.add(tg.tensor(new Uint8Array([1, 2])), tg.tensor(new Int32Array([3, 4]))).dtype).toBe('int32');
    const b = tg.add(tg.tensor([true, false]), 2);
    expect(b.dtype).toBe('int32');
    expectClose(b.data(), [3, 2], EXACT);
  });

  it('comparisons give bool whatever the operand dtypes', () => {
    const i = tg.tensor(new Int32Array([2, 3]));
    for (const y of [tg.lt(i, 2.5), tg.eq(i, tg.tensor([2], { dtype: 'float16' })), tg.ge(1.5, tg.tensor([1], { dtype: 'float64' }))]) {
      expect(y.dtype).toBe('bool');
    }
    // an int32 tensor against 2.5 compares in float32, not against a truncated 2
    expect(Array.from(tg.eq(i, 2.5).data())).toEqual([0, 0]);
    expect(Array.from(tg.lt(i, 2.5).data())).toEqual([1, 0]);
  });

  it('a float32 leaf mixed with float64 gets a float32 gradient', () => {
    const a = tg.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    const b = tg.tensor([0.5, 0.5, 2], { dtype: 'float64', requiresGrad: true });
    tg.mul(a, b).sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(b.grad!.dtype).toBe('float64');
    expectClose(a.grad!.data(), [0.5, 0.5, 2], EXACT);
    expectClose(b.grad!.data(), [1, 2, 3], EXACT);
  });
});

describe('binary ops: gradients (float64 finite differences)', () => {
  const shapePairs: number[][][] = [[[3, 1, 5], [4, 1]], [[7], [7]], [[1], [2, 3]], [[], [2, 3]], [[2, 3], [3]], [[2, 1], [1]]];
  const ranges: Record<string, { low?: number; high?: number }> = {
    div: { low: 0.5, high: 2 },
    pow: { low: 0.5, high: 2 },
  };
  for (const c of BINARY) {
    it(`${c.name} with broadcasting`, () => {
      shapePairs.forEach((shapes, k) => gradcheckShapes(c.op, shapes, { seed: 60 + k, ...ranges[c.name] }));
    });
    it(`${c.name} with a JS number on either side`, () => {
      const extreme = c.name === 'maximum' || c.name === 'minimum';
      // maximum/minimum: x + (-1 or 1.5) lies in [-1.5,-0.5] or [1,2], never near the number 0.25
      const s = extreme ? 0.25 : c.scalar;
      const shift = (x: tg.Tensor) => (extreme ? tg.add(x, cycling(x.shape, [-1, 1.5])) : x);
      const range = ranges[c.name] ?? { low: -0.5, high: 0.5 };
      gradcheckShapes((x) => c.op(shift(x), s), [[3, 5]], { seed: 70, ...range });
      gradcheckShapes((x) => c.op(s, shift(x)), [[3, 5]], { seed: 71, ...range });
    });
  }

  it('pow with a negative base and integer exponent', () => {
    gradcheckShapes((x) => tg.pow(x, 3), [[2, 5]], { seed: 5, low: -2, high: 2 });
    gradcheckShapes((x) => tg.pow(x, -2), [[2, 5]], { seed: 5, low: -2, high: -0.5 });
  });

  it('pow passes a zero gradient to the base where the exponent is 0, even at base 0 (PyTorch)', () => {
    const x = tg.tensor([0, 1.5, -2], { dtype: 'float64', requiresGrad: true });
    tg.pow(x, 0).sum().backward();
    expectClose(x.grad!.data(), [0, 0, 0], EXACT);
    const b = tg.tensor([0, 0, 3], { dtype: 'float64', requiresGrad: true });
    const e = tg.tensor([0, 1, 2], { dtype: 'float64', requiresGrad: true });
    tg.pow(b, e).sum().backward();
    expectClose(b.grad!.data(), [0, 1, 6], EXACT);
    // d/de b^e = b^e log b, taken as 0 at b == 0
    expectClose(e.grad!.data(), [0, 0, 9 * Math.log(3)], TOL.float64);
  });

  it('maximum and minimum split a tie 0.5/0.5, like PyTorch', () => {
    const mk = (v: number[]) => tg.tensor(v, { dtype: 'float64', requiresGrad: true });
    let a = mk([1, 2, 3, 4]);
    let b = mk([1, 5, 3, 0]);
    tg.maximum(a, b).sum().backward();
    expectClose(a.grad!.data(), [0.5, 0, 0.5, 1], EXACT);
    expectClose(b.grad!.data(), [0.5, 1, 0.5, 0], EXACT);
    a = mk([1, 2, 3, 4]);
    b = mk([1, 5, 3, 0]);
    tg.minimum(a, b).sum().backward();
    expectClose(a.grad!.data(), [0.5, 1, 0.5, 0], EXACT);
    expectClose(b.grad!.data(), [0.5, 0, 0.5, 1], EXACT);
    // a broadcast operand gathers its share from every tie
    const x = mk([2, 1, 2, 3]);
    const y = mk([2]);
    tg.maximum(x, y).sum().backward();
    expectClose(x.grad!.data(), [0.5, 0, 0.5, 1], EXACT);
    expectClose(y.grad!.data(), [0.5 + 1 + 0.5], EXACT);
    // and against a JS number
    const z = mk([2, 1, 3]);
    tg.minimum(z, 2).sum().backward();
    expectClose(z.grad!.data(), [0.5, 1, 0], EXACT);
  });
});

// ---------------------------------------------------------------- comparisons and where

const COMPARE: Array<[string, (a: tg.Operand, b: tg.Operand) => tg.Tensor, (a: number, b: number) => boolean]> = [
  ['eq', tg.eq, (a, b) => a === b],
  ['ne', tg.ne, (a, b) => a !== b],
  ['lt', tg.lt, (a, b) => a < b],
  ['le', tg.le, (a, b) => a <= b],
  ['gt', tg.gt, (a, b) => a > b],
  ['ge', tg.ge, (a, b) => a >= b],
];

/** Values on a half-step grid in [-2, 2], so ties are frequent. */
function gridTensor(shape: readonly number[], dtype: tg.DType, seed: number): { t: tg.Tensor; v: Float64Array } {
  const { v } = randomTensor(shape, { seed, low: -2.25, high: 2.25 });
  const t = tg.tensor(Float64Array.from(v, (x) => Math.round(x * 2) / 2), { dtype, shape });
  return { t, v: Float64Array.from(t.data()) };
}

describe('comparisons', () => {
  for (const [name, op, ref] of COMPARE) {
    it(`${name} with broadcasting, numbers on either side, in each dtype`, () => {
      for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int32'] as const) {
        const pairs: Array<[number[], number[]]> = dtype === 'int32' ? [[[13], [13]], [[3, 1, 5], [4, 1]]] : PAIRS;
        pairs.forEach(([sa, sb], k) => {
          const scale = dtype === 'int32' ? 2 : 1; // int32: whole numbers on the same grid
          const A = gridTensor(sa, 'float64', 300 + k);
          const B = gridTensor(sb, 'float64', 400 + k);
          const av = A.v.map((x) => Math.round(x * scale));
          const bv = B.v.map((x) => Math.round(x * scale));
          const y = op(tg.tensor(av, { dtype, shape: sa }), tg.tensor(bv, { dtype, shape: sb }));
          const r = broadcastRef(av, sa, bv, sb, (a, b) => (ref(a, b) ? 1 : 0));
          expect(y.dtype).toBe('bool');
          expect(y.shape).toEqual(r.shape);
          expect(y.requiresGrad).toBe(false);
          expectClose(y.data(), r.values, EXACT);
        });
        const { t, v } = gridTensor([2, 7], dtype, 500);
        expectClose(op(t, 0.5).data(), Array.from(v, (x) => (ref(x, 0.5) ? 1 : 0)), EXACT);
        expectClose(op(0.5, t).data(), Array.from(v, (x) => (ref(0.5, x) ? 1 : 0)), EXACT);
      }
    });
  }

  it('over a threaded size, and NaN compares unequal to everything', () => {
    const A = gridTensor(BIG, 'float32', 1);
    const B = gridTensor([BIG[1]], 'float32', 2);
    withThreads(() => {
      expectClose(tg.le(A.t, B.t).data(), broadcastRef(A.v, BIG, B.v, [BIG[1]], (a, b) => (a <= b ? 1 : 0)).values, EXACT);
    });
    const n = tg.tensor([NaN, 1, NaN]);
    const m = tg.tensor([NaN, NaN, 1]);
    expect(Array.from(tg.eq(n, m).data())).toEqual([0, 0, 0]);
    expect(Array.from(tg.ne(n, m).data())).toEqual([1, 1, 1]);
    for (const op of [tg.lt, tg.le, tg.gt, tg.ge]) expect(Array.from(op(n, m).data())).toEqual([0, 0, 0]);
  });

  it('a comparison of a tensor that requires grad records no graph', () => {
    const x = tg.tensor([1, -1], { dtype: 'float64', requiresGrad: true });
    const y = tg.gt(x, 0);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBe(null);
  });
});

/** Three-way broadcast reference for where, from two binary broadcasts (a holds no NaN). */
function whereRef(
  c: ArrayLike<number>, cs: readonly number[],
  a: ArrayLike<number>, as: readonly number[],
  b: ArrayLike<number>, bs: readonly number[],
): { values: Float64Array; shape: number[] } {
  const ca = broadcastRef(c, cs, a, as, (cv, av) => (cv ? av : NaN));
  return broadcastRef(ca.values, ca.shape, b, bs, (x, bv) => (Number.isNaN(x) ? bv : x));
}

describe('where', () => {
  const cases: Array<[number[], number[], number[]]> = [
    [[3, 1, 5], [4, 1], [5]],
    [[7], [7], [7]],
    [[2, 3], [], [1]],
    [[], [2, 3], [2, 1]],
    [[1, 4], [3, 1], [3, 4]],
    [[2, 0, 3], [1, 3], []],
    [[13], [13], [13]],
    [[BIG[0], 1], [BIG[1]], BIG],
  ];

  it('broadcasts condition and both operands in each dtype', () => {
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int32'] as const) {
      cases.forEach(([cs, as, bs], k) => {
        if (dtype !== 'float32' && numelOf(cs) > 10000) return;
        const C = randomTensor(cs, { seed: 600 + k });
        const cond = tg.gt(C.t, 0);
        const cv = Float64Array.from(C.v, (x) => (x > 0 ? 1 : 0));
        const A = randomTensor(as, { dtype, seed: 700 + k, low: -20, high: 20 });
        const B = randomTensor(bs, { dtype, seed: 800 + k, low: -20, high: 20 });
        const y = withThreads(() => tg.where(cond, A.t, B.t));
        const r = whereRef(cv, cs, A.v, as, B.v, bs);
        expect(y.dtype).toBe(dtype);
        expect(y.shape).toEqual(r.shape);
        expectClose(y.data(), r.values, EXACT);
      });
    }
  });

  it('takes JS numbers for either branch and promotes', () => {
    const C = randomTensor([3, 1, 5], { seed: 1 });
    const cond = tg.gt(C.t, 0);
    const cv = Float64Array.from(C.v, (x) => (x > 0 ? 1 : 0));
    const A = randomTensor([4, 1], { dtype: 'float32', seed: 2 });
    let y = tg.where(cond, A.t, 0.5);
    expect(y.dtype).toBe('float32');
    expectClose(y.data(), whereRef(cv, [3, 1, 5], A.v, [4, 1], [0.5], []).values, EXACT);
    y = tg.where(cond, -1.5, A.t);
    expectClose(y.data(), whereRef(cv, [3, 1, 5], [-1.5], [], A.v, [4, 1]).values, EXACT);
    y = tg.where(cond, 2, -1);
    expect(y.dtype).toBe('int32');
    expect(y.shape).toEqual([3, 1, 5]);
    expectClose(y.data(), Array.from(cv, (c) => (c ? 2 : -1)), EXACT);
    expect(tg.where(cond, 2, 0.5).dtype).toBe('float32');
    const h = tg.where(cond, tg.tensor([1, 2, 3, 4, 5], { dtype: 'float16' }), 3);
    expect(h.dtype).toBe('float16');
    const i = tg.tensor(new Int32Array([4, 5, 6, 7, 8]));
    const w = tg.where(cond, i, 2.5);
    expect(w.dtype).toBe('float32');
    expect(tg.where(cond, i, tg.tensor([1], { dtype: 'float64' })).dtype).toBe('float64');
    expect(tg.where(cond, tg.tensor([1], { dtype: 'float16' }), tg.tensor([1], { dtype: 'bfloat16' })).dtype).toBe('float32');
  });

  it('rejects a non-bool condition and shapes that do not broadcast', () => {
    expect(() => tg.where(tg.tensor([1, 0]) as tg.Tensor, 1, 2)).toThrow(TypeError);
    expect(() => tg.where(tg.gt(tg.zeros([3]), 0), tg.zeros([4]), 0)).toThrow(RangeError);
  });

  it('gradients flow to the chosen branch, summed over broadcasting', () => {
    const C = randomTensor([3, 1, 5], { seed: 4 });
    const cond = tg.gt(C.t, 0);
    gradcheckShapes((a, b) => tg.where(cond, a, b), [[4, 1], [5]], { seed: 1 });
    gradcheckShapes((a, b) => tg.where(cond, a, b), [[3, 4, 5], []], { seed: 2 });
    gradcheckShapes((a) => tg.where(cond, a, 0), [[1, 5]], { seed: 3 });
    gradcheckShapes((b) => tg.where(cond, 1.5, b), [[3, 1, 1]], { seed: 4 });
    const c2 = tg.gt(randomTensor([7], { seed: 5 }).t, 0);
    gradcheckShapes((a, b) => tg.where(c2, a, b), [[7], [7]], { seed: 5 });
  });
});

// ---------------------------------------------------------------- special values

describe('special values', () => {
  it('sigmoid, silu and softplus of large |x| have no NaN', () => {
    const xs = [-1e4, -1000, -100, -50, 50, 100, 1000, 1e4];
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
      const x = tg.tensor(dtype === 'float16' ? xs.map((v) => Math.sign(v) * Math.min(Math.abs(v), 6e4)) : xs, { dtype });
      const xv = Array.from(x.data());
      const s = tg.sigmoid(x).data();
      const si = tg.silu(x).data();
      const sp = tg.softplus(x).data();
      for (let i = 0; i < xv.length; i++) {
        expect(Number.isNaN(s[i]), `${dtype} sigmoid(${xv[i]})`).toBe(false);
        expect(Number.isNaN(si[i]), `${dtype} silu(${xv[i]})`).toBe(false);
        expect(Number.isNaN(sp[i]), `${dtype} softplus(${xv[i]})`).toBe(false);
      }
      expectClose(s, xv.map((v) => (v > 0 ? 1 : 0)), { atol: 1e-20, rtol: 0 });
      expectClose(si, xv.map((v) => (v > 0 ? v : 0)), { atol: 1e-20, rtol: 0 });
      expectClose(sp, xv.map((v) => (v > 0 ? v : 0)), { atol: 1e-20, rtol: 0 });
    }
    const g = tg.tensor([-1000, 1000], { dtype: 'float64', requiresGrad: true });
    tg.sigmoid(g).sum().backward();
    expectClose(g.grad!.data(), [0, 0], EXACT);
  });

  it('softplus returns x itself above the threshold', () => {
    const x = tg.tensor([20.5, 21, 35.25, 100, 1e6], { dtype: 'float64' });
    expect(Array.from(tg.softplus(x).data())).toEqual([20.5, 21, 35.25, 100, 1e6]);
    const y = tg.tensor([1.75, 2, 3.5], { dtype: 'float32' });
    // beta*x = 3.5, 4, 7 > threshold 3
    expect(Array.from(tg.softplus(y, { beta: 2, threshold: 3 }).data())).toEqual([1.75, 2, 3.5]);
    // just below it, the smooth formula
    const z = tg.tensor([1.4], { dtype: 'float64' });
    expectClose(tg.softplus(z, { beta: 2, threshold: 3 }).data(), [Math.log1p(Math.exp(2.8)) / 2], TOL.float64);
  });

  it('maximum and minimum propagate NaN from either side', () => {
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
      const a = tg.tensor([NaN, 1, NaN, 2, -Infinity], { dtype });
      const b = tg.tensor([1, NaN, NaN, -3, 5], { dtype });
      expectClose(tg.maximum(a, b).data(), [NaN, NaN, NaN, 2, 5], EXACT);
      expectClose(tg.minimum(a, b).data(), [NaN, NaN, NaN, -3, -Infinity], EXACT);
      expectClose(tg.maximum(a, 0).data(), [NaN, 1, NaN, 2, 0], EXACT);
      expectClose(tg.minimum(0, a).data(), [NaN, 0, NaN, 0, -Infinity], EXACT);
    }
  });

  it('clamp, relu and abs propagate NaN', () => {
    for (const dtype of ['float32', 'float64', 'float16'] as const) {
      const x = tg.tensor([NaN, -5, 5, NaN], { dtype });
      expectClose(tg.clamp(x, -1, 1).data(), [NaN, -1, 1, NaN], EXACT);
      expectClose(tg.clamp(x, -1).data(), [NaN, -1, 5, NaN], EXACT);
      expectClose(tg.clamp(x, null, 1).data(), [NaN, -5, 1, NaN], EXACT);
      expectClose(tg.relu(x).data(), [NaN, 0, 5, NaN], EXACT);
      expectClose(tg.abs(x).data(), [NaN, 5, 5, NaN], EXACT);
    }
  });

  it('infinities and domain edges follow IEEE', () => {
    const x = tg.tensor([0, -1, Infinity, -Infinity], { dtype: 'float64' });
    expectClose(tg.log(x).data(), [-Infinity, NaN, Infinity, NaN], EXACT);
    expectClose(tg.sqrt(x).data(), [0, NaN, Infinity, NaN], EXACT);
    expectClose(tg.rsqrt(x).data(), [Infinity, NaN, 0, NaN], EXACT);
    expectClose(tg.reciprocal(x).data(), [Infinity, -1, 0, -0], EXACT);
    expectClose(tg.exp(x).data(), [1, Math.exp(-1), Infinity, 0], TOL.float64);
    expectClose(tg.tanh(x).data(), [0, Math.tanh(-1), 1, -1], TOL.float64);
    expectClose(tg.erf(x).data(), [0, erfRef(-1), 1, -1], TOL.float64);
    expectClose(tg.log1p(tg.tensor([-1, -2], { dtype: 'float64' })).data(), [-Infinity, NaN], EXACT);
    expectClose(tg.exp(tg.tensor([100], { dtype: 'float32' })).data(), [Infinity], EXACT);
    expectClose(tg.div(tg.tensor([1, -1, 0]), 0).data(), [Infinity, -Infinity, NaN], EXACT);
  });
});

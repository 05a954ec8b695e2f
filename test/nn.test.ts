import { describe, expect, test } from 'vitest';
import * as tg from '../lib/index';
import { nn } from '../lib/index';
import { expectClose, numelOf, randomTensor, thrown } from './helpers';

const F = nn.functional;

class TwoLayer extends nn.Module {
  readonly fc1 = this.registerModule('fc1', new nn.Linear(4, 8));
  readonly act = this.registerModule('act', new nn.ReLU());
  readonly fc2 = this.registerModule('fc2', new nn.Linear(8, 3, { bias: false }));
  forward(x: tg.Tensor): tg.Tensor {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x)));
  }
}

/** A conv net with BatchNorm buffers, for state dicts and dtype moves. */
class Net extends nn.Module {
  readonly conv = this.registerModule('conv', new nn.Conv2d(2, 3, 3, { padding: 1 }));
  readonly bn = this.registerModule('bn', new nn.BatchNorm2d(3));
  readonly head = this.registerModule('head', new nn.Sequential(new nn.Flatten(), new nn.Linear(3 * 4 * 4, 2)));
  forward(x: tg.Tensor): tg.Tensor {
    return this.head.forward(this.bn.forward(this.conv.forward(x)).relu());
  }
}

function expectError(fn: () => unknown, cls: abstract new (...a: never[]) => Error, message: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.message).toBe(message);
}

const values = (t: tg.Tensor): number[] => Array.from(t.data());

/**
 * gradcheck of a float64 module with respect to its inputs and every parameter:
 * the parameters get random values and are swapped in through functionalCall.
 */
function gradcheckModule(
  m: nn.Module,
  inputShapes: ReadonlyArray<readonly number[]>,
  options: { seed?: number; extra?: unknown[]; before?: () => void; low?: number; high?: number } = {},
): void {
  const seed = options.seed ?? 3;
  const named = [...m.namedParameters()];
  const params = named.map(([, p], i) => randomTensor(p.shape, { seed: seed + 31 * i, low: -1.5, high: 1.5, requiresGrad: true }).t);
  const inputs = inputShapes.map(
    (s, i) => randomTensor(s, { seed: seed + 1000 + 17 * i, low: options.low, high: options.high, requiresGrad: true }).t,
  );
  const k = inputs.length;
  const fn = (...xs: tg.Tensor[]): tg.Tensor => {
    options.before?.();
    const swapped = Object.fromEntries(named.map(([name], i) => [name, xs[k + i]]));
    return nn.functionalCall(m, swapped, ...xs.slice(0, k), ...(options.extra ?? []));
  };
  expect(tg.testing.gradcheck(fn, [...inputs, ...params])).toBe(true);
}

// ---------------------------------------------------------------- plain JS references

interface ConvRefOptions {
  stride?: [number, number];
  pad?: [number, number];
  dil?: [number, number];
  groups?: number;
  out?: [number, number];
}

/** Direct convolution over NCHW; pad is the top/left padding (the output size implies the rest). */
function convRef(
  x: ArrayLike<number>, xs: readonly number[], k: ArrayLike<number>, ks: readonly number[], bias: ArrayLike<number> | null,
  { stride = [1, 1], pad = [0, 0], dil = [1, 1], groups = 1, out }: ConvRefOptions = {},
): { values: Float64Array; shape: number[] } {
  const [n, c, h, w] = xs;
  const [oc, cg, kh, kw] = ks;
  const oh = out?.[0] ?? Math.floor((h + 2 * pad[0] - dil[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = out?.[1] ?? Math.floor((w + 2 * pad[1] - dil[1] * (kw - 1) - 1) / stride[1]) + 1;
  const res = new Float64Array(n * oc * oh * ow);
  const perGroup = oc / groups;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < oc; o++) {
      const g = Math.floor(o / perGroup);
      for (let y = 0; y < oh; y++) {
        for (let xx = 0; xx < ow; xx++) {
          let s = bias ? bias[o] : 0;
          for (let ci = 0; ci < cg; ci++) {
            const ic = g * cg + ci;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * stride[0] - pad[0] + ky * dil[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * stride[1] - pad[1] + kx * dil[1];
                if (ix < 0 || ix >= w) continue;
                s += x[((b * c + ic) * h + iy) * w + ix] * k[((o * cg + ci) * kh + ky) * kw + kx];
              }
            }
          }
          res[((b * oc + o) * oh + y) * ow + xx] = s;
        }
      }
    }
  }
  return { values: res, shape: [n, oc, oh, ow] };
}

/** Per-channel (dim 1) mean and biased variance of [N, C, ...]. */
function channelStats(v: ArrayLike<number>, shape: readonly number[]): { mean: number[]; variance: number[]; count: number } {
  const c = shape[1];
  const inner = numelOf(shape.slice(2));
  const count = v.length / c;
  const mean = Array(c).fill(0);
  const sq = Array(c).fill(0);
  for (let i = 0; i < v.length; i++) mean[Math.floor(i / inner) % c] += v[i] / count;
  for (let i = 0; i < v.length; i++) sq[Math.floor(i / inner) % c] += (v[i] - mean[Math.floor(i / inner) % c]) ** 2 / count;
  return { mean, variance: sq, count };
}

/** (x - mean) / sqrt(var + eps) * w + b per channel. */
function affineRef(v: ArrayLike<number>, shape: readonly number[], mean: number[], variance: number[], w: ArrayLike<number>, b: ArrayLike<number>, eps: number): number[] {
  const inner = numelOf(shape.slice(2));
  return Array.from(v, (x, i) => {
    const ch = Math.floor(i / inner) % shape[1];
    return ((x - mean[ch]) / Math.sqrt(variance[ch] + eps)) * w[ch] + b[ch];
  });
}

/** Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

function std(v: ArrayLike<number>): { mean: number; std: number } {
  const a = Array.from(v);
  const m = a.reduce((s, x) => s + x, 0) / a.length;
  return { mean: m, std: Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length) };
}

// ---------------------------------------------------------------- Module

describe('Module', () => {
  test('the tree: parameters, buffers, children, modules, dotted lookups, apply and toString', () => {
    const m = new Net();
    expect([...m.namedParameters()].map(([k, t]) => [k, t.shape])).toEqual([
      ['conv.weight', [3, 2, 3, 3]],
      ['conv.bias', [3]],
      ['bn.weight', [3]],
      ['bn.bias', [3]],
      ['head.1.weight', [2, 48]],
      ['head.1.bias', [2]],
    ]);
    expect(m.parameters().every((p) => p.requiresGrad && p.isLeaf)).toBe(true);
    expect([...m.namedBuffers()].map(([k]) => k)).toEqual(['bn.runningMean', 'bn.runningVar', 'bn.numBatchesTracked']);
    expect(m.buffers().length).toBe(3);
    expect([...m.namedChildren()].map(([k]) => k)).toEqual(['conv', 'bn', 'head']);
    expect([...m.children()]).toEqual([m.conv, m.bn, m.head]);
    expect([...m.namedModules()].map(([k]) => k)).toEqual(['', 'conv', 'bn', 'head', 'head.0', 'head.1']);
    expect([...m.modules()].length).toBe(6);
    expect(m.getParameter('head.1.bias')).toBe((m.head.at(1) as nn.Linear).bias);
    expect(m.getBuffer('bn.runningVar')).toBe(m.bn.runningVar);
    expect(m.getSubmodule('head.0')).toBeInstanceOf(nn.Flatten);
    expectError(() => m.getParameter('head.2.weight'), RangeError, "getParameter: the module has no submodule 'head.2' (looking for 'head.2.weight')");
    expectError(() => m.getParameter('bn.runningMean'), RangeError, "getParameter: the module has no parameter 'bn.runningMean'");
    const visited: string[] = [];
    m.apply((x) => visited.push(x.constructor.name));
    expect(visited).toEqual(['Conv2d', 'BatchNorm2d', 'Flatten', 'Linear', 'Sequential', 'Net']);
    expect(m.toString()).toBe(
      [
        'Net(',
        '  (conv): Conv2d(2, 3, kernelSize=[3, 3], padding=1)',
        '  (bn): BatchNorm2d(3, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)',
        '  (head): Sequential(',
        '    (0): Flatten(startDim=1, endDim=-1)',
        '    (1): Linear(inFeatures=48, outFeatures=2, bias=true)',
        '  )',
        ')',
      ].join('\n'),
    );
  });

  test('registration rules: names, kinds, leaves; a tied weight is listed once', () => {
    class Tied extends nn.Module {
      readonly a = this.registerModule('a', new nn.Linear(3, 3));
      readonly b = this.registerModule('b', new nn.Linear(3, 3));
      constructor() {
        super();
        this.b.registerParameter('weight', this.a.weight);
      }
      forward(x: tg.Tensor): tg.Tensor {
        return this.b.forward(this.a.forward(x));
      }
    }
    const t = new Tied();
    expect([...t.namedParameters()].map(([k]) => k)).toEqual(['a.weight', 'a.bias', 'b.bias']);
    expect(Object.keys(t.stateDict())).toEqual(['a.weight', 'a.bias', 'b.weight', 'b.bias']);
    const m = new nn.Identity();
    expectError(() => m.registerParameter('a.b', tg.zeros([1])), RangeError,
      "registerParameter: Expected a non-empty name without dots for name but received 'a.b'");
    m.registerBuffer('scale', tg.ones([2]));
    expectError(() => m.registerParameter('scale', tg.zeros([1])), TypeError, "registerParameter: 'scale' is already registered as a buffer");
    const x = tg.ones([2], { requiresGrad: true });
    expectError(() => m.registerParameter('w', x.mul(2)), TypeError,
      'registerParameter: Expected a leaf tensor (detach() it first) for w but received a float32 tensor of shape [2]');
    expectError(() => m.registerParameter('w', tg.arange(3)), TypeError,
      'registerParameter: Expected a floating-point tensor for w but received a int32 tensor of shape [3]');
    m.registerBuffer('cache', tg.zeros([3]), { persistent: false });
    expect(Object.keys(m.stateDict())).toEqual(['scale']);
    expect(m.buffers().length).toBe(2);
  });

  test('train/eval reach every module; zeroGrad drops gradients', () => {
    const m = new Net();
    expect(m.training).toBe(true);
    m.eval();
    expect([...m.modules()].every((c) => !c.training)).toBe(true);
    m.train();
    expect([...m.modules()].every((c) => c.training)).toBe(true);
    const { t: x } = randomTensor([2, 2, 4, 4], { seed: 1, dtype: 'float32' });
    m.forward(x).sum().backward();
    expect(m.parameters().every((p) => p.grad !== null && p.grad.shape.join() === p.shape.join())).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  test('stateDict round trip (buffers included) into a fresh model; values copied, identity kept', () => {
    tg.manualSeed(1);
    const a = new Net();
    const { t: x } = randomTensor([3, 2, 4, 4], { seed: 3, dtype: 'float32' });
    for (let i = 0; i < 3; i++) a.forward(x.mul(i + 1)); // moves the running statistics
    tg.manualSeed(2);
    const b = new Net();
    a.eval();
    b.eval();
    expect(values(a.forward(x))).not.toEqual(values(b.forward(x)));
    const sd = a.stateDict();
    expect(Object.keys(sd)).toEqual([
      'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'bn.runningMean', 'bn.runningVar', 'bn.numBatchesTracked',
      'head.1.weight', 'head.1.bias',
    ]);
    expect(sd['conv.weight'].requiresGrad).toBe(false);
    expect(sd['bn.numBatchesTracked'].item()).toBe(3);
    const weightBefore = b.conv.weight;
    const result = b.loadStateDict(sd);
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.conv.weight).toBe(weightBefore);
    expect(b.conv.weight.requiresGrad).toBe(true);
    expect(values(b.forward(x))).toEqual(values(a.forward(x)));
    expect(values(b.bn.runningVar!)).toEqual(values(a.bn.runningVar!));
    expect(b.bn.numBatchesTracked!.item()).toBe(3);
    // the state dict shares storage with the model: it is a view, not a snapshot
    nn.init.constant_(a.conv.bias!, 0.25);
    expect(values(sd['conv.bias'])).toEqual([0.25, 0.25, 0.25]);
  });

  test('loadStateDict lists missing keys, unexpected keys and shape mismatches in one error', () => {
    const a = new TwoLayer();
    const b = new TwoLayer();
    const before = values(b.fc1.weight);
    const partial: Record<string, tg.Tensor> = { ...a.stateDict() };
    delete partial['fc2.weight'];
    partial['extra'] = tg.zeros([1]);
    partial['fc1.bias'] = tg.zeros([7]);
    expectError(() => b.loadStateDict(partial), nn.StateDictError,
      'loadStateDict: the state dict does not fit the model: missing keys [fc2.weight]; unexpected keys [extra]; ' +
        'shape mismatches [fc1.bias is [7] in the state dict but [8] in the model]');
    expect(values(b.fc1.weight)).toEqual(before); // nothing was copied
    expectError(() => b.loadStateDict(partial, { strict: false }), nn.StateDictError,
      'loadStateDict: the state dict does not fit the model: shape mismatches [fc1.bias is [7] in the state dict but [8] in the model]');
    partial['fc1.bias'] = a.stateDict()['fc1.bias'];
    expect(b.loadStateDict(partial, { strict: false })).toEqual({ missingKeys: ['fc2.weight'], unexpectedKeys: ['extra'] });
    expect(values(b.fc1.weight)).toEqual(values(a.fc1.weight));
    expectError(() => b.loadStateDict({ ...a.stateDict(), 'fc1.bias': 3 as unknown as tg.Tensor }), TypeError,
      'loadStateDict: Expected a Tensor for fc1.bias but received 3');
    // a float64 state dict loads into float32 parameters, converted
    const sd64 = Object.fromEntries(Object.entries(a.stateDict()).map(([k, v]) => [k, v.double()]));
    b.loadStateDict(sd64);
    expect(b.fc1.weight.dtype).toBe('float32');
    expect(values(b.fc2.weight)).toEqual(values(a.fc2.weight));
  });

  test('requiresGrad_(false) freezes a submodule; requiresGrad_() thaws it', () => {
    const m = new TwoLayer();
    m.fc1.requiresGrad_(false);
    expect(m.fc1.parameters().every((p) => !p.requiresGrad)).toBe(true);
    const { t: x } = randomTensor([2, 4], { seed: 4, dtype: 'float32' });
    m.forward(x).sum().backward();
    expect(m.fc1.weight.grad).toBeNull();
    expect(m.fc1.bias!.grad).toBeNull();
    expect(m.fc2.weight.grad).not.toBeNull();
    m.zeroGrad();
    m.requiresGrad_();
    m.forward(x).sum().backward();
    expect(m.fc1.weight.grad).not.toBeNull();
  });

  test('to(dtype) converts floating parameters, buffers and gradients in place', () => {
    const m = new Net();
    const { t: x } = randomTensor([2, 2, 4, 4], { seed: 5, dtype: 'float32' });
    m.forward(x).sum().backward();
    m.eval();
    const y32 = values(m.forward(x));
    const w = m.conv.weight;
    m.to('float64');
    expect(m.conv.weight).toBe(w); // same object: optimizers and fields keep working
    expect(w.dtype).toBe('float64');
    expect(w.requiresGrad && w.isLeaf).toBe(true);
    expect(w.grad!.dtype).toBe('float64');
    expect(m.parameters().every((p) => p.dtype === 'float64')).toBe(true);
    expect(m.bn.runningMean!.dtype).toBe('float64');
    expect(m.bn.numBatchesTracked!.dtype).toBe('int32');
    const y64 = m.forward(x.double());
    expect(y64.dtype).toBe('float64');
    expectClose(y64.data(), y32, { atol: 1e-5 });
    m.to('float32');
    expect(w.dtype).toBe('float32');
    expectError(() => m.to('int32'), TypeError, "to: Expected a floating-point dtype or a device for target but received 'int32'");
  });

  test('functionalCall runs forward with swapped tensors and restores them', () => {
    const m = new TwoLayer();
    const { t: x } = randomTensor([3, 4], { seed: 6, dtype: 'float32' });
    const w = tg.randn([3, 8], { seed: 1 });
    const swapped = nn.functionalCall(m, { 'fc2.weight': w }, x);
    const ref = x.matmul(m.fc1.weight.T).add(m.fc1.bias!).relu().matmul(w.T);
    expectClose(swapped.data(), ref.data(), { atol: 1e-5 });
    expect(m.fc2.weight).not.toBe(w);
    expectError(() => nn.functionalCall(m, { 'fc3.weight': w }, x), RangeError, "functionalCall: the module has no parameter or buffer 'fc3.weight'");
    expect(values(m.forward(x))).toEqual(values(x.matmul(m.fc1.weight.T).add(m.fc1.bias!).relu().matmul(m.fc2.weight.T)));
  });

  test('Sequential and ModuleList', () => {
    const seq = new nn.Sequential(new nn.Linear(4, 6), new nn.Tanh(), new nn.Linear(6, 2), new nn.LogSoftmax(1));
    expect([...seq.namedParameters()].map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(seq.length).toBe(4);
    expect(seq.at(-1)).toBeInstanceOf(nn.LogSoftmax);
    const { t: x } = randomTensor([3, 4], { seed: 5, dtype: 'float32' });
    const l0 = seq.at(0) as nn.Linear;
    const l2 = seq.at(2) as nn.Linear;
    const ref = x.matmul(l0.weight.T).add(l0.bias!).tanh().matmul(l2.weight.T).add(l2.bias!).logSoftmax(1);
    expectClose(seq.forward(x).data(), ref.data(), { atol: 1e-6 });
    expectError(() => seq.at(4), RangeError, 'Sequential.at: index 4 is out of range for 4 layers');
    expectError(() => new nn.Sequential(new nn.ReLU(), 3 as unknown as nn.Module), TypeError,
      'Sequential: Expected a Module for layers[1] but received 3');
    const s64 = new nn.Sequential(new nn.Linear(3, 2, { dtype: 'float64' }), new nn.SiLU(), new nn.Linear(2, 1, { dtype: 'float64' }));
    gradcheckModule(s64, [[2, 3]]);
    const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 3)]);
    list.append(new nn.ReLU());
    expect([...list].length).toBe(3);
    expect(list.parameters().length).toBe(4);
    expect([...list.namedParameters()].map(([k]) => k)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expectError(() => list.forward(), TypeError, 'ModuleList: a ModuleList has no forward(); call the modules it holds');
  });
});

// ---------------------------------------------------------------- layers

describe('Linear and convolutions', () => {
  test('Linear: PyTorch default init bounds, x W^T + b, gradients', () => {
    const l = new nn.Linear(200, 100);
    const bound = 1 / Math.sqrt(200);
    const w = values(l.weight);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(bound * 0.99);
    expect(Math.abs(std(w).std - bound / Math.sqrt(3))).toBeLessThan(0.02 * bound);
    const b = values(l.bias!);
    expect(b.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(Math.max(...b.map(Math.abs))).toBeGreaterThan(bound * 0.8);

    const small = new nn.Linear(5, 3, { dtype: 'float64' });
    const { t: x, v: xv } = randomTensor([2, 1, 5], { seed: 6 });
    const wv = small.weight.data();
    const bv = small.bias!.data();
    const ref = Array.from({ length: 6 }, (_, i) => {
      const r = Math.floor(i / 3);
      const o = i % 3;
      let s = bv[o];
      for (let k = 0; k < 5; k++) s += xv[r * 5 + k] * wv[o * 5 + k];
      return s;
    });
    const y = small.forward(x);
    expect(y.shape).toEqual([2, 1, 3]);
    expectClose(y.data(), ref, { atol: 1e-12 });
    gradcheckModule(small, [[3, 1, 5]]);
    gradcheckModule(new nn.Linear(1, 2, { dtype: 'float64', bias: false }), [[3, 1]]);
    expectError(() => new nn.Linear(0, 3), RangeError, 'Linear: Expected a positive integer for inFeatures but received 0');
    expectError(() => new nn.Linear(2, 3, { bias: 1 as unknown as boolean }), TypeError, 'Linear: Expected a boolean for bias but received 1');
  });

  test('Conv2d: default init with groups, forward against a direct convolution for each option', () => {
    const big = new nn.Conv2d(16, 64, 3, { groups: 4 });
    expect(big.weight.shape).toEqual([64, 4, 3, 3]);
    const bound = 1 / Math.sqrt(4 * 9);
    const w = values(big.weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.abs(std(w).std - bound / Math.sqrt(3))).toBeLessThan(0.05 * bound);
    expect(values(big.bias!).every((v) => Math.abs(v) <= bound)).toBe(true);

    const cases: Array<{ opts: tg.Conv2dOptions & { bias?: boolean }; k: [number, number]; ref: ConvRefOptions; x: number[] }> = [
      { opts: {}, k: [3, 3], ref: {}, x: [2, 4, 5, 6] },
      { opts: { stride: 2, padding: 1 }, k: [3, 2], ref: { stride: [2, 2], pad: [1, 1] }, x: [1, 4, 7, 5] },
      { opts: { dilation: [2, 1], padding: [2, 0], bias: false }, k: [2, 3], ref: { dil: [2, 1], pad: [2, 0] }, x: [2, 4, 5, 5] },
      { opts: { groups: 2, stride: [1, 2] }, k: [1, 3], ref: { groups: 2, stride: [1, 2] }, x: [1, 4, 3, 7] },
      { opts: { padding: 'same' }, k: [4, 3], ref: { pad: [1, 1], out: [5, 6] }, x: [1, 4, 5, 6] },
      { opts: { padding: 'valid', dilation: 2 }, k: [2, 2], ref: { dil: [2, 2] }, x: [1, 4, 5, 6] },
    ];
    cases.forEach(({ opts, k, ref, x: xs }, i) => {
      const conv = new nn.Conv2d(4, 6, k, { ...opts, dtype: 'float64' });
      const { t: x, v: xv } = randomTensor(xs, { seed: 20 + i });
      const y = conv.forward(x);
      const expectedOut = convRef(xv, xs, conv.weight.data(), conv.weight.shape, conv.bias ? conv.bias.data() : null, ref);
      expect(y.shape).toEqual(expectedOut.shape);
      expectClose(y.data(), expectedOut.values, { atol: 1e-12 });
    });
    expectError(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), RangeError, 'Conv2d: inChannels 3 is not divisible by groups 2');
    expectError(() => new nn.Conv2d(4, 6, [3, 0]), RangeError, 'Conv2d: Expected a positive integer for kernelSize[1] but received 0');
    expectError(() => new nn.Conv2d(4, 6, 3, { padding: 'same', stride: 2 }).forward(tg.ones([1, 4, 5, 5])), RangeError,
      "conv2d: padding 'same' is not supported for strided convolutions (stride 2x2)");
  });

  test('Conv2d and Conv1d gradients (input, weight, bias), odd and size-1 dims', () => {
    gradcheckModule(new nn.Conv2d(2, 3, [2, 3], { dtype: 'float64', padding: 1, stride: [2, 1] }), [[2, 2, 3, 4]]);
    gradcheckModule(new nn.Conv2d(4, 2, 1, { dtype: 'float64', groups: 2, bias: false }), [[1, 4, 1, 3]]);
    gradcheckModule(new nn.Conv2d(1, 2, 2, { dtype: 'float64', padding: 'same', dilation: 2 }), [[1, 1, 3, 3]]);
    gradcheckModule(new nn.Conv1d(3, 2, 3, { dtype: 'float64', padding: 'same', dilation: 2 }), [[2, 3, 5]]);
    gradcheckModule(new nn.Conv1d(2, 4, 2, { dtype: 'float64', stride: 2, groups: 2 }), [[1, 2, 7]]);
  });

  test('Conv1d against a direct convolution, unbatched input too', () => {
    const conv = new nn.Conv1d(3, 4, 3, { dtype: 'float64', padding: 2, dilation: 2 });
    expect(conv.weight.shape).toEqual([4, 3, 3]);
    const { t: x, v: xv } = randomTensor([2, 3, 6], { seed: 30 });
    const w = conv.weight;
    const ref = convRef(xv, [2, 3, 1, 6], w.data(), [4, 3, 1, 3], conv.bias!.data(), { pad: [0, 2], dil: [1, 2] });
    const y = conv.forward(x);
    expect(y.shape).toEqual([2, 4, 6]);
    expectClose(y.data(), ref.values, { atol: 1e-12 });
    const one = conv.forward(x.narrow(0, 1, 1).reshape([3, 6]));
    expect(one.shape).toEqual([4, 6]);
    expectClose(one.data(), ref.values.slice(24), { atol: 1e-12 });
    const bound = 1 / Math.sqrt(9);
    expect(values(conv.weight).every((v) => Math.abs(v) <= bound)).toBe(true);
  });
});

describe('pooling layers', () => {
  test('MaxPool2d, AvgPool2d and AdaptiveAvgPool2d against direct loops, and their gradients', () => {
    const { t: x, v } = randomTensor([2, 3, 5, 7], { seed: 40 });
    const at = (n: number, c: number, i: number, j: number): number => v[((n * 3 + c) * 5 + i) * 7 + j];
    const mp = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    const ap = new nn.AvgPool2d([2, 3], { stride: [2, 2] });
    const ad = new nn.AdaptiveAvgPool2d([2, 3]);
    const maxRef: number[] = [];
    const avgRef: number[] = [];
    const adRef: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < 3; i++) {
          for (let j = 0; j < 4; j++) {
            let m = -Infinity;
            for (let a = i * 2 - 1; a <= i * 2 + 1; a++) for (let b = j * 2 - 1; b <= j * 2 + 1; b++) {
              if (a >= 0 && a < 5 && b >= 0 && b < 7) m = Math.max(m, at(n, c, a, b));
            }
            maxRef.push(m);
          }
        }
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 3; j++) {
            let s = 0;
            for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) s += at(n, c, 2 * i + a, 2 * j + b);
            avgRef.push(s / 6);
          }
        }
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 3; j++) {
            const [h0, h1] = [Math.floor((i * 5) / 2), Math.ceil(((i + 1) * 5) / 2)];
            const [w0, w1] = [Math.floor((j * 7) / 3), Math.ceil(((j + 1) * 7) / 3)];
            let s = 0;
            for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) s += at(n, c, a, b);
            adRef.push(s / ((h1 - h0) * (w1 - w0)));
          }
        }
      }
    }
    const ym = mp.forward(x);
    expect(ym.shape).toEqual([2, 3, 3, 4]);
    expectClose(ym.data(), maxRef, { atol: 0 });
    expectClose(ap.forward(x).data(), avgRef, { atol: 1e-12 });
    expectClose(ad.forward(x).data(), adRef, { atol: 1e-12 });
    expect(mp.toString()).toBe('MaxPool2d(kernelSize=3, stride=2, padding=1)');
    gradcheckModule(new nn.MaxPool2d(2, { ceilMode: true }), [[1, 2, 3, 5]]);
    gradcheckModule(new nn.AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }), [[2, 1, 3, 4]]);
    gradcheckModule(new nn.AdaptiveAvgPool2d([2, null]), [[1, 3, 5, 1]]);
    expectError(() => mp.forward(tg.ones([4, 4])), RangeError,
      'maxPool2d: Expected a 3-D (unbatched) or 4-D (batched) tensor for input but received a float32 tensor of shape [4,4]');
  });
});

describe('normalization layers', () => {
  test('BatchNorm2d: training output, running statistics after several steps, eval output', () => {
    const eps = 1e-3;
    const bn = new nn.BatchNorm2d(3, { dtype: 'float64', momentum: 0.3, eps });
    const { t: w, v: wv } = randomTensor([3], { seed: 50, low: 0.5, high: 2 });
    const { t: b, v: bv } = randomTensor([3], { seed: 51 });
    bn.loadStateDict({ ...bn.stateDict(), weight: w, bias: b });
    let rm = [0, 0, 0];
    let rv = [1, 1, 1];
    const shape = [4, 3, 2, 5];
    for (let step = 0; step < 3; step++) {
      const { t: x, v } = randomTensor(shape, { seed: 52 + step, low: -1 + step, high: 3 + 2 * step });
      const y = bn.forward(x);
      const s = channelStats(v, shape);
      expectClose(y.data(), affineRef(v, shape, s.mean, s.variance, wv, bv, eps), { atol: 1e-10 });
      rm = rm.map((r, c) => 0.7 * r + 0.3 * s.mean[c]);
      rv = rv.map((r, c) => 0.7 * r + 0.3 * s.variance[c] * (s.count / (s.count - 1)));
      expectClose(bn.runningMean!.data(), rm, { atol: 1e-12 });
      expectClose(bn.runningVar!.data(), rv, { atol: 1e-12 });
    }
    expect(bn.numBatchesTracked!.item()).toBe(3);
    bn.eval();
    const { t: x, v } = randomTensor([2, 3, 1, 3], { seed: 60 });
    expectClose(bn.forward(x).data(), affineRef(v, [2, 3, 1, 3], rm, rv, wv, bv, eps), { atol: 1e-12 });
    expect(bn.numBatchesTracked!.item()).toBe(3); // eval does not update
    expectClose(bn.runningMean!.data(), rm, { atol: 1e-12 });
    gradcheckModule(bn, [[2, 3, 1, 3]]);
    bn.train();
    gradcheckModule(bn, [[3, 3, 2, 1]]);
    expectError(() => bn.forward(tg.ones([2, 3], { dtype: 'float64' })), RangeError,
      'BatchNorm2d: Expected a 4-D tensor with 3 channels in dim 1 for input but received a float64 tensor of shape [2,3]');
  });

  test('BatchNorm1d: [N, C] and [N, C, L], cumulative momentum, no running stats, no affine', () => {
    const bn = new nn.BatchNorm1d(4, { dtype: 'float64', momentum: null });
    const seen: number[][] = [];
    for (let step = 0; step < 3; step++) {
      const { t: x, v } = randomTensor([5, 4, 3], { seed: 70 + step, low: step, high: 2 + step });
      bn.forward(x);
      seen.push(channelStats(v, [5, 4, 3]).mean);
    }
    // momentum null: the running mean is the plain average of the batch means
    expectClose(bn.runningMean!.data(), [0, 1, 2, 3].map((c) => (seen[0][c] + seen[1][c] + seen[2][c]) / 3), { atol: 1e-12 });
    gradcheckModule(bn, [[5, 4]]);
    gradcheckModule(bn, [[2, 4, 1]]);

    const free = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false, dtype: 'float64' });
    expect(free.parameters().length).toBe(0);
    expect(Object.keys(free.stateDict())).toEqual([]);
    free.eval();
    const { t: x, v } = randomTensor([3, 2], { seed: 80 });
    const s = channelStats(v, [3, 2]);
    expectClose(free.forward(x).data(), affineRef(v, [3, 2], s.mean, s.variance, [1, 1], [0, 0], 1e-5), { atol: 1e-12 });
    gradcheckModule(free, [[3, 2]]);
    expectError(() => new nn.BatchNorm1d(4, { dtype: 'float64' }).forward(tg.ones([1, 4], { dtype: 'float64' })), RangeError,
      'BatchNorm1d: Expected more than one value per channel when training for input but received a float64 tensor of shape [1,4]');
    expectError(() => new nn.BatchNorm1d(4, { momentum: 2 }), RangeError, 'BatchNorm1d: Expected a number in [0, 1] or null for momentum but received 2');
  });

  test('functional batchNorm updates the given running statistics in place', () => {
    const { t: x, v } = randomTensor([6, 2], { seed: 81 });
    const rm = tg.zeros([2], { dtype: 'float64' });
    const rv = tg.ones([2], { dtype: 'float64' });
    F.batchNorm(x, rm, rv, { training: true, momentum: 0.5 });
    const s = channelStats(v, [6, 2]);
    expectClose(rm.data(), s.mean.map((m) => 0.5 * m), { atol: 1e-12 });
    expectClose(rv.data(), s.variance.map((q) => 0.5 + 0.5 * q * 6 / 5), { atol: 1e-12 });
    expectError(() => F.batchNorm(x, null, null), TypeError,
      'batchNorm: running statistics are needed when not training (pass runningMean and runningVar, or training: true)');
  });

  test('LayerNorm over trailing dims with a random affine, and its gradients', () => {
    const ln = new nn.LayerNorm([3, 4], { dtype: 'float64', eps: 1e-4 });
    expect(values(ln.weight!)).toEqual(Array(12).fill(1));
    expect(values(ln.bias!)).toEqual(Array(12).fill(0));
    const { t: w, v: wv } = randomTensor([3, 4], { seed: 90 });
    const { t: b, v: bv } = randomTensor([3, 4], { seed: 91 });
    ln.loadStateDict({ weight: w, bias: b });
    const { t: x, v } = randomTensor([2, 3, 4], { seed: 92, low: -3, high: 5 });
    const ref: number[] = [];
    for (let r = 0; r < 2; r++) {
      const row = Array.from(v.slice(r * 12, r * 12 + 12));
      const m = row.reduce((a, c) => a + c, 0) / 12;
      const q = row.reduce((a, c) => a + (c - m) ** 2, 0) / 12;
      row.forEach((c, i) => ref.push(((c - m) / Math.sqrt(q + 1e-4)) * wv[i] + bv[i]));
    }
    expectClose(ln.forward(x).data(), ref, { atol: 1e-12 });
    gradcheckModule(ln, [[2, 1, 3, 4]]);
    const plain = new nn.LayerNorm(5, { elementwiseAffine: false, dtype: 'float64' });
    expect(plain.parameters().length).toBe(0);
    gradcheckModule(plain, [[3, 5]]);
    gradcheckModule(new nn.LayerNorm(1, { dtype: 'float64' }), [[3, 1]]);
    expectError(() => ln.forward(tg.ones([2, 3, 5])), RangeError, 'layerNorm: input shape [2,3,5] does not end with the normalized shape [3,4]');
  });

  test('GroupNorm against a direct computation, and its gradients', () => {
    const gn = new nn.GroupNorm(2, 6, { dtype: 'float64' });
    const { t: w, v: wv } = randomTensor([6], { seed: 100 });
    const { t: b, v: bv } = randomTensor([6], { seed: 101 });
    gn.loadStateDict({ weight: w, bias: b });
    const shape = [3, 6, 5];
    const { t: x, v } = randomTensor(shape, { seed: 102, low: -1, high: 4 });
    const ref = new Float64Array(v.length);
    for (let n = 0; n < 3; n++) {
      for (let g = 0; g < 2; g++) {
        const start = n * 30 + g * 15;
        const chunk = Array.from(v.slice(start, start + 15));
        const m = chunk.reduce((a, c) => a + c, 0) / 15;
        const q = chunk.reduce((a, c) => a + (c - m) ** 2, 0) / 15;
        chunk.forEach((c, i) => {
          const ch = g * 3 + Math.floor(i / 5);
          ref[start + i] = ((c - m) / Math.sqrt(q + 1e-5)) * wv[ch] + bv[ch];
        });
      }
    }
    expectClose(gn.forward(x).data(), ref, { atol: 1e-12 });
    gradcheckModule(gn, [[2, 6, 1]]);
    gradcheckModule(new nn.GroupNorm(1, 3, { dtype: 'float64', affine: false }), [[1, 3, 2, 3]]);
    expectError(() => new nn.GroupNorm(4, 6), RangeError, 'GroupNorm: numChannels 6 is not divisible by numGroups 4');
    expectError(() => gn.forward(tg.ones([2, 4, 3])), RangeError,
      'GroupNorm: Expected a tensor with 6 channels in dim 1 for input but received a float32 tensor of shape [2,4,3]');
  });
});

describe('Dropout, DropPath, Embedding and the shape layers', () => {
  test('Dropout drops about p, scales the rest, follows the global generator and is the identity in eval', () => {
    const d = new nn.Dropout(0.25);
    const { t: x, v } = randomTensor([200, 100], { seed: 110, low: 0.5, high: 2, dtype: 'float32' });
    tg.manualSeed(7);
    const y = values(d.forward(x));
    const dropped = y.filter((q) => q === 0).length;
    expect(Math.abs(dropped / y.length - 0.25)).toBeLessThan(0.015);
    expect(y.every((q, i) => q === 0 || Math.abs(q - v[i] / 0.75) < 1e-5)).toBe(true);
    tg.manualSeed(7);
    expect(values(d.forward(x))).toEqual(y);
    expect(values(d.forward(x))).not.toEqual(y);
    d.eval();
    expect(d.forward(x)).toBe(x);
    d.train();
    // the gradient is the mask, scaled
    const { t: leaf } = randomTensor([6, 7], { seed: 111, requiresGrad: true });
    const out = d.forward(leaf);
    out.sum().backward();
    expectClose(leaf.grad!.data(), values(out).map((q, i) => (q === 0 ? 0 : 1 / 0.75)), { atol: 1e-12 });
    gradcheckModule(new nn.Dropout(0.4), [[3, 1, 5]], { before: () => tg.manualSeed(3) });
    expect(F.dropout(x, 0)).toBe(x);
    expect(values(F.dropout(x, 1)).every((q) => q === 0)).toBe(true);
    expect(values(F.dropout(x, 0.5, { seed: 4 }))).toEqual(values(F.dropout(x, 0.5, { seed: 4 })));
    expect(F.dropout(x, 0.5, { training: false })).toBe(x);
    expectError(() => new nn.Dropout(1.5), RangeError, 'Dropout: Expected a probability in [0, 1] for p but received 1.5');
    expectError(() => F.dropout(tg.arange(3), 0.5), TypeError, 'dropout: Expected a floating-point tensor for input but received a int32 tensor of shape [3]');
  });

  test('DropPath drops whole samples in training and nothing in eval', () => {
    const dp = new nn.DropPath(0.5);
    const { t: x, v } = randomTensor([400, 3, 2], { seed: 120, low: 1, high: 2, dtype: 'float32' });
    const z = values(dp.forward(x));
    let kept = 0;
    for (let i = 0; i < 400; i++) {
      const row = z.slice(i * 6, i * 6 + 6);
      const isKept = row[0] !== 0;
      if (isKept) kept++;
      row.forEach((q, j) => expect(isKept ? Math.abs(q - 2 * v[i * 6 + j]) < 1e-5 : q === 0).toBe(true));
    }
    expect(Math.abs(kept / 400 - 0.5)).toBeLessThan(0.1);
    gradcheckModule(new nn.DropPath(0.3), [[5, 2, 1]], { before: () => tg.manualSeed(11) });
    dp.eval();
    expect(dp.forward(x)).toBe(x);
  });

  test('Embedding: N(0, 1) init, lookups, the padding row and its missing gradient', () => {
    const big = new nn.Embedding(300, 50);
    const s = std(big.weight.data());
    expect(Math.abs(s.mean)).toBeLessThan(0.03);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.03);

    const e = new nn.Embedding(6, 3, { paddingIdx: -4, dtype: 'float64' });
    expect(e.paddingIdx).toBe(2);
    const w = e.weight.data();
    expect(Array.from(w.slice(6, 9))).toEqual([0, 0, 0]);
    const idx = tg.tensor([[1, 2], [5, 1]], { dtype: 'int32' });
    const out = e.forward(idx);
    expect(out.shape).toEqual([2, 2, 3]);
    expectClose(out.data(), [1, 2, 5, 1].flatMap((r) => Array.from(w.slice(r * 3, r * 3 + 3))), { atol: 0 });
    const { t: g } = randomTensor([2, 2, 3], { seed: 130 });
    out.backward(g);
    const gv = g.data();
    const expectedGrad = Array(18).fill(0);
    [1, 2, 5, 1].forEach((r, p) => {
      if (r !== 2) for (let j = 0; j < 3; j++) expectedGrad[r * 3 + j] += gv[p * 3 + j];
    });
    expectClose(e.weight.grad!.data(), expectedGrad, { atol: 1e-12 });
    // a padding row set by hand is looked up as stored (only its gradient is cut), as in PyTorch
    e.loadStateDict({ weight: tg.full([6, 3], 0.5, { dtype: 'float64' }) });
    expect(values(e.forward(tg.tensor([2], { dtype: 'int32' })))).toEqual([0.5, 0.5, 0.5]);

    const plain = new nn.Embedding(5, 2, { dtype: 'float64' });
    gradcheckModule(plain, [], { extra: [tg.tensor([[4, 0, 4], [1, 1, 3]], { dtype: 'int32' })] });
    const pre = nn.Embedding.fromPretrained(tg.tensor([[1, 2], [3, 4]]));
    expect(pre.weight.requiresGrad).toBe(false);
    expect(values(pre.forward(tg.tensor([1, 0, 1], { dtype: 'int32' })))).toEqual([3, 4, 1, 2, 3, 4]);
    expectError(() => e.forward(tg.tensor([6, 0], { dtype: 'int32' })), RangeError, 'embedding: index 6 is out of range for 6 embeddings');
    expectError(() => e.forward(tg.tensor([1, 0])), TypeError,
      'embedding: Expected an int32 tensor of indices for input but received a float32 tensor of shape [2]');
    expectError(() => new nn.Embedding(4, 2, { paddingIdx: 4 }), RangeError, 'Embedding: Expected an index in [-4, 3] for paddingIdx but received 4');
  });

  test('Flatten and Identity', () => {
    const { t: x, v } = randomTensor([2, 3, 1, 4], { seed: 140 });
    expect(new nn.Flatten().forward(x).shape).toEqual([2, 12]);
    expect(new nn.Flatten(0, 2).forward(x).shape).toEqual([6, 4]);
    expect(values(new nn.Flatten().forward(x))).toEqual(Array.from(v));
    expect(new nn.Identity().forward(x)).toBe(x);
    gradcheckModule(new nn.Flatten(1, 2), [[2, 3, 1, 2]]);
  });
});

describe('activation modules', () => {
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  const cases: Array<[string, nn.Module, (x: number) => number]> = [
    ['ReLU', new nn.ReLU(), (x) => Math.max(x, 0)],
    ['LeakyReLU', new nn.LeakyReLU(0.2), (x) => (x > 0 ? x : 0.2 * x)],
    ['ELU', new nn.ELU(0.7), (x) => (x > 0 ? x : 0.7 * (Math.exp(x) - 1))],
    ['GELU', new nn.GELU(), (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
    ['GELU tanh', new nn.GELU({ approximate: 'tanh' }), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))],
    ['SiLU', new nn.SiLU(), (x) => x * sig(x)],
    ['Sigmoid', new nn.Sigmoid(), sig],
    ['Tanh', new nn.Tanh(), Math.tanh],
    ['Softplus', new nn.Softplus({ beta: 2, threshold: 3 }), (x) => (2 * x > 3 ? x : Math.log1p(Math.exp(2 * x)) / 2)],
  ];
  for (const [name, m, ref] of cases) {
    test(`${name} matches its formula and differentiates`, () => {
      const { t: x, v } = randomTensor([3, 1, 5], { seed: 150, low: -3, high: 3 });
      expectClose(m.forward(x).data(), Array.from(v, ref), { atol: 1e-6 });
      gradcheckModule(m, [[2, 3, 1]], { low: -3, high: 3 });
    });
  }

  test('Softmax and LogSoftmax over a dim', () => {
    const { t: x, v } = randomTensor([2, 3], { seed: 160, low: -4, high: 4 });
    const ref: number[] = [];
    for (let r = 0; r < 2; r++) {
      const row = Array.from(v.slice(r * 3, r * 3 + 3));
      const z = row.reduce((a, c) => a + Math.exp(c), 0);
      row.forEach((c) => ref.push(Math.exp(c) / z));
    }
    expectClose(new nn.Softmax(1).forward(x).data(), ref, { atol: 1e-12 });
    expectClose(new nn.LogSoftmax(-1).forward(x).data(), ref.map(Math.log), { atol: 1e-12 });
    gradcheckModule(new nn.Softmax(0), [[3, 2]]);
    gradcheckModule(new nn.LogSoftmax(1), [[1, 4]]);
    expectError(() => new nn.Softmax(0.5), RangeError, 'Softmax: Expected an integer for dim but received 0.5');
    expectError(() => new nn.GELU({ approximate: 'fast' as 'tanh' }), TypeError, "GELU: Expected 'none' or 'tanh' for approximate but received 'fast'");
  });
});

describe('nn.init', () => {
  test('each initializer follows its published bounds and statistics', () => {
    const w = tg.zeros([256, 128]);
    nn.init.kaimingUniform_(w, { nonlinearity: 'relu', seed: 3 });
    let bound = Math.SQRT2 * Math.sqrt(3 / 128);
    let v = values(w);
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...v)).toBeGreaterThan(bound * 0.99);
    nn.init.kaimingUniform_(w, { mode: 'fanOut', seed: 3 });
    bound = Math.SQRT2 * Math.sqrt(3 / 256);
    v = values(w);
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...v)).toBeGreaterThan(bound * 0.99);
    nn.init.kaimingNormal_(w, { nonlinearity: 'leakyRelu', a: 0.3, seed: 4 });
    expect(Math.abs(std(w.data()).std - Math.sqrt(2 / 1.09) / Math.sqrt(128))).toBeLessThan(0.002);
    nn.init.xavierUniform_(w, { gain: 2, seed: 5 });
    bound = 2 * Math.sqrt(6 / 384);
    v = values(w);
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...v)).toBeGreaterThan(bound * 0.99);
    nn.init.xavierNormal_(w, { seed: 6 });
    expect(Math.abs(std(w.data()).std - Math.sqrt(2 / 384))).toBeLessThan(0.002);
    nn.init.uniform_(w, -3, -1, { seed: 7 });
    v = values(w);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...v)).toBeLessThan(-1);
    expect(Math.abs(std(v).mean + 2)).toBeLessThan(0.01);
    nn.init.normal_(w, 1.5, 0.25, { seed: 8 });
    const s = std(w.data());
    expect(Math.abs(s.mean - 1.5)).toBeLessThan(0.005);
    expect(Math.abs(s.std - 0.25)).toBeLessThan(0.005);
    const conv = tg.zeros([8, 4, 3, 3]);
    nn.init.kaimingUniform_(conv, { seed: 9 });
    expect(Math.max(...values(conv).map(Math.abs))).toBeLessThanOrEqual(Math.SQRT2 * Math.sqrt(3 / 36));
    nn.init.constant_(conv, -0.5);
    expect(values(conv).every((q) => q === -0.5)).toBe(true);
    nn.init.ones_(conv);
    expect(conv.sum().item()).toBe(288);
    nn.init.zeros_(conv);
    expect(conv.abs().sum().item()).toBe(0);
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(nn.init.calculateGain('leakyRelu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
  });

  test('seeded calls repeat, global-generator calls follow manualSeed, parameters keep their identity', () => {
    const a = tg.zeros([64]);
    const b = tg.zeros([64]);
    nn.init.normal_(a, 0, 1, { seed: 4 });
    nn.init.normal_(b, 0, 1, { seed: 4 });
    expect(values(a)).toEqual(values(b));
    tg.manualSeed(5);
    nn.init.uniform_(a);
    nn.init.uniform_(b);
    expect(values(a)).not.toEqual(values(b));
    const second = values(b);
    tg.manualSeed(5);
    nn.init.uniform_(b);
    expect(values(b)).toEqual(values(a));
    nn.init.uniform_(b);
    expect(values(b)).toEqual(second);
    tg.manualSeed(9);
    const m1 = new TwoLayer();
    tg.manualSeed(9);
    const m2 = new TwoLayer();
    expect(values(m1.fc1.weight)).toEqual(values(m2.fc1.weight));
    const p = m1.fc1.weight;
    nn.init.xavierUniform_(p);
    expect(m1.fc1.weight).toBe(p);
    expect(p.requiresGrad && p.isLeaf).toBe(true);
    expectError(() => nn.init.kaimingUniform_(tg.zeros([5])), RangeError,
      'kaimingUniform_: fan in and fan out need a tensor of at least 2 dims, got shape [5]');
    expectError(() => nn.init.normal_(tg.zeros([2, 2]), 0, -1), RangeError, 'normal_: Expected a non-negative number for std but received -1');
    expectError(() => nn.init.kaimingNormal_(tg.zeros([2, 2]), { mode: 'in' as 'fanIn' }), TypeError,
      "kaimingNormal_: Expected 'fanIn' or 'fanOut' for mode but received 'in'");
    expectError(() => nn.init.uniform_(tg.arange(4)), TypeError, 'uniform_: Expected a floating-point tensor for tensor but received a int32 tensor of shape [4]');
  });

  test('functional namespace holds the layer forms', () => {
    const { t: x } = randomTensor([2, 3], { seed: 170 });
    expect(values(F.relu(x))).toEqual(values(x.relu()));
    expect(values(F.oneHot(tg.tensor([2, 0], { dtype: 'int32' }), 3))).toEqual([0, 0, 1, 1, 0, 0]);
    const { t: img, v } = randomTensor([1, 1, 2, 2], { seed: 171 });
    expect(values(F.maxPool2d(img, 2))).toEqual([Math.max(...v)]);
    expectClose(F.adaptiveAvgPool2d(img, 1).data(), [v.reduce((a, c) => a + c, 0) / 4], { atol: 1e-12 });
    const gn = F.groupNorm(randomTensor([2, 4, 3], { seed: 172 }).t, 2);
    expectClose(gn.reshape([2, 2, 6]).mean(2).data(), [0, 0, 0, 0], { atol: 1e-12 });
  });
});

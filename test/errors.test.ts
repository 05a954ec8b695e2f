import { describe, expect, test } from 'vitest';
import * as os from 'node:os';
import * as tg from '../lib/index';
import { native } from '../lib/binding';
import { thrown } from './helpers';

function expectError(fn: () => unknown, cls: new (...a: never[]) => Error, message: string | RegExp): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
}

describe('error messages name the op, the argument and the values', () => {
  const a = tg.ones([2, 3]);
  const b = tg.ones([4, 5]);

  test('misaligned shapes in a binary op', () => {
    expectError(() => tg.add(a, b), RangeError, 'add: shapes [2,3] and [4,5] cannot be broadcast together');
    expectError(() => a.mul(tg.ones([3, 2])), RangeError, 'mul: shapes [2,3] and [3,2] cannot be broadcast together');
  });

  test('misaligned shapes in matmul', () => {
    expectError(() => tg.matmul(a, b), RangeError, 'matmul: shapes [2,3] and [4,5] do not align (3 != 4)');
    expectError(
      () => tg.matmul(tg.ones([2, 2, 3]), tg.ones([3, 3, 4])),
      RangeError,
      'matmul: batch dims of shapes [2,2,3] and [3,3,4] cannot be broadcast together',
    );
    expectError(() => tg.matmul(tg.ones([]), a), RangeError, 'matmul: both operands need at least 1 dimension, got shapes [] and [2,3]');
  });

  test('wrong dtype', () => {
    expectError(() => tg.where(a, 1, 2), TypeError, 'where: Expected a bool tensor for condition but received a float32 tensor of shape [2,3]');
    expectError(
      () => a.indexSelect(0, tg.tensor([0, 1])),
      TypeError,
      'indexSelect: Expected an int32 tensor for index but received a float32 tensor of shape [2]',
    );
    expectError(() => tg.zeros([2], { dtype: 'float8' as tg.DType }), TypeError,
      "zeros: Expected one of float32, float64, float16, bfloat16, int32, uint8, bool for dtype but received 'float8'");
    expectError(() => tg.arange(3).requiresGrad_(), TypeError, 'requiresGrad: only floating-point tensors can require gradients, got int32');
    expectError(() => tg.add(a, 'x' as unknown as number), TypeError, "add: Expected a Tensor or a number for other but received 'x'");
  });

  test('use after dispose', () => {
    const t = tg.ones([2, 3]);
    t.dispose();
    expectError(() => tg.add(t, 1), tg.DisposedError, 'add: input was disposed and cannot be used (shape [2,3], float32)');
    expectError(() => t.data(), tg.DisposedError, 'data: tensor was disposed and cannot be used (shape [2,3], float32)');
    expectError(() => tg.matmul(a, t), tg.DisposedError, 'matmul: other was disposed and cannot be used (shape [2,3], float32)');
  });

  test('an axis out of range', () => {
    expectError(() => a.sum(2), RangeError, 'sum: dim 2 is out of range for a tensor with 2 dimensions (expected -2 to 1)');
    expectError(() => a.softmax(-3), RangeError, 'softmax: dim -3 is out of range for a tensor with 2 dimensions (expected -2 to 1)');
    expectError(() => a.transpose(0, 5), RangeError, 'transpose: dim1 5 is out of range for a tensor with 2 dimensions (expected -2 to 1)');
    expectError(() => a.sum(0.5), RangeError, 'sum: Expected an integer for dim but received 0.5');
  });

  test('backward on a non-scalar without a gradient', () => {
    const x = tg.ones([2, 3], { requiresGrad: true });
    expectError(
      () => x.mul(2).backward(),
      tg.AutogradError,
      'backward: a gradient is needed for an output of shape [2,3] (only a single-element output gets an implicit gradient of 1)',
    );
    expectError(() => x.mul(2).backward(tg.ones([3])), RangeError, 'backward: gradient shape [3] does not match the output shape [2,3]');
    expectError(() => tg.ones([1]).backward(), tg.AutogradError,
      'backward: the tensor does not require grad and has no grad_fn (set requiresGrad on a leaf it depends on)');
  });

  test('a ragged nested array', () => {
    expectError(() => tg.tensor([[1, 2], [3]]), RangeError, 'tensor: ragged nested array: expected length 2 at data[1] but received 1');
    expectError(() => tg.tensor([[1, 2], 3] as never), RangeError,
      'tensor: ragged nested array: data[1] is a number where an array of length 2 was expected');
    expectError(() => tg.tensor([1, [2]] as never), RangeError, 'tensor: ragged nested array: data[1] is an array where a number was expected');
    expectError(() => tg.tensor([1, 'a'] as never), TypeError, "tensor: Expected a number or boolean for data[1] but received 'a'");
  });

  test('a non-integer or negative size', () => {
    expectError(() => tg.zeros([2, 2.5]), RangeError, 'zeros: Expected a non-negative integer for shape[1] but received 2.5');
    expectError(() => tg.ones([-1]), RangeError, 'ones: Expected a non-negative integer for shape[0] but received -1');
    expectError(() => tg.randn([3, '4' as never]), TypeError, "randn: Expected an integer for shape[1] but received '4'");
    expectError(() => tg.zeros(5 as never), TypeError, 'zeros: Expected an array of sizes for shape but received 5');
    expectError(() => a.reshape([4, 2]), RangeError, 'reshape: shape [4,2] is invalid for a tensor of 6 elements (shape [2,3])');
  });

  test('an allocation too large for memory is a RangeError, not a crash', () => {
    const gib = (os.totalmem() / 2 ** 30).toFixed(1);
    expectError(
      () => tg.zeros([1_000_000, 1_000_000]),
      RangeError,
      `zeros: cannot allocate 4000000000000 bytes for shape [1000000,1000000] of float32 (this machine has ${gib} GiB of memory)`,
    );
    expectError(() => tg.ones([2 ** 40, 2 ** 20]), RangeError, /^ones: cannot allocate \d+ bytes for shape \[1099511627776,1048576\] of float32/);
  });

  test('bad hyperparameters and options', () => {
    expectError(() => tg.softplus(a, { beta: 0 }), RangeError, 'softplus: Expected a non-zero number for beta but received 0');
    expectError(() => tg.gelu(a, { approximate: 'fast' as never }), TypeError, "gelu: Expected 'none' or 'tanh' for approximate but received 'fast'");
    expectError(() => tg.arange(0, 5, 0), RangeError, 'arange: Expected a finite non-zero number for step but received 0');
    expectError(() => tg.randint(5, 5, [2]), RangeError, 'randint: high (5) must be greater than low (5)');
    expectError(() => a.sum(0, 'yes' as never), TypeError, "sum: Expected an options object for options but received 'yes'");
    expectError(() => tg.setNumThreads(0), RangeError, 'setNumThreads: Expected a positive integer for n but received 0');
  });

  test('a CUDA request on a machine or build without CUDA', () => {
    if (tg.cuda.isAvailable()) return; // the CUDA test suite covers the other case
    expectError(() => tg.zeros([2], { device: 'cuda' }), tg.CudaUnavailableError, /^zeros: CUDA is not available: /);
    expectError(() => a.to('cuda'), tg.CudaUnavailableError, /^to: CUDA is not available: /);
    expectError(() => tg.zeros([2], { device: 'tpu' as never }), TypeError, "zeros: Expected 'cpu', 'cuda' or 'cuda:N' for device but received 'tpu'");
  });
});

describe('native backstops throw JS errors instead of crashing', () => {
  const s = (n: number, dtype: tg.DType = 'float32') => new native.Storage(native.dtypes[dtype], n, 0);

  test('a storage too small for the shape the op is told', () => {
    expect(() => native.binary(native.binaryOps.add, s(4), s(4), s(2), [4], [1], [1])).toThrow(
      'binary: argument 3 is too small: the op reads 4 elements but it holds 2',
    );
    expect(() => native.copy(s(4), 0, [1], s(4), 3, [1], [4])).toThrow(RangeError);
    expect(() => native.gemm(false, false, 4, 4, 4, 1, s(16), 4, 0, s(15), 4, 0, 0, s(16), 4, 0, 1)).toThrow(
      'gemm: argument 9 is too small: the op reads 16 elements but it holds 15',
    );
    expect(() => native.reduce(native.reduceOps.sum, s(5), s(1), null, 1, 6, 1)).toThrow(RangeError);
  });

  test('wrong objects, freed storage, mismatched dtypes and bad codes', () => {
    expect(() => native.unary(native.unaryOps.exp, {} as never, s(2), 2, 0, 0)).toThrow('unary: argument 1 is not a Storage');
    const freed = s(2);
    freed.free();
    expect(() => native.unary(native.unaryOps.exp, freed, s(2), 2, 0, 0)).toThrow('unary: argument 1 was freed (disposed tensor)');
    expect(() => native.unary(native.unaryOps.exp, s(2), s(2, 'float64'), 2, 0, 0)).toThrow(
      'unary: argument 1 has dtype float32, expected float64',
    );
    expect(() => native.unary(native.unaryOps.exp, s(2, 'int32'), s(2, 'int32'), 2, 0, 0)).toThrow(
      'unary: this op needs a floating-point dtype, got int32',
    );
    expect(() => native.unary(99, s(2), s(2), 2, 0, 0)).toThrow('unary: unknown op code');
    expect(() => native.binary(native.binaryOps.div, s(2, 'int32'), s(2, 'int32'), s(2, 'int32'), [2], [1], [1])).toThrow(
      'binary: this op needs a floating-point dtype, got int32',
    );
    expect(() => new native.Storage(99, 2, 0)).toThrow('Storage: unknown dtype code 99');
    expect(() => new native.Storage(0, -1, 0)).toThrow('Storage: argument 1 must be an integer >= 0');
    expect(() => (native.Storage as unknown as (...a: number[]) => void)(0, 1, 0)).toThrow(TypeError);
  });

  test('index values out of range are caught before the kernel reads', () => {
    const idx = tg.tensor([0, 7], { dtype: 'int32' });
    expect(() => tg.ones([5, 2]).indexSelect(0, idx)).toThrow('indexSelect: index 7 is out of range for dimension 0 with size 5');
    expect(() => tg.ones([2, 3]).gather(1, tg.tensor([[0, -1]], { dtype: 'int32' }))).toThrow(
      'gather: index -1 is out of range for dimension 1 with size 3',
    );
  });
});

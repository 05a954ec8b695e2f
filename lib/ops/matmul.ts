/**
 * matmul with PyTorch's rules: 1-D operands gain and then lose a dim, leading
 * (batch) dims broadcast. Every product goes through one native GEMM entry,
 * C = alpha * op(A) op(B) + beta * C, which the fast kernels replace.
 */
import { native } from '../binding';
import { record } from '../autograd';
import { checkSameDevice, checkTensor, expected } from '../check';
import { promoteTypes } from '../dtype';
import { formatShape, numel, tryBroadcast } from '../shape';
import { Tensor } from '../tensor';
import { cast } from './convert';
import { expand, reshape } from './shape';
import { sum } from './reduce';
import { autocastToHalf } from '../amp/autocast';

/**
 * (B?, M, K) x (B?, K, N) -> (B, M, N) for 3-D operands whose batch is B or 1
 * (a batch of 1 is reused for every output matrix, stride 0). transA/transB read
 * an operand stored as (B, K, M) / (B, N, K). Differentiable, also to higher order.
 * @internal for ops that need a transposed product without copying (linear).
 */
export function bmm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [ba, ar, ac] = a.shape;
  const [bb, br, bc] = b.shape;
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const batch = Math.max(ba, bb);
  const out = Tensor._empty('matmul', [batch, m, n], a.dtype, a.device);
  // leading dims of at least 1 even for an empty operand (BLAS's rule), so K = 0 gives zeros
  native.gemm(
    transA, transB, m, n, k, 1,
    a._s, Math.max(ac, 1), ba === 1 ? 0 : ar * ac,
    b._s, Math.max(bc, 1), bb === 1 ? 0 : br * bc,
    0, out._s, Math.max(n, 1), m * n, batch,
  );
  return record(out, 'matmul', [a, b], (g) => {
    // gradient w.r.t. op(A) is g op(B)^T, w.r.t. op(B) is op(A)^T g; transposed operands swap roles
    const ga = a.requiresGrad ? (transA ? bmm(b, g, transB, true) : bmm(g, b, false, !transB)) : null;
    const gb = b.requiresGrad ? (transB ? bmm(g, a, true, transA) : bmm(a, g, !transA, false)) : null;
    // a batch of 1 was used for every output matrix: its gradient is the sum over them
    return [
      ga && ba === 1 && batch > 1 ? sum(ga, 0, { keepDim: true }) : ga,
      gb && bb === 1 && batch > 1 ? sum(gb, 0, { keepDim: true }) : gb,
    ];
  });
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor('matmul', 'input', a);
  checkTensor('matmul', 'other', b);
  checkSameDevice('matmul', [a, b]);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(`matmul: both operands need at least 1 dimension, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  if (a.dtype === 'bool' || b.dtype === 'bool') expected(TypeError, 'matmul', 'a numeric tensor', a.dtype === 'bool' ? 'input' : 'other', a.dtype === 'bool' ? a : b);
  const k1 = a.shape[a.ndim - 1];
  const k2 = b.ndim === 1 ? b.shape[0] : b.shape[b.ndim - 2];
  if (k1 !== k2) {
    throw new RangeError(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not align (${k1} != ${k2})`);
  }
  [a, b] = autocastToHalf('matmul', [a, b] as const);
  const dtype = promoteTypes(a.dtype, b.dtype);
  const a2 = a.ndim === 1 ? reshape(cast(a, dtype, 'matmul'), [1, a.shape[0]]) : cast(a, dtype, 'matmul');
  const b2 = b.ndim === 1 ? reshape(cast(b, dtype, 'matmul'), [b.shape[0], 1]) : cast(b, dtype, 'matmul');
  const batchA = a2.shape.slice(0, -2);
  const batchB = b2.shape.slice(0, -2);
  const batch = tryBroadcast(batchA, batchB);
  if (batch === null) {
    throw new RangeError(`matmul: batch dims of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be broadcast together`);
  }
  // each operand as (B or 1, rows, cols): expand only when its batch is neither all of B nor a single matrix
  const as3 = (t: Tensor, own: readonly number[]): Tensor => {
    const [r, c] = t.shape.slice(-2);
    if (numel(own) === 1) return reshape(t, [1, r, c]);
    const full = own.length === batch.length && own.every((d, i) => d === batch[i]) ? t : expand(t, [...batch, r, c]);
    return reshape(full, [numel(batch), r, c]);
  };
  const m = a2.shape[a2.ndim - 2];
  const n = b2.shape[b2.ndim - 1];
  const out = bmm(as3(a2, batchA), as3(b2, batchB), false, false);
  const shape = [...batch, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])];
  return reshape(out, shape);
}

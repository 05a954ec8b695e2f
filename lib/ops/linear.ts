/**
 * linear(input, weight, bias?) = input W^T + bias with PyTorch's shapes: input
 * [..., in], weight [out, in], bias [out]. The forward is one GEMM that reads W
 * transposed in place and adds the bias as C is stored (the fused epilogue), so
 * there is neither a transposed copy of W nor a second pass over the output.
 */
import { native } from '../binding';
import { record } from '../autograd';
import { checkSameDevice, checkTensor, expected } from '../check';
import { promoteTypes } from '../dtype';
import { formatShape, numel } from '../shape';
import { Tensor } from '../tensor';
import { cast } from './convert';
import { bmm } from './matmul';
import { reshape } from './shape';
import { sum } from './reduce';
import { autocastToHalf } from '../amp/autocast';

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor('linear', 'input', input);
  checkTensor('linear', 'weight', weight);
  const hasBias = bias !== undefined && bias !== null;
  if (hasBias) checkTensor('linear', 'bias', bias);
  checkSameDevice('linear', hasBias ? [input, weight, bias] : [input, weight]);
  for (const [name, t] of [['input', input], ['weight', weight], ['bias', bias]] as const) {
    if (t && t.dtype === 'bool') expected(TypeError, 'linear', 'a numeric tensor', name, t);
  }
  if (input.ndim === 0) {
    throw new RangeError(`linear: input needs at least 1 dimension, got shape ${formatShape(input.shape)}`);
  }
  if (weight.ndim !== 2) {
    throw new RangeError(`linear: weight must be 2-D [out, in], got shape ${formatShape(weight.shape)}`);
  }
  const inF = input.shape[input.ndim - 1];
  const [outF, wIn] = weight.shape;
  if (inF !== wIn) {
    throw new RangeError(`linear: shapes ${formatShape(input.shape)} and ${formatShape(weight.shape)} do not align (${inF} != ${wIn})`);
  }
  if (hasBias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new RangeError(
      `linear: bias of shape ${formatShape(bias.shape)} does not match weight of shape ${formatShape(weight.shape)} (expected [${outF}])`,
    );
  }

  const [xin, win, bin] = autocastToHalf('linear', [input, weight, hasBias ? bias : null] as const);
  let dtype = promoteTypes(xin.dtype, win.dtype);
  if (bin) dtype = promoteTypes(dtype, bin.dtype);
  const x = cast(xin, dtype, 'linear');
  const w = cast(win, dtype, 'linear');
  const b = bin ? cast(bin, dtype, 'linear') : null;
  const lead = x.shape.slice(0, -1);
  const rows = numel(lead);
  const out = Tensor._empty('linear', [...lead, outF], dtype, x.device);
  // leading dims of at least 1 even when empty (BLAS's rule); in = 0 leaves y = bias
  native.gemm(
    false, true, rows, outF, inF, 1,
    x._s, Math.max(inF, 1), 0,
    w._s, Math.max(inF, 1), 0,
    0, out._s, Math.max(outF, 1), 0, 1,
    b ? b._s : null, native.gemmActivations.none,
  );
  return record(out, 'linear', [x, w, b], (g) => {
    // over the flattened rows: dx = g W, dW = g^T x, db = the column sums of g
    const g3 = reshape(g, [1, rows, outF]);
    const gx = x.requiresGrad ? reshape(bmm(g3, reshape(w, [1, outF, inF]), false, false), x.shape) : null;
    const gw = w.requiresGrad ? reshape(bmm(g3, reshape(x, [1, rows, inF]), true, false), [outF, inF]) : null;
    const gb = b !== null && b.requiresGrad ? sum(reshape(g, [rows, outF]), 0) : null;
    return [gx, gw, gb];
  });
}

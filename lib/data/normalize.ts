/**
 * Per-channel statistics and normalization for image batches [N, C, ...]: the channel
 * is dim 1 and the statistics run over every other dim (N, H, W), as for the
 * torchvision Normalize constants (MNIST: mean 0.1307, std 0.3081).
 */
import { noGrad } from '../autograd';
import { checkTensor, expected } from '../check';
import { isFloating } from '../dtype';
import { tensor } from '../ops/creation';
import { cast } from '../ops/convert';
import { div, sub } from '../ops/elementwise';
import { mean as meanOp, std as stdOp } from '../ops/reduce';
import type { Tensor } from '../tensor';

export interface ChannelStats {
  mean: number[];
  /** Population standard deviation (divisor N*H*W, no Bessel correction). */
  std: number[];
}

function checkImages(op: string, images: unknown): Tensor {
  const t = checkTensor(op, 'images', images);
  if (t.ndim < 2) expected(RangeError, op, 'a tensor of shape [N,C,...]', 'images', t);
  return t;
}

/** Mean and standard deviation of each channel (dim 1) over all other dims. */
export function channelStats(images: Tensor): ChannelStats {
  const op = 'channelStats';
  const x0 = checkImages(op, images);
  if (x0.numel === 0) expected(RangeError, op, 'a non-empty tensor', 'images', x0);
  return noGrad(() => {
    const x = isFloating(x0.dtype) ? x0 : cast(x0, 'float32', op);
    const dims = Array.from({ length: x.ndim }, (_, i) => i).filter((d) => d !== 1);
    const m = meanOp(x, dims);
    const s = stdOp(x, dims, { correction: 0 });
    const out = { mean: Array.from(m.data()), std: Array.from(s.data()) };
    m.dispose();
    s.dispose();
    if (x !== x0) x.dispose();
    return out;
  });
}

function perChannel(op: string, name: string, value: unknown, channels: number): number[] {
  const list = typeof value === 'number' ? new Array<number>(channels).fill(value) : value;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    expected(TypeError, op, 'a finite number or an array of finite numbers', name, value);
  }
  if (list.length !== channels) expected(RangeError, op, `${channels} values (one per channel)`, name, list);
  return list;
}

/** (images - mean[c]) / std[c] for each channel c of images [N, C, ...]; integer images become float32. */
export function normalize(images: Tensor, mean: number | readonly number[], std: number | readonly number[]): Tensor {
  const op = 'normalize';
  const x0 = checkImages(op, images);
  const c = x0.shape[1];
  const m = perChannel(op, 'mean', mean, c);
  const s = perChannel(op, 'std', std, c);
  s.forEach((v, i) => {
    if (v <= 0) expected(RangeError, op, 'positive values', `std[${i}]`, v);
  });
  const x = isFloating(x0.dtype) ? x0 : cast(x0, 'float32', op);
  const along = x.shape.map((d, i) => (i === 1 ? d : 1));
  const opts = { dtype: x.dtype, shape: along, device: x.device };
  return div(sub(x, tensor(Float64Array.from(m), opts)), tensor(Float64Array.from(s), opts));
}

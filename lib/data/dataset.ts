/**
 * Datasets: anything with a length and getItem(i), as in PyTorch's map-style datasets.
 * TensorDataset indexes the first dimension of one or more tensors of equal length.
 */
import { checkInteger, checkTensor, expected } from '../check';
import { formatShape } from '../shape';
import { narrow, reshape } from '../ops/shape';
import type { Tensor } from '../tensor';

export abstract class Dataset<T = unknown> {
  /** The number of items. */
  abstract get length(): number;
  /** Item i, for 0 <= i < length. */
  abstract getItem(index: number): T;
}

/** Checks an item index against a dataset's length (negative indices count from the end). */
export function checkItemIndex(op: string, index: unknown, length: number): number {
  checkInteger(op, 'index', index);
  const i = index as number;
  if (i < -length || i >= length) {
    throw new RangeError(`${op}: index ${i} is out of range for a dataset of ${length} items`);
  }
  return i < 0 ? i + length : i;
}

/** Item i is [t0[i], t1[i], ...]: one slice along the first dimension of each tensor. */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) expected(TypeError, 'TensorDataset', 'at least one tensor', 'tensors', tensors);
    tensors.forEach((t, i) => {
      checkTensor('TensorDataset', `tensors[${i}]`, t);
      if (t.ndim === 0) expected(RangeError, 'TensorDataset', 'a tensor with at least 1 dimension', `tensors[${i}]`, t);
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new RangeError(
          `TensorDataset: tensors[${i}] has ${t.shape[0]} items (shape ${formatShape(t.shape)}) but tensors[0] has ${tensors[0].shape[0]} (shape ${formatShape(tensors[0].shape)})`,
        );
      }
    });
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  getItem(index: number): Tensor[] {
    const i = checkItemIndex('TensorDataset.getItem', index, this.length);
    return this.tensors.map((t) => reshape(narrow(t, 0, i, 1), t.shape.slice(1)));
  }
}

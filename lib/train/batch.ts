/**
 * What fit() and evaluate() accept as data: any iterable of batches, each either
 * [input, target] (what a DataLoader over a TensorDataset(x, y) yields) or
 * { input, target }. The target must be a tensor: its first dimension counts the
 * samples, which weight each batch's mean loss into the epoch's mean.
 */
import { describe, expected } from '../check';
import { Tensor } from '../tensor';

export type Batch = readonly [unknown, Tensor] | { input: unknown; target: Tensor };

export interface Unpacked {
  input: unknown;
  target: Tensor;
  /** Samples in the batch: the target's first dimension (1 for a scalar target). */
  size: number;
}

export function unpackBatch(op: string, name: string, batch: unknown): Unpacked {
  let input: unknown;
  let target: unknown;
  if (Array.isArray(batch) && batch.length === 2) [input, target] = batch;
  else if (typeof batch === 'object' && batch !== null && !Array.isArray(batch) && 'input' in batch && 'target' in batch) {
    ({ input, target } = batch as { input: unknown; target: unknown });
  } else {
    expected(TypeError, op, 'a batch [input, target] or { input, target }', name, batch);
  }
  if (!(target instanceof Tensor)) {
    throw new TypeError(`${op}: Expected a Tensor for the target of ${name} but received ${describe(target)}`);
  }
  return { input, target, size: target.ndim === 0 ? 1 : target.shape[0] };
}

/** The number of batches an iterable will yield when it says so (a DataLoader or an array), else null. */
export function batchCount(data: Iterable<unknown>): number | null {
  const n = (data as { length?: unknown }).length;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
}

export function checkIterable(op: string, name: string, data: unknown): Iterable<unknown> {
  if (typeof data !== 'object' || data === null || typeof (data as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    expected(TypeError, op, 'a DataLoader or an iterable of batches', name, data);
  }
  return data as Iterable<unknown>;
}

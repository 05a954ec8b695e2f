/**
 * DataLoader: iterates a dataset in batches, for..of style. Each iteration is one
 * epoch; with shuffle, epoch e visits the items in the order permutation(seed, e), so a
 * run with the same seed sees the same sequence of orders and each epoch a new one.
 *
 * A TensorDataset with the default collate takes a fast path: a batch is one
 * indexSelect per tensor (a single native gather), not a stack of per-item slices.
 */
import { randomInt } from 'node:crypto';
import { checkBoolean, checkInteger, checkOptions, expected } from '../check';
import { tensor } from '../ops/creation';
import { indexSelect } from '../ops/shape';
import type { Tensor } from '../tensor';
import { defaultCollate, type Collated } from './collate';
import { Dataset, TensorDataset } from './dataset';
import { permutation } from './shuffle';

export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** Visit the items in a new seeded order each epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffle (default: drawn at random once, readable as loader.seed). */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Turns a list of items into a batch (default defaultCollate). */
  collate?: (items: T[]) => B;
}

const OP = 'DataLoader';

export class DataLoader<T, B = Collated<T>> implements Iterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The shuffle seed (also set when no seed was given). */
  readonly seed: number;
  readonly collate: (items: T[]) => B;
  private nextEpoch = 0;

  constructor(dataset: Dataset<T>, options?: DataLoaderOptions<T, B>) {
    if (typeof dataset !== 'object' || dataset === null || typeof (dataset as Dataset<T>).getItem !== 'function') {
      expected(TypeError, OP, 'a Dataset (an object with length and getItem)', 'dataset', dataset);
    }
    checkInteger(OP, 'dataset.length', dataset.length, 0);
    const o = checkOptions(OP, options);
    this.dataset = dataset;
    this.batchSize = o.batchSize === undefined ? 1 : checkInteger(OP, 'batchSize', o.batchSize, 1);
    this.shuffle = o.shuffle === undefined ? false : checkBoolean(OP, 'shuffle', o.shuffle);
    this.dropLast = o.dropLast === undefined ? false : checkBoolean(OP, 'dropLast', o.dropLast);
    if (o.seed !== undefined) {
      checkInteger(OP, 'seed', o.seed, 0);
      if (!Number.isSafeInteger(o.seed)) expected(RangeError, OP, 'a safe integer', 'seed', o.seed);
    }
    this.seed = o.seed === undefined ? randomInt(2 ** 47) : (o.seed as number);
    if (o.collate !== undefined && typeof o.collate !== 'function') expected(TypeError, OP, 'a function', 'collate', o.collate);
    this.collate = (o.collate as ((items: T[]) => B) | undefined) ?? (defaultCollate as unknown as (items: T[]) => B);
  }

  /** The number of batches in one epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next for..of runs (0 for a new loader). */
  get epoch(): number {
    return this.nextEpoch;
  }

  /** Sets the epoch the next for..of runs, e.g. to resume a run with the same orders. */
  setEpoch(epoch: number): void {
    checkInteger('DataLoader.setEpoch', 'epoch', epoch, 0);
    this.nextEpoch = epoch;
  }

  /** The item order of an epoch (the identity order without shuffle). */
  indices(epoch: number = this.nextEpoch): Int32Array {
    checkInteger('DataLoader.indices', 'epoch', epoch, 0);
    const n = this.dataset.length;
    if (this.shuffle) return permutation(n, this.seed, epoch);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }

  /** One epoch of batches; every call starts the next epoch. */
  [Symbol.iterator](): Iterator<B> {
    const order = this.indices(this.nextEpoch);
    this.nextEpoch++;
    return this.batches(order);
  }

  private *batches(order: Int32Array): Generator<B, void, undefined> {
    const count = this.length;
    const fast = this.fastTensors();
    for (let b = 0; b < count; b++) {
      const ids = order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length));
      if (fast !== null) {
        const index = tensor(ids);
        const batch = fast.map((t) => indexSelect(t, 0, index.device === t.device ? index : index.to(t.device)));
        // the index is kept by the graph only when a dataset tensor requires grad
        if (!fast.some((t) => t.requiresGrad)) index.dispose();
        yield batch as B;
      } else {
        const items = Array.from(ids, (i) => this.dataset.getItem(i));
        yield this.collate(items);
      }
    }
  }

  /** The tensors of a TensorDataset whose items and batches follow the default rules, else null. */
  private fastTensors(): readonly Tensor[] | null {
    const d = this.dataset;
    if (!(d instanceof TensorDataset) || d.getItem !== TensorDataset.prototype.getItem) return null;
    return (this.collate as unknown) === defaultCollate ? d.tensors : null;
  }
}

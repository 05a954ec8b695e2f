/**
 * tg.data: TensorDataset and DataLoader (batching, dropLast, seeded per-epoch shuffles,
 * collate, the TensorDataset fast path), the IDX reader on the real MNIST files and on
 * hand-built ones, readCsv, loadDigits, channelStats and normalize.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as tg from '../lib/index';
import { CorruptFileError } from '../lib/errors';
import { MNIST_DIR, SHARED_DATA, expectClose, randomValues } from './helpers';

const { DataLoader, Dataset, TensorDataset, defaultCollate } = tg.data;
const MNIST = MNIST_DIR;
const DIGITS = path.join(SHARED_DATA, 'digits/digits.csv.gz');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-data-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function write(name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, `${fileNo++}-${name}`);
  fs.writeFileSync(file, bytes);
  return file;
}

function flat(t: tg.Tensor): number[] {
  return Array.from(t.data());
}

function counts(values: ArrayLike<number>, k = 10): number[] {
  const c = new Array<number>(k).fill(0);
  for (let i = 0; i < values.length; i++) c[values[i]]++;
  return c;
}

describe('TensorDataset', () => {
  test('items index the first dimension of every tensor', () => {
    const x = tg.arange(0, 24).reshape(4, 3, 2);
    const y = tg.tensor(Int32Array.from([7, 8, 9, 10]));
    const ds = new TensorDataset(x, y);
    expect(ds.length).toBe(4);
    const [xi, yi] = ds.getItem(2);
    expect(xi.shape).toEqual([3, 2]);
    expect(flat(xi)).toEqual([12, 13, 14, 15, 16, 17]);
    expect(yi.shape).toEqual([]);
    expect(yi.item()).toBe(9);
    expect(ds.getItem(-1)[1].item()).toBe(10);
  });

  test('errors', () => {
    expect(() => new TensorDataset(tg.ones([3]), tg.ones([4, 2]))).toThrow(
      new RangeError('TensorDataset: tensors[1] has 4 items (shape [4,2]) but tensors[0] has 3 (shape [3])'),
    );
    expect(() => new TensorDataset(tg.ones([]))).toThrow(
      new RangeError('TensorDataset: Expected a tensor with at least 1 dimension for tensors[0] but received a float32 tensor of shape []'),
    );
    expect(() => new TensorDataset()).toThrow(new TypeError('TensorDataset: Expected at least one tensor for tensors but received []'));
    expect(() => new TensorDataset(tg.ones([3])).getItem(3)).toThrow(
      new RangeError('TensorDataset.getItem: index 3 is out of range for a dataset of 3 items'),
    );
  });
});

/** A dataset of plain objects: checks the generic path and collate of nested items. */
class Records extends Dataset<{ image: tg.Tensor; label: number; weight: number; name: string; pair: [boolean, number] }> {
  constructor(readonly n: number) {
    super();
  }
  get length() {
    return this.n;
  }
  getItem(i: number) {
    return {
      image: tg.full([2, 2], i),
      label: i % 3,
      weight: i + 0.5,
      name: `item${i}`,
      pair: [i % 2 === 0, -i] as [boolean, number],
    };
  }
}

describe('DataLoader', () => {
  const x = tg.arange(0, 10).reshape(10, 1);
  const ds = new TensorDataset(x);
  const firsts = (loader: Iterable<tg.Tensor[]>) => Array.from(loader, ([b]) => flat(b));

  test('batches in order, with a smaller last batch or dropLast', () => {
    const loader = new DataLoader(ds, { batchSize: 3 });
    expect(loader.length).toBe(4);
    expect(firsts(loader)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    const dropped = new DataLoader(ds, { batchSize: 3, dropLast: true });
    expect(dropped.length).toBe(3);
    expect(firsts(dropped)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
    expect(new DataLoader(ds).length).toBe(10);
    expect(new DataLoader(ds, { batchSize: 20, dropLast: true }).length).toBe(0);
    expect(firsts(new DataLoader(ds, { batchSize: 20, dropLast: true }))).toEqual([]);
    expect(firsts(new DataLoader(ds, { batchSize: 20 }))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    const [[b]] = new DataLoader(ds, { batchSize: 4 });
    expect(b.shape).toEqual([4, 1]);
  });

  test('shuffle: each epoch a permutation, a new one per epoch, the same sequence for the same seed', () => {
    const epochs = (seed: number) => {
      const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed });
      return [0, 1, 2].map(() => firsts(loader).flat());
    };
    const a = epochs(42);
    const b = epochs(42);
    expect(b).toEqual(a);
    for (const order of a) expect([...order].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a[1]).not.toEqual(a[0]);
    expect(a[2]).not.toEqual(a[1]);
    expect(epochs(43)[0]).not.toEqual(a[0]);
  });

  test('the shuffle order depends on (seed, epoch) alone: fixed values, setEpoch, indices()', () => {
    const big = new TensorDataset(tg.arange(0, 20));
    const loader = new DataLoader(big, { batchSize: 20, shuffle: true, seed: 42 });
    // pinned: a change here changes every seeded run's data order
    expect(Array.from(loader.indices(0))).toEqual([9, 12, 8, 10, 6, 2, 18, 11, 4, 16, 19, 1, 14, 17, 0, 5, 7, 3, 13, 15]);
    expect(Array.from(loader.indices(1))).toEqual([0, 13, 8, 2, 3, 16, 9, 19, 6, 18, 11, 12, 17, 4, 14, 7, 1, 15, 10, 5]);
    expect(loader.epoch).toBe(0);
    expect(firsts(loader)[0]).toEqual(Array.from(loader.indices(0)));
    expect(loader.epoch).toBe(1);
    loader.setEpoch(0);
    expect(firsts(loader)[0]).toEqual(Array.from(loader.indices(0)));
    expect(firsts(loader)[0]).toEqual(Array.from(loader.indices(1)));
    // without a seed one is drawn and kept
    const unseeded = new DataLoader(big, { shuffle: true });
    expect(Number.isSafeInteger(unseeded.seed)).toBe(true);
    expect(Array.from(unseeded.indices(3))).toEqual(Array.from(new DataLoader(big, { shuffle: true, seed: unseeded.seed }).indices(3)));
    // no shuffle: identity for every epoch
    expect(Array.from(new DataLoader(big).indices(5))).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  test('collate of objects, arrays, numbers, strings and booleans', () => {
    const loader = new DataLoader(new Records(5), { batchSize: 3 });
    const batches = Array.from(loader);
    expect(batches.length).toBe(2);
    const b = batches[0];
    expect(b.image.shape).toEqual([3, 2, 2]);
    expect(flat(b.image)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(b.label.dtype).toBe('int32');
    expect(flat(b.label)).toEqual([0, 1, 2]);
    expect(b.weight.dtype).toBe('float32');
    expect(flat(b.weight)).toEqual([0.5, 1.5, 2.5]);
    expect(b.name).toEqual(['item0', 'item1', 'item2']);
    expect(b.pair[0].dtype).toBe('bool');
    expect(b.pair[0].toArray()).toEqual([true, false, true]);
    expect(flat(b.pair[1])).toEqual([0, -1, -2]);
    expect(flat(batches[1].label)).toEqual([0, 1]);
    // typed arrays become [batch, length]
    const t = defaultCollate([Float64Array.from([1, 2]), Float64Array.from([3, 4])]);
    expect(t.dtype).toBe('float64');
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    // a custom collate replaces the default
    const sums = new DataLoader(new Records(4), { batchSize: 2, collate: (items) => items.reduce((s, it) => s + it.weight, 0) });
    expect(Array.from(sums)).toEqual([2, 6]);
  });

  test('collate errors name the item and the path in it', () => {
    expect(() => defaultCollate([{ a: 1, b: 2 }, { a: 1, c: 2 }])).toThrow(
      new RangeError('defaultCollate: items[1] has keys [a,c] but items[0] has keys [a,b]'),
    );
    expect(() => defaultCollate([{ a: [1, 'x'] }, { a: [2, 3] }])).toThrow(
      new TypeError("defaultCollate: Expected a string for items[1].a[1] but received 3"),
    );
    expect(() => defaultCollate([{ x: tg.ones([2]) }, { x: 5 }])).toThrow(
      new TypeError('defaultCollate: Expected a Tensor for items[1].x but received 5'),
    );
    expect(() => defaultCollate([[1, 2], [3]])).toThrow(
      new RangeError('defaultCollate: items[1] has 1 elements but items[0] has 2'),
    );
    expect(() => defaultCollate([{ a: null }])).toThrow(
      new TypeError('defaultCollate: Expected a Tensor, number, boolean, string, typed array, array or plain object for items[0].a but received null'),
    );
    expect(() => defaultCollate([])).toThrow(new TypeError('defaultCollate: Expected a non-empty array of items for items but received []'));
    expect(() => defaultCollate([tg.ones([2]), tg.ones([3])])).toThrow(
      new RangeError('stack: tensors[1] has shape [3] but tensors[0] has [2]'),
    );
  });

  test('option errors', () => {
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(new RangeError('DataLoader: Expected a positive integer for batchSize but received 0'));
    expect(() => new DataLoader(ds, { shuffle: 1 as never })).toThrow(new TypeError('DataLoader: Expected a boolean for shuffle but received 1'));
    expect(() => new DataLoader(ds, { seed: -1 })).toThrow(new RangeError('DataLoader: Expected a non-negative integer for seed but received -1'));
    expect(() => new DataLoader(ds, { collate: 3 as never })).toThrow(new TypeError('DataLoader: Expected a function for collate but received 3'));
    expect(() => new DataLoader([1, 2] as never)).toThrow(
      new TypeError('DataLoader: Expected a Dataset (an object with length and getItem) for dataset but received [1,2]'),
    );
  });

  test('the TensorDataset fast path gives the same batches as per-item collation', () => {
    const images = tg.tensor(randomValues(50 * 12, 3), { shape: [50, 3, 4] });
    const labels = tg.tensor(Int32Array.from({ length: 50 }, (_, i) => (i * 7) % 10));
    const data = new TensorDataset(images, labels);
    // on the prototype: an own getItem on the instance would (rightly) turn the fast path off
    const spy = vi.spyOn(TensorDataset.prototype, 'getItem');
    const fast = new DataLoader(data, { batchSize: 8, shuffle: true, seed: 7 });
    const slow = new DataLoader(data, { batchSize: 8, shuffle: true, seed: 7, collate: (items) => defaultCollate(items) });
    for (let epoch = 0; epoch < 2; epoch++) {
      const a = Array.from(fast);
      expect(spy).toHaveBeenCalledTimes(50 * epoch); // the fast path never calls getItem
      const b = Array.from(slow);
      expect(spy).toHaveBeenCalledTimes(50 * (epoch + 1));
      expect(a.length).toBe(7);
      expect(b.length).toBe(7);
      a.forEach((batch, i) => {
        batch.forEach((t, k) => {
          expect(t.dtype).toBe(b[i][k].dtype);
          expect(t.shape).toEqual(b[i][k].shape);
          expect(flat(t)).toEqual(flat(b[i][k]));
        });
      });
    }
    spy.mockRestore();
    // a subclass that changes getItem takes the generic path
    class Doubled extends TensorDataset {
      override getItem(i: number) {
        return super.getItem(i).map((t) => t.mul(2));
      }
    }
    const [[d]] = new DataLoader(new Doubled(tg.arange(0, 4)), { batchSize: 4 });
    expect(flat(d)).toEqual([0, 2, 4, 6]);
  });
});

describe('MNIST (the real files in ../shared/data/mnist)', () => {
  let trainImages: tg.Tensor;
  let trainLabels: tg.Tensor;
  beforeAll(() => {
    trainImages = tg.data.readIdx(path.join(MNIST, 'train-images-idx3-ubyte.gz'));
    trainLabels = tg.data.readIdx(path.join(MNIST, 'train-labels-idx1-ubyte.gz'));
  });

  test('readIdx: shapes, dtypes, first labels, class counts, byte-exact content', () => {
    expect(trainImages.dtype).toBe('uint8');
    expect(trainImages.shape).toEqual([60000, 28, 28]);
    expect(trainLabels.dtype).toBe('uint8');
    expect(trainLabels.shape).toEqual([60000]);
    const labels = trainLabels.data();
    expect(Array.from(labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(counts(labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    // the tensor plus its header re-encodes to the published decompressed file
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x803, 0);
    [60000, 28, 28].forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
    const sha = createHash('sha256').update(header).update(trainImages.data()).digest('hex');
    expect(sha).toBe('ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db');
    const test = tg.data.readIdx(path.join(MNIST, 't10k-labels-idx1-ubyte.gz')).data();
    expect(Array.from(test.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(counts(test)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  test('loadMnist: float32 [N,1,28,28] in [0,1] and int32 labels; the known normalization constants', () => {
    const { images, labels } = tg.data.loadMnist(MNIST, { split: 'test' });
    expect(images.dtype).toBe('float32');
    expect(images.shape).toEqual([10000, 1, 28, 28]);
    expect(labels.dtype).toBe('int32');
    expect(labels.shape).toEqual([10000]);
    expect(Array.from(labels.data().subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(images.min().item()).toBe(0);
    expect(images.max().item()).toBe(1);
    const raw = tg.data.readIdx(path.join(MNIST, 't10k-images-idx3-ubyte.gz')).data();
    const scaled = images.data();
    for (const i of [0, 200, 7840000 - 1, 123456]) expect(scaled[i]).toBe(Math.fround(raw[i] / 255));
    const train = tg.data.loadMnist(MNIST);
    expect(train.images.shape).toEqual([60000, 1, 28, 28]);
    // torchvision's MNIST Normalize((0.1307,), (0.3081,))
    const stats = tg.data.channelStats(train.images);
    expect(stats.mean[0]).toBeCloseTo(0.1307, 4);
    expect(stats.std[0]).toBeCloseTo(0.3081, 4);
  });

  test('an epoch of batches of 128 from a TensorDataset costs well under 1 ms per batch', () => {
    const data = new TensorDataset(trainImages, trainLabels);
    const loader = new DataLoader(data, { batchSize: 128, shuffle: true, seed: 1 });
    expect(loader.length).toBe(469);
    let n = 0;
    let seen = 0;
    const start = process.hrtime.bigint();
    for (const [x, y] of loader) {
      n++;
      seen += y.shape[0];
      if (n === 1) expect(x.shape).toEqual([128, 28, 28]);
    }
    const perBatchMs = Number(process.hrtime.bigint() - start) / 1e6 / n;
    expect(n).toBe(469);
    expect(seen).toBe(60000);
    expect(perBatchMs, `${perBatchMs.toFixed(3)} ms per batch`).toBeLessThan(1);
  });

  test('loadMnist on a directory of small raw files, and its errors', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'mnist-'));
    const images = Buffer.alloc(16 + 2 * 784);
    images.writeUInt32BE(0x803, 0);
    images.writeUInt32BE(2, 4);
    images.writeUInt32BE(28, 8);
    images.writeUInt32BE(28, 12);
    images[16] = 255;
    images[16 + 784 + 1] = 51;
    const labels = Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 3, 9]);
    expect(() => tg.data.loadMnist(sub)).toThrow(
      `loadMnist: ${sub} has neither train-images-idx3-ubyte.gz nor train-images-idx3-ubyte (nothing is downloaded; put the MNIST files there)`,
    );
    fs.writeFileSync(path.join(sub, 'train-images-idx3-ubyte'), images);
    fs.writeFileSync(path.join(sub, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
    const m = tg.data.loadMnist(sub, { split: 'train' });
    expect(m.images.shape).toEqual([2, 1, 28, 28]);
    expect(m.images.data()[0]).toBe(1);
    expect(m.images.data()[785]).toBe(Math.fround(0.2));
    expect(flat(m.labels)).toEqual([3, 9]);
    // three labels for two images
    const three = Buffer.from([0, 0, 8, 1, 0, 0, 0, 3, 3, 9, 1]);
    fs.writeFileSync(path.join(sub, 'train-labels-idx1-ubyte.gz'), gzipSync(three));
    const imagesFile = path.join(sub, 'train-images-idx3-ubyte');
    const labelsFile = path.join(sub, 'train-labels-idx1-ubyte.gz');
    expect(() => tg.data.loadMnist(sub)).toThrow(
      new CorruptFileError(`loadMnist: ${imagesFile} has 2 images but ${labelsFile} has 3 labels`),
    );
    expect(() => tg.data.loadMnist(sub, { split: 'val' as never })).toThrow(
      new TypeError("loadMnist: Expected 'train' or 'test' for split but received 'val'"),
    );
  });
});

describe('readIdx on hand-built files', () => {
  function idx(type: number, dims: number[], body: (v: DataView, at: number) => void, bodyBytes: number): Buffer {
    const b = Buffer.alloc(4 + 4 * dims.length + bodyBytes);
    b[2] = type;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    body(new DataView(b.buffer, b.byteOffset, b.byteLength), 4 + 4 * dims.length);
    return b;
  }

  test('every IDX type, raw and gzipped (gzip found by its magic bytes, not the name)', () => {
    const u8 = idx(0x08, [2, 3], (v, at) => [1, 2, 3, 250, 5, 6].forEach((x, i) => v.setUint8(at + i, x)), 6);
    const t = tg.data.readIdx(write('u8.idx', u8));
    expect(t.dtype).toBe('uint8');
    expect(t.toArray()).toEqual([[1, 2, 3], [250, 5, 6]]);
    expect(tg.data.readIdx(write('u8-gzipped-without-gz-name.idx', gzipSync(u8))).toArray()).toEqual([[1, 2, 3], [250, 5, 6]]);
    const i8 = tg.data.readIdx(write('i8.idx', idx(0x09, [3], (v, at) => [-128, 0, 127].forEach((x, i) => v.setInt8(at + i, x)), 3)));
    expect([i8.dtype, flat(i8)]).toEqual(['int32', [-128, 0, 127]]);
    const i16 = tg.data.readIdx(write('i16.idx', idx(0x0b, [2], (v, at) => [-300, 30000].forEach((x, i) => v.setInt16(at + 2 * i, x)), 4)));
    expect([i16.dtype, flat(i16)]).toEqual(['int32', [-300, 30000]]);
    const i32 = tg.data.readIdx(write('i32.idx', idx(0x0c, [1, 2], (v, at) => [-70000, 2147483647].forEach((x, i) => v.setInt32(at + 4 * i, x)), 8)));
    expect([i32.dtype, i32.toArray()]).toEqual(['int32', [[-70000, 2147483647]]]);
    const f32 = tg.data.readIdx(write('f32.idx', idx(0x0d, [2], (v, at) => [1.5, -0.25].forEach((x, i) => v.setFloat32(at + 4 * i, x)), 8)));
    expect([f32.dtype, flat(f32)]).toEqual(['float32', [1.5, -0.25]]);
    const f64 = tg.data.readIdx(write('f64.idx', idx(0x0e, [1], (v, at) => v.setFloat64(at, Math.PI), 8)));
    expect([f64.dtype, flat(f64)]).toEqual(['float64', [Math.PI]]);
    const empty = tg.data.readIdx(write('empty.idx', idx(0x08, [0, 28, 28], () => undefined, 0)));
    expect(empty.shape).toEqual([0, 28, 28]);
  });

  test('corrupt files: exact messages', () => {
    const bad = (name: string, bytes: Uint8Array, problem: string) => {
      const file = write(name, bytes);
      expect(() => tg.data.readIdx(file)).toThrow(new CorruptFileError(`readIdx: ${file} is not a valid IDX file: ${problem}`));
    };
    bad('short', Buffer.from([0, 0, 8]), 'it has 3 bytes, fewer than the 4-byte magic number');
    bad('magic', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), 'the magic number 0x504b0304 does not start with two zero bytes');
    bad('type', Buffer.from([0, 0, 7, 1, 0, 0, 0, 0]), 'unknown data type 0x07 in the magic number 0x00000701');
    bad('ndim0', Buffer.from([0, 0, 8, 0]), 'the magic number 0x00000800 declares 0 dimensions');
    bad('header', Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]), 'the header declares 3 dimensions (16 header bytes) but the file has 10 bytes');
    const few = idx(0x08, [10, 28, 28], () => undefined, 7839);
    bad('few', few, 'dims [10,28,28] of uint8 need 7840 data bytes but the file has 7839 after the 16-byte header');
    bad('many.gz', gzipSync(idx(0x0b, [3], () => undefined, 8)), 'dims [3] of int16 need 6 data bytes but the file has 8 after the 8-byte header');
    const gz = write('broken.gz', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(12, 0x41)]));
    expect(() => tg.data.readIdx(gz)).toThrow(CorruptFileError);
    expect(() => tg.data.readIdx(gz)).toThrow(new RegExp(`^readIdx: ${gz} is not valid gzip data \\(.+\\)$`));
    const truncated = write('truncated.gz', gzipSync(idx(0x08, [4], () => undefined, 4)).subarray(0, 15));
    expect(() => tg.data.readIdx(truncated)).toThrow(`readIdx: ${truncated} is not valid gzip data (unexpected end of file)`);
    expect(() => tg.data.readIdx(path.join(dir, 'missing.idx'))).toThrow(/ENOENT: no such file or directory/);
  });
});

describe('readCsv', () => {
  test('the digits file: 1797 rows of 64 pixels and a label', () => {
    const { data, header } = tg.data.readCsv(DIGITS);
    expect(header).toBeNull();
    expect(data.dtype).toBe('float32');
    expect(data.shape).toEqual([1797, 65]);
    const v = data.data();
    let min = Infinity;
    let max = -Infinity;
    const labels: number[] = [];
    for (let r = 0; r < 1797; r++) {
      for (let c = 0; c < 64; c++) {
        min = Math.min(min, v[r * 65 + c]);
        max = Math.max(max, v[r * 65 + c]);
      }
      labels.push(v[r * 65 + 64]);
    }
    expect([min, max]).toEqual([0, 16]);
    expect(counts(labels)).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  });

  test('loadDigits reads the copy the package ships', () => {
    const { images, labels } = tg.data.loadDigits();
    expect(images.shape).toEqual([1797, 1, 8, 8]);
    expect(labels.dtype).toBe('int32');
    expect(counts(labels.data())).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    expect(images.max().item()).toBe(1);
    const other = tg.data.loadDigits({ path: DIGITS });
    expect(flat(other.labels)).toEqual(flat(labels));
  });

  test('header, delimiter, quotes, CRLF, blank lines, special values, gzip', () => {
    const text = '\ufeff"a";b;"c ""x"""\r\n1;2.5;-3e2\r\n\r\n "4" ; .5 ;inf\r\n-Infinity;NaN;+7\r\n\r\n';
    const expectRows = (r: { data: tg.Tensor; header: string[] | null }) => {
      expect(r.header).toEqual(['a', 'b', 'c "x"']);
      expect(r.data.shape).toEqual([3, 3]);
      expect(flat(r.data)).toEqual([1, 2.5, -300, 4, 0.5, Infinity, -Infinity, NaN, 7]);
    };
    expectRows(tg.data.readCsv(write('semi.csv', text), { header: true, delimiter: ';' }));
    expectRows(tg.data.readCsv(write('semi.csv.gz', gzipSync(text)), { header: true, delimiter: ';' }));
    const tabs = tg.data.readCsv(write('t.tsv', '1\t2\n3\t4'), { delimiter: '\t' });
    expect(tabs.data.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tg.data.readCsv(write('empty.csv', '\n\n')).data.shape).toEqual([0, 0]);
    const onlyHeader = tg.data.readCsv(write('h.csv', 'x,y\n'), { header: true });
    expect([onlyHeader.header, onlyHeader.data.shape]).toEqual([['x', 'y'], [0, 2]]);
  });

  test('bad cells and rows name the file, line and column', () => {
    const bad = (text: string, problem: string, options?: { header?: boolean }) => {
      const file = write('bad.csv', text);
      expect(() => tg.data.readCsv(file, options)).toThrow(new CorruptFileError(`readCsv: ${file} ${problem}`));
    };
    bad('1,2\n3,abc\n', 'line 2: column 2: "abc" is not a number');
    bad('w,h\n\n1,2\n3,x4\n', 'line 4: column 2 ("h"): "x4" is not a number', { header: true });
    bad('1,2\n,3\n', 'line 2: column 1: the cell is empty');
    bad('1,0x10\n', 'line 1: column 2: "0x10" is not a number');
    bad('1,2,3\n4,5\n', 'line 2: 2 columns where line 1 has 3');
    bad('1,"2\n', 'line 1: a quoted cell is not closed on this line');
    bad('a,b\n1,2\n', 'line 1: column 1: "a" is not a number');
    expect(() => tg.data.readCsv(DIGITS, { delimiter: ', ' })).toThrow(
      new TypeError("readCsv: Expected a single character other than a quote or newline for delimiter but received ', '"),
    );
    expect(() => tg.data.readCsv(DIGITS, { header: 'yes' as never })).toThrow(
      new TypeError("readCsv: Expected a boolean for header but received 'yes'"),
    );
  });
});

describe('channelStats and normalize', () => {
  const shape = [4, 3, 5, 6];
  const values = randomValues(4 * 3 * 5 * 6, 11, -1, 3);

  /** Plain JS reference: two passes in double precision over N, H, W per channel. */
  function reference(v: ArrayLike<number>, [n, c, h, w]: number[]) {
    const mean: number[] = [];
    const std: number[] = [];
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let i = 0; i < n; i++) for (let k = 0; k < h * w; k++) s += v[(i * c + ch) * h * w + k];
      const m = s / (n * h * w);
      let q = 0;
      for (let i = 0; i < n; i++) for (let k = 0; k < h * w; k++) q += (v[(i * c + ch) * h * w + k] - m) ** 2;
      mean.push(m);
      std.push(Math.sqrt(q / (n * h * w)));
    }
    return { mean, std };
  }

  test('matches the plain JS reference for float64, float32 and uint8 images', () => {
    const ref = reference(values, shape);
    const s64 = tg.data.channelStats(tg.tensor(values, { shape, dtype: 'float64' }));
    expectClose(s64.mean, ref.mean, { atol: 1e-12, rtol: 1e-12 });
    expectClose(s64.std, ref.std, { atol: 1e-12, rtol: 1e-12 });
    const f32 = tg.tensor(values, { shape });
    const ref32 = reference(f32.data(), shape);
    const s32 = tg.data.channelStats(f32);
    expectClose(s32.mean, ref32.mean, { atol: 1e-6, rtol: 1e-5 });
    expectClose(s32.std, ref32.std, { atol: 1e-6, rtol: 1e-5 });
    const bytes = Uint8Array.from(values, (x) => Math.round((x + 1) * 60));
    const su8 = tg.data.channelStats(tg.tensor(bytes, { shape }));
    const refU8 = reference(bytes, shape);
    expectClose(su8.mean, refU8.mean, { atol: 1e-4, rtol: 1e-6 });
    expectClose(su8.std, refU8.std, { atol: 1e-4, rtol: 1e-6 });
    // [N, C] features: per-column statistics
    const cols = tg.data.channelStats(tg.tensor([[1, 10], [3, 30]]));
    expect(cols).toEqual({ mean: [2, 20], std: [1, 10] });
  });

  test('normalize subtracts and divides per channel; the result has mean 0 and std 1', () => {
    const x = tg.tensor(values, { shape, dtype: 'float64' });
    const { mean, std } = tg.data.channelStats(x);
    const y = tg.data.normalize(x, mean, std);
    expect(y.dtype).toBe('float64');
    const v = y.data();
    const hw = 30;
    for (let i = 0; i < v.length; i += 37) {
      const ch = Math.floor(i / hw) % 3;
      expect(v[i]).toBeCloseTo((values[i] - mean[ch]) / std[ch], 12);
    }
    const after = tg.data.channelStats(y);
    expectClose(after.mean, [0, 0, 0], { atol: 1e-12 });
    expectClose(after.std, [1, 1, 1], { atol: 1e-12 });
    const u = tg.data.normalize(tg.tensor(Uint8Array.from([0, 255, 51, 102]), { shape: [2, 1, 2] }), 0.5, 0.5);
    expect(u.dtype).toBe('float32');
    expectClose(u.data(), [-1, 509, 101, 203]);
  });

  test('errors', () => {
    const x = tg.ones([2, 3, 4, 4]);
    expect(() => tg.data.normalize(x, [0, 0], [1, 1, 1])).toThrow(
      new RangeError('normalize: Expected 3 values (one per channel) for mean but received [0,0]'),
    );
    expect(() => tg.data.normalize(x, 0, [1, 0, 1])).toThrow(new RangeError('normalize: Expected positive values for std[1] but received 0'));
    expect(() => tg.data.normalize(x, 'a' as never, 1)).toThrow(
      new TypeError("normalize: Expected a finite number or an array of finite numbers for mean but received 'a'"),
    );
    expect(() => tg.data.channelStats(tg.ones([5]))).toThrow(
      new RangeError('channelStats: Expected a tensor of shape [N,C,...] for images but received a float32 tensor of shape [5]'),
    );
    expect(() => tg.data.channelStats(tg.ones([0, 3]))).toThrow(
      new RangeError('channelStats: Expected a non-empty tensor for images but received a float32 tensor of shape [0,3]'),
    );
  });
});

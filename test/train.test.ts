import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as tg from '../lib/index';
import { parseArgs } from '../lib/bench/run';
import { PeerError } from '../lib/bench/peers';
import type { BenchContext } from '../lib/bench/session';
import { runTrain, trainTable } from '../lib/bench/train';
import { Progress, type ProgressStream } from '../lib/train/progress';
import { MNIST_DIR, rng, thrown } from './helpers';

const { nn, train } = tg;
const MNIST = MNIST_DIR;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Three Gaussian blobs in the plane, n points, labels 0..2 in turn. */
function blobs(n: number, seed: number, shift = 0): { x: tg.Tensor; y: tg.Tensor } {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const centers = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x[2 * i] = centers[c][0] + 0.6 * gauss();
    x[2 * i + 1] = centers[c][1] + 0.6 * gauss();
    y[i] = (c + shift) % 3;
  }
  return { x: tg.tensor(x, { shape: [n, 2] }), y: tg.tensor(y) };
}

function mlp(seed = 0): tg.nn.Sequential {
  tg.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 3));
}

function loader(d: { x: tg.Tensor; y: tg.Tensor }, batchSize: number, shuffle = false): tg.data.DataLoader<tg.Tensor[]> {
  return new tg.data.DataLoader(new tg.data.TensorDataset(d.x, d.y), { batchSize, shuffle, seed: 1 });
}

/** A stream that keeps what is written. */
function fakeStream(isTTY: boolean, columns?: number): ProgressStream & { text: string } {
  return {
    isTTY,
    columns,
    text: '',
    write(s: string) {
      this.text += s;
      return true;
    },
  };
}

function copyState(model: tg.nn.Module): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Float32Array.from(t.data() as Float32Array)]));
}

function expectState(model: tg.nn.Module, expected: Record<string, Float32Array>): void {
  const state = model.stateDict();
  expect(Object.keys(state)).toEqual(Object.keys(expected));
  for (const [k, t] of Object.entries(state)) expect(Array.from(t.data()), k).toEqual(Array.from(expected[k]));
}

function expectError(fn: () => unknown, cls: abstract new (...a: never[]) => Error, message: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.message).toBe(message);
}

async function expectRejection(p: Promise<unknown>, cls: abstract new (...a: never[]) => Error, message: string): Promise<void> {
  const e = await p.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err as Error,
  );
  expect(e).toBeInstanceOf(cls);
  expect(e.message).toBe(message);
}

/**
 * Training on the blobs and validating on the same points with every label
 * shifted by one: the better the model learns, the worse the validation loss, so
 * the first epoch is the best one.
 */
function worseningRun(): { model: tg.nn.Sequential; trainData: tg.data.DataLoader<tg.Tensor[]>; val: tg.data.DataLoader<tg.Tensor[]> } {
  return { model: mlp(3), trainData: loader(blobs(150, 5), 30, true), val: loader(blobs(150, 5, 1), 50) };
}

describe('fit', () => {
  test('returns one record per epoch; the loss falls and the metrics are sample-weighted means', async () => {
    const model = mlp();
    const optimizer = new tg.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const constant = () => 0.25;
    // batches of 64, 64 and 22: a per-batch mean weighted by sample counts
    const batchSize = (_output: tg.Tensor, target: tg.Tensor) => target.shape[0];
    const history = await train.fit(model, {
      train: loader(blobs(300, 1), 32, true),
      validation: loader(blobs(150, 2), 64),
      epochs: 4,
      optimizer,
      metrics: ['accuracy', constant, batchSize],
      log: false,
    });
    expect(history.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    expect(Object.keys(history[0]).sort()).toEqual(['epoch', 'lr', 'seconds', 'trainLoss', 'valAccuracy', 'valLoss', 'valMetrics']);
    expect(history[3].trainLoss).toBeLessThan(history[0].trainLoss * 0.5);
    expect(history[3].valLoss!).toBeLessThan(0.2);
    expect(history[3].valAccuracy!).toBeGreaterThan(0.95);
    for (const r of history) {
      expect(r.lr).toBe(0.1);
      expect(r.seconds).toBeGreaterThan(0);
      expect(r.valAccuracy).toBe(r.valMetrics.accuracy);
      expect(r.valMetrics.constant).toBeCloseTo(0.25, 12);
      expect(r.valMetrics.batchSize).toBeCloseTo((64 * 64 + 64 * 64 + 22 * 22) / 150, 10);
    }
  });

  test('takes { input, target } batches from any re-iterable, and no validation data', async () => {
    const d = blobs(90, 3);
    const batches = [0, 30, 60].map((at) => ({ input: d.x.narrow(0, at, 30), target: d.y.narrow(0, at, 30) }));
    const model = mlp();
    const history = await train.fit(model, {
      train: batches, epochs: 3, optimizer: new tg.optim.Adam(model.parameters(), { lr: 0.01 }), log: false,
    });
    expect(history).toHaveLength(3);
    expect(history[2].valLoss).toBeNull();
    expect(history[2].valAccuracy).toBeNull();
    expect(history[2].valMetrics).toEqual({});
    expect(history[2].trainLoss).toBeLessThan(history[0].trainLoss);
  });

  test('trains in training mode with grad, validates in eval mode without, and restores every module flag', async () => {
    const seen: string[] = [];
    class Probe extends nn.Module {
      forward(x: tg.Tensor): tg.Tensor {
        seen.push(`${this.training ? 'train' : 'eval'}/${tg.isGradEnabled() ? 'grad' : 'nograd'}`);
        return x;
      }
    }
    const probe = new Probe();
    tg.manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(2, 3), probe);
    probe.eval(); // a frozen layer stays frozen after fit
    await train.fit(model, {
      train: loader(blobs(60, 1), 30), validation: loader(blobs(30, 2), 30), epochs: 2,
      optimizer: new tg.optim.SGD(model.parameters(), { lr: 0.1 }), log: false,
    });
    expect(seen).toEqual(['train/grad', 'train/grad', 'eval/nograd', 'train/grad', 'train/grad', 'eval/nograd']);
    expect(model.training).toBe(true);
    expect(probe.training).toBe(false);
  });

  test('early stopping stops after patience epochs and restores the best weights', async () => {
    const { model, trainData, val } = worseningRun();
    const snapshots: Record<string, Float32Array>[] = [];
    const history = await train.fit(model, {
      train: trainData, validation: val, epochs: 20, log: false,
      optimizer: new tg.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }),
      earlyStopping: { patience: 2 },
      onEpochEnd: (_record, { model: m }) => {
        snapshots.push(copyState(m));
      },
    });
    expect(history).toHaveLength(3);
    expect(history[1].valLoss!).toBeGreaterThan(history[0].valLoss!);
    expect(history[2].valLoss!).toBeGreaterThan(history[0].valLoss!);
    expectState(model, snapshots[0]);
    expect(train.evaluate(model, val).loss).toBeCloseTo(history[0].valLoss!, 6);
  });

  test('early stopping without restoreBestWeights keeps the last weights; minDelta counts small gains as none', async () => {
    const { model, trainData, val } = worseningRun();
    let last: Record<string, Float32Array> = {};
    const history = await train.fit(model, {
      train: trainData, validation: val, epochs: 20, log: false,
      optimizer: new tg.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }),
      earlyStopping: { patience: 1, restoreBestWeights: false },
      onEpochEnd: (_record, { model: m }) => {
        last = copyState(m);
      },
    });
    expect(history).toHaveLength(2);
    expectState(model, last);

    // the training loss falls every epoch, but by less than minDelta = 10 after the first
    const m2 = mlp();
    const h2 = await train.fit(m2, {
      train: loader(blobs(150, 1), 30), epochs: 10, log: false,
      optimizer: new tg.optim.SGD(m2.parameters(), { lr: 0.05 }),
      earlyStopping: { patience: 3, minDelta: 10 },
    });
    expect(h2).toHaveLength(4);
  });

  test('a checkpoint holds the best epoch: model and optimizer state that loadCheckpoint puts back', async () => {
    const { model, trainData, val } = worseningRun();
    const optimizer = new tg.optim.Adam(model.parameters(), { lr: 0.02 });
    const file = path.join(tmp, 'best.safetensors');
    const snapshots: Record<string, Float32Array>[] = [];
    const optimizerSteps: number[] = [];
    await train.fit(model, {
      train: trainData, validation: val, epochs: 3, optimizer, checkpoint: file, log: false,
      onEpochEnd: (_record, { model: m, optimizer: o }) => {
        snapshots.push(copyState(m));
        optimizerSteps.push((o.stateDict().state as Record<number, { step: number }>)[0].step);
      },
    });
    expect(optimizerSteps).toEqual([5, 10, 15]);

    const raw = await tg.load(file);
    expect(Object.keys(raw.tensors).filter((k) => k.startsWith('model.')).sort()).toEqual(
      ['model.0.bias', 'model.0.weight', 'model.2.bias', 'model.2.weight'],
    );
    expect(Object.keys(raw.tensors).filter((k) => k.startsWith('optimizer.'))).toHaveLength(8); // two moments of four
    expect(JSON.parse(raw.metadata.info).epoch).toBe(1);

    const fresh = mlp(99);
    const freshOptimizer = new tg.optim.Adam(fresh.parameters(), { lr: 0.5 });
    const loaded = await train.loadCheckpoint(file, fresh, { optimizer: freshOptimizer });
    expect(loaded.hasOptimizer).toBe(true);
    expect(loaded.info.epoch).toBe(1);
    expectState(fresh, snapshots[0]);
    const state = freshOptimizer.stateDict();
    expect(state.paramGroups[0].lr).toBe(0.02);
    expect((state.state as Record<number, { step: number }>)[0].step).toBe(5);

    // saveBestOnly: false writes every epoch, so the file holds the last one
    const every = path.join(tmp, 'every.safetensors');
    const m2 = mlp();
    await train.fit(m2, {
      train: loader(blobs(60, 1), 30), validation: val, epochs: 2, log: false,
      optimizer: new tg.optim.SGD(m2.parameters(), { lr: 0.1 }),
      checkpoint: { path: every, saveBestOnly: false, optimizer: false },
    });
    const fresh2 = mlp(7);
    const l2 = await train.loadCheckpoint(every, fresh2);
    expect(l2.info.epoch).toBe(2);
    expect(l2.hasOptimizer).toBe(false);
    expectState(fresh2, copyState(m2));
  });

  test('history goes to a JSON-lines file, appended epoch by epoch', async () => {
    const file = path.join(tmp, 'runs', 'a', 'history.jsonl');
    const model = mlp();
    const optimizer = new tg.optim.SGD(model.parameters(), { lr: 0.1 });
    const lines: number[] = [];
    const h1 = await train.fit(model, {
      train: loader(blobs(60, 1), 30), validation: loader(blobs(30, 2), 30), epochs: 2, optimizer, history: file, log: false,
      onEpochEnd: () => {
        lines.push(fs.readFileSync(file, 'utf8').trim().split('\n').length);
      },
    });
    expect(lines).toEqual([1, 2]);
    const h2 = await train.fit(model, { train: loader(blobs(60, 1), 30), epochs: 1, optimizer, history: file, log: false });
    const records = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(records).toEqual([...h1, ...h2]);
  });

  test('steps a scheduler per epoch, ReduceLROnPlateau on the validation loss, and per batch when asked', async () => {
    let model = mlp();
    let optimizer = new tg.optim.SGD(model.parameters(), { lr: 0.1 });
    let history = await train.fit(model, {
      train: loader(blobs(60, 1), 30), epochs: 3, optimizer, log: false,
      scheduler: new tg.optim.StepLR(optimizer, 1, { gamma: 0.5 }),
    });
    expect(history.map((r) => r.lr)).toEqual([0.1, 0.05, 0.025]);

    const run = worseningRun();
    optimizer = new tg.optim.SGD(run.model.parameters(), { lr: 0.1 });
    history = await train.fit(run.model, {
      train: run.trainData, validation: run.val, epochs: 3, optimizer, log: false,
      scheduler: new tg.optim.ReduceLROnPlateau(optimizer, { patience: 0 }),
    });
    // epoch 1 sets the best; epoch 2 is worse, so epoch 3 runs at a tenth
    expect(history.map((r) => r.lr)).toEqual([0.1, 0.1, expect.closeTo(0.01, 12)]);

    model = mlp();
    optimizer = new tg.optim.SGD(model.parameters(), { lr: 0.1 });
    const batches = loader(blobs(60, 1), 15); // 4 batches an epoch
    history = await train.fit(model, {
      train: batches, epochs: 2, optimizer, log: false, schedulerInterval: 'batch',
      scheduler: new tg.optim.LinearLR(optimizer, { startFactor: 1, endFactor: 0.5, totalIters: 4 }),
    });
    expect(history.map((r) => r.lr)).toEqual([0.1, expect.closeTo(0.05, 12)]);
  });

  test('onEpochEnd returning false stops training; an async callback is awaited', async () => {
    const model = mlp();
    const calls: number[] = [];
    const history = await train.fit(model, {
      train: loader(blobs(60, 1), 30), epochs: 10, optimizer: new tg.optim.SGD(model.parameters(), { lr: 0.1 }), log: false,
      onEpochEnd: async (record) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        calls.push(record.epoch);
        return record.epoch < 3;
      },
    });
    expect(calls).toEqual([1, 2, 3]);
    expect(history).toHaveLength(3);
  });

  test('writes a redrawn progress bar to a terminal and plain lines elsewhere', async () => {
    const run = async (stream: ProgressStream) => {
      const model = mlp();
      await train.fit(model, {
        train: loader(blobs(300, 1), 10), validation: loader(blobs(60, 2), 60), epochs: 2,
        optimizer: new tg.optim.SGD(model.parameters(), { lr: 0.1 }), log: stream,
      });
    };
    const tty = fakeStream(true, 120);
    await run(tty);
    expect(tty.text).toContain('\r');
    expect(tty.text).toContain('\x1b[K');
    expect(tty.text).toMatch(/\repoch 1\/2 {2}\[=+ *\] 30\/30 {2}loss [\d.]+ {2}\d+ samples\/s {2}ETA 0s\x1b\[K/);
    const lines = tty.text.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(2); // one per epoch: the bar, redrawn, ends as the summary
    expect(lines[1]).toMatch(/\repoch 2\/2 {2}loss [\d.]+ {2}val loss [\d.]+ {2}val acc [\d.]+% {2}lr 0\.1 {2}[\d.]+s( {2}best)?\x1b\[K$/);

    const plain = fakeStream(false);
    await run(plain);
    expect(plain.text).not.toContain('\r');
    expect(plain.text).not.toContain('\x1b');
    const summaries = plain.text.split('\n').filter((l) => l.includes('val loss'));
    expect(summaries).toHaveLength(2);
    expect(summaries[0]).toMatch(/^epoch 1\/2 {2}loss [\d.]+ {2}val loss [\d.]+ {2}val acc [\d.]+% {2}lr 0\.1 {2}[\d.]+s$/);
  });

  test('an early stop and the restored weights are reported on the progress stream', async () => {
    const { model, trainData, val } = worseningRun();
    const out = fakeStream(false);
    await train.fit(model, {
      train: trainData, validation: val, epochs: 20, log: out,
      optimizer: new tg.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }),
      earlyStopping: { patience: 2 },
    });
    const lines = out.text.trim().split('\n');
    expect(lines.slice(-2)).toEqual([
      'early stopping after epoch 3: no improvement of the validation loss for 2 epoch(s)',
      expect.stringMatching(/^restored the weights of epoch 1 \(monitored loss [\d.]+\)$/),
    ]);
  });

  test('native memory stays flat over 3,000 steps with no dispose call', async () => {
    const model = mlp();
    const samples: number[] = [];
    await train.fit(model, {
      train: loader(blobs(300, 1), 5, true), validation: loader(blobs(30, 2), 30), epochs: 50, log: false,
      optimizer: new tg.optim.Adam(model.parameters(), { lr: 1e-3 }),
      onEpochEnd: () => {
        samples.push(tg.memory().cpuBytes);
      },
    });
    // one step allocates a few KB; uncollected, 3,000 steps would hold tens of MB
    const bound = 4 * 1024 * 1024;
    expect(Math.max(...samples)).toBeLessThan(bound);
    expect(Math.max(...samples.slice(25))).toBeLessThan(Math.max(...samples.slice(0, 25)) + bound / 2);
  });

  test('rejects bad arguments by name', async () => {
    const model = mlp();
    const optimizer = new tg.optim.SGD(model.parameters(), { lr: 0.1 });
    const data = loader(blobs(30, 1), 10);
    const d = blobs(4, 1);
    await expectRejection(train.fit({} as tg.nn.Module, { train: data, optimizer }), TypeError, 'fit: Expected a Module for model but received a Object');
    await expectRejection(train.fit(model, { train: 5 as never, optimizer }), TypeError, 'fit: Expected a DataLoader or an iterable of batches for train but received 5');
    await expectRejection(train.fit(model, { train: data, optimizer: {} as never }), TypeError, 'fit: Expected an optimizer (tg.optim) for optimizer but received a Object');
    await expectRejection(train.fit(model, { train: data, optimizer, epochs: 0 }), RangeError, 'fit: Expected a positive integer for epochs but received 0');
    await expectRejection(
      train.fit(model, { train: data, optimizer, metrics: [(o: tg.Tensor) => o.shape[0]] }),
      TypeError, 'fit: Expected a named function (this one has no name) for metrics[0] but received a function',
    );
    await expectRejection(
      train.fit(model, { train: data, optimizer, metrics: ['f1' as never] }),
      TypeError, "fit: Expected 'accuracy' or a named function for metrics[0] but received 'f1'",
    );
    await expectRejection(
      train.fit(model, { train: [[d.x]], optimizer, log: false }),
      TypeError, 'fit: Expected a batch [input, target] or { input, target } for train batch 0 but received [a float32 tensor of shape [4,2]]',
    );
    await expectRejection(
      train.fit(model, { train: [[d.x, [0, 1, 2, 0]]], optimizer, log: false }),
      TypeError, 'fit: Expected a Tensor for the target of train batch 0 but received [0,1,2,0]',
    );
    await expectRejection(
      train.fit(model, { train: [[d.x, d.y]], optimizer, log: false, loss: (o, t) => tg.nn.functional.crossEntropy(o, t, { reduction: 'none' }) }),
      TypeError, 'fit: Expected a one-element tensor (a batch mean) from the loss function but received a float32 tensor of shape [4]',
    );
    await expectRejection(
      train.fit(model, { train: data, optimizer, earlyStopping: { patience: -1 } }),
      RangeError, 'fit: Expected a non-negative integer for earlyStopping.patience but received -1',
    );
    await expectRejection(
      train.fit(model, { train: data, optimizer, checkpoint: { path: '' } }),
      TypeError, "fit: Expected a file path for checkpoint.path but received ''",
    );
    await expectRejection(
      train.fit(model, { train: data, optimizer, scheduler: new tg.optim.ReduceLROnPlateau(optimizer), schedulerInterval: 'batch' }),
      TypeError, "fit: Expected 'epoch' for ReduceLROnPlateau (it needs the epoch's loss) for schedulerInterval but received 'batch'",
    );
    await expectRejection(train.fit(model, { train: data, optimizer, log: 'yes' as never }), TypeError, "fit: Expected true, false or a stream with write() for log but received 'yes'");
    function* once() {
      yield [d.x, d.y];
    }
    await expectRejection(
      train.fit(model, { train: once(), optimizer, epochs: 2, log: false }),
      RangeError, 'fit: the training data yielded no batches in epoch 2 (a generator runs once; pass a DataLoader or an array of batches)',
    );
  });
});

describe('evaluate', () => {
  test('the mean loss and accuracy over uneven batches, without grad, in eval mode, with modes restored', () => {
    const model = mlp(4);
    const d = blobs(70, 9);
    const result = train.evaluate(model, loader(d, 32)); // 32, 32, 6
    const logits = tg.noGrad(() => model.forward(d.x));
    const loss = tg.nn.functional.crossEntropy(logits, d.y).item();
    const predicted = logits.argmax(1).data();
    const labels = d.y.data();
    const hits = Array.from(predicted).filter((p, i) => p === labels[i]).length;
    expect(result.samples).toBe(70);
    expect(result.loss).toBeCloseTo(loss, 5);
    expect(result.metrics.accuracy).toBeCloseTo(hits / 70, 6);
    expect(model.training).toBe(true);
    for (const p of model.parameters()) expect(p.grad).toBeNull();

    model.eval();
    const withDropout = new nn.Sequential(model, new nn.Dropout(0.9));
    withDropout.train();
    model.eval();
    // Dropout is off in evaluate, so the loss is the plain model's
    expect(train.evaluate(withDropout, loader(d, 32), { metrics: [] })).toEqual({ loss: result.loss, metrics: {}, samples: 70 });
    expect(model.training).toBe(false);
    expect(withDropout.training).toBe(true);
  });

  test('accuracy takes class indices or probabilities; other losses plug in', () => {
    const logits = tg.tensor([[2, 1, 0], [0, 3, 1], [1, 0, 0.5], [0, 0, 4]]);
    expect(train.accuracy(logits, tg.tensor(Int32Array.from([0, 1, 2, 2])))).toBe(0.75);
    expect(train.accuracy(logits, tg.tensor([[1, 0, 0], [0, 0, 1], [0.2, 0.1, 0.7], [0, 0, 1]]))).toBe(0.5);
    expectError(
      () => train.accuracy(logits, tg.tensor(Int32Array.from([0, 1]))),
      RangeError, 'accuracy: the target [2] does not fit the output [4,3] (expected class indices [4])',
    );
    const x = tg.tensor([[1], [2], [3]]);
    const y = tg.tensor([[2], [4], [6]]);
    tg.manualSeed(0);
    const lin = new nn.Linear(1, 1);
    const r = train.evaluate(lin, [[x, y]], { loss: tg.nn.functional.mseLoss, metrics: [] });
    const expected = tg.noGrad(() => tg.nn.functional.mseLoss(lin.forward(x), y).item());
    expect(r.loss).toBeCloseTo(expected, 6);
  });

  test('rejects bad arguments by name', () => {
    const model = mlp();
    expectError(() => train.evaluate(model, null as never), TypeError, 'evaluate: Expected a DataLoader or an iterable of batches for data but received null');
    expectError(() => train.evaluate(model, [], { loss: 3 as never }), TypeError, 'evaluate: Expected a loss function (output, target) => Tensor for loss but received 3');
    expectError(() => train.evaluate(model, []), RangeError, 'evaluate: the data yielded no samples (a generator runs once; pass a DataLoader or an array of batches)');
  });
});

describe('Progress', () => {
  /** A clock the test moves by hand. */
  function clock() {
    const c = { t: 0, now: () => c.t };
    return c;
  }

  test('on a terminal: redraws throttled to redrawMs, the last batch always drawn, cut to the width', () => {
    const c = clock();
    const out = fakeStream(true, 60);
    const p = new Progress(out, { epochs: 3, now: c.now, redrawMs: 100 });
    p.startEpoch(2, 50);
    for (let i = 1; i <= 50; i++) {
      c.t += 10; // 10 ms a batch: a redraw every 10 batches
      p.step(i, 1 / i, 32 * i);
    }
    const draws = out.text.split('\r').filter((s) => s !== '');
    expect(draws).toHaveLength(5);
    for (const d of draws) expect(d.replace('\x1b[K', '').length).toBeLessThanOrEqual(59);
    expect(draws[0]).toBe('epoch 2/3  [=====                   ] 10/50  loss 0.1  3200\x1b[K');
    p.endEpoch({ epoch: 2, trainLoss: 0.25, valLoss: 0.5, valMetrics: { accuracy: 0.9876, f1: 0.5 }, lr: 1e-4, seconds: 0.5 });
    expect(out.text.endsWith('\repoch 2/3  loss 0.25  val loss 0.5  val acc 98.76%  val f1 0.5  lr 1e-4  0.5s\x1b[K\n')).toBe(true);
  });

  test('the terminal line: bar, count, running loss, samples/s and ETA', () => {
    const c = clock();
    const out = fakeStream(true);
    const p = new Progress(out, { epochs: 10, now: c.now });
    p.startEpoch(1, 200);
    c.t = 50_000;
    p.step(100, 0.123456, 6400);
    expect(out.text).toBe('\repoch  1/10  [============            ] 100/200  loss 0.1235  128 samples/s  ETA 50s\x1b[K');
  });

  test('elsewhere: a line at each tenth unless within minGapS of the last, and every intervalS', () => {
    const c = clock();
    const out = fakeStream(false);
    const p = new Progress(out, { epochs: 1, now: c.now, intervalS: 60 });
    p.startEpoch(1, 100);
    for (let i = 1; i <= 100; i++) {
      c.t += 2000; // 2 s a batch: every tenth gets its line
      p.step(i, 0.5, 10 * i);
    }
    let lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(9); // tenths 1..9; the summary stands for the tenth
    expect(lines[0]).toBe('epoch 1/1  batch  10/100  loss 0.5  5 samples/s  ETA 3m00s');
    expect(lines[8]).toMatch(/^epoch 1\/1  batch  90\/100 .* ETA 20s$/);

    out.text = '';
    p.startEpoch(1, 100);
    for (let i = 1; i <= 100; i++) {
      c.t += 1; // a fast epoch: no line before the summary
      p.step(i, 0.5, 10 * i);
    }
    expect(out.text).toBe('');

    // no known length: only the interval applies (default 10 s)
    const q = new Progress(out, { epochs: 1, now: c.now });
    q.startEpoch(1, null);
    for (let i = 1; i <= 10; i++) {
      c.t += 4000;
      q.step(i, 0.5, i);
    }
    lines = out.text.trim().split('\n');
    expect(lines).toEqual(['epoch 1/1  batch 3  loss 0.5  0 samples/s', 'epoch 1/1  batch 6  loss 0.5  0 samples/s', 'epoch 1/1  batch 9  loss 0.5  0 samples/s']);
  });
});

describe('accuracy targets', () => {
  test('the digits CNN of the demo (same split, model and recipe) reaches 97% test accuracy', async () => {
    const { images, labels } = tg.data.loadDigits();
    const n = labels.shape[0];
    const r = rng(0);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const nTest = 360;
    const pick = (t: tg.Tensor, from: number, count: number) => t.indexSelect(0, tg.tensor(order.subarray(from, from + count)));
    const trainSet = new tg.data.TensorDataset(pick(images, nTest, n - nTest), pick(labels, nTest, n - nTest));
    const testSet = new tg.data.TensorDataset(pick(images, 0, nTest), pick(labels, 0, nTest));
    tg.manualSeed(0);
    const model = new nn.Sequential(
      new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.ReLU(),
      new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.ReLU(),
      new nn.MaxPool2d(2), new nn.Flatten(),
      new nn.Linear(32 * 4 * 4, 64), new nn.ReLU(),
      new nn.Linear(64, 10),
    );
    const optimizer = new tg.optim.Adam(model.parameters(), { lr: 2e-3 });
    const epochs = 12;
    const start = performance.now();
    await train.fit(model, {
      train: new tg.data.DataLoader(trainSet, { batchSize: 32, shuffle: true, seed: 0 }),
      epochs, optimizer, log: false,
      scheduler: new tg.optim.CosineAnnealingLR(optimizer, epochs),
    });
    const { metrics } = train.evaluate(model, new tg.data.DataLoader(testSet, { batchSize: 360 }));
    console.log(`digits CNN: test accuracy ${(100 * metrics.accuracy).toFixed(2)}% in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.97);
  });

  test('an MLP 784-256-10 reaches 97% test accuracy on MNIST after one epoch', async () => {
    const start = performance.now();
    // standardized with MNIST's mean and std, flattened to 784
    const prepare = (split: 'train' | 'test') => {
      const { images, labels } = tg.data.loadMnist(MNIST, { split });
      const x = tg.noGrad(() => images.reshape([images.shape[0], 784]).sub(0.1307).div(0.3081));
      return new tg.data.TensorDataset(x, labels);
    };
    const trainSet = prepare('train');
    const testSet = prepare('test');
    tg.manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const optimizer = new tg.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const batches = new tg.data.DataLoader(trainSet, { batchSize: 64, shuffle: true, seed: 0 });
    const history = await train.fit(model, {
      train: batches, validation: new tg.data.DataLoader(testSet, { batchSize: 1000 }), epochs: 1, optimizer, log: false,
      // the lr falls linearly over the epoch's batches to a hundredth
      scheduler: new tg.optim.LinearLR(optimizer, { startFactor: 1, endFactor: 0.01, totalIters: batches.length }),
      schedulerInterval: 'batch',
    });
    console.log(`MNIST MLP: test accuracy ${(100 * history[0].valAccuracy!).toFixed(2)}% after one epoch in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    expect(history).toHaveLength(1);
    expect(history[0].valAccuracy!).toBeGreaterThanOrEqual(0.97);
  });
});

describe('bench train', () => {
  test('times our training steps; a missing peer reads n/a with its reason', async () => {
    const ctx: BenchContext = {
      quick: true,
      threads: [1],
      measure: { minTimeS: 0.02, minReps: 2, warmTimeS: 0.01 },
      session: { inheritEnv: false, settleMs: 0, requestTimeoutMs: 10_000, log: () => {} },
      peers: [{ name: 'tfjs-wasm', ok: false, error: new PeerError('not installed', 'npm install -D @tensorflow/tfjs-backend-wasm') }],
      peerInfo: new Map(),
      peerStartErrors: new Map(),
      peak: null,
      log: () => {},
      checkBusy: async () => {},
    };
    const threads = tg.getNumThreads();
    const rows = await runTrain(ctx).finally(() => tg.setNumThreads(threads));
    expect(rows.map((r) => [r.model, r.batch, r.threads])).toEqual([['mlp', 128, 1], ['cnn', 64, 1]]);
    for (const r of rows) {
      expect(r.ours.ok).toBe(true);
      expect(r.ours.ok && r.ours.value).toBeGreaterThan(0);
      expect(r.peers['tfjs-wasm']).toEqual({ ok: false, na: 'not installed', detail: 'npm install -D @tensorflow/tfjs-backend-wasm' });
      expect(r.ratios['tfjs-wasm']).toBeNull();
    }
    const table = trainTable(rows, ['tfjs-wasm']).split('\n');
    expect(table[3]).toMatch(/^model +batch +threads +ours ms +tfjs-wasm ms +ours\/tfjs-wasm$/);
    expect(table[5]).toMatch(/^MLP 784-512-512-10 +128 +1 +[\d.]+ +n\/a \(not installed\) +-$/);
    expect(table.at(-1)).toBe('  tfjs-wasm: n/a (not installed): npm install -D @tensorflow/tfjs-backend-wasm');
  });

  test("'train' is a bench kind on the command line", () => {
    expect(parseArgs(['train', '--quick'])).toEqual({ kinds: ['train'], options: { quick: true } });
  });
});

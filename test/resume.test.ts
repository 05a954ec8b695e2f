/**
 * Resuming from a checkpoint: a run saved mid-training (model with BatchNorm buffers,
 * AdamW state, the DataLoader's epoch) and loaded into a fresh model and optimizer
 * continues with the bit-identical loss sequence of the run that never stopped, at a
 * fixed thread count.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as tg from '../lib/index';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-resume-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function model(seed: number): tg.nn.Sequential {
  tg.manualSeed(seed);
  return new tg.nn.Sequential(
    new tg.nn.Linear(12, 24), new tg.nn.BatchNorm1d(24), new tg.nn.ReLU(), new tg.nn.Dropout(0.1), new tg.nn.Linear(24, 3),
  );
}

function dataset(): tg.data.TensorDataset {
  const x = tg.randn([96, 12], { seed: 5 });
  const y = tg.randint(0, 3, [96], { seed: 6, dtype: 'int32' });
  return new tg.data.TensorDataset(x, y);
}

/** Trains `epochs` epochs from the loader's current epoch; returns every step's loss. */
function run(m: tg.nn.Module, opt: tg.optim.AdamW, loader: tg.data.DataLoader<tg.Tensor[]>, epochs: number, dropoutSeed: number): number[] {
  const losses: number[] = [];
  m.train();
  for (let e = 0; e < epochs; e++) {
    // dropout draws from the global generator: seeded per epoch so a resumed run can replay it
    tg.manualSeed(dropoutSeed + loader.epoch);
    for (const batch of loader) {
      const [x, y] = batch as [tg.Tensor, tg.Tensor];
      const loss = tg.nn.functional.crossEntropy(m.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
  }
  return losses;
}

describe('checkpoint resume', () => {
  test('a run saved after 2 epochs and resumed in a fresh model and optimizer repeats the same losses bit for bit', async () => {
    const threads = tg.getNumThreads();
    tg.setNumThreads(2);
    try {
      const data = dataset();
      const opts = { lr: 3e-3, weightDecay: 0.05 };

      // the uninterrupted run: 4 epochs
      const a = model(1);
      const aLoader = new tg.data.DataLoader(data, { batchSize: 16, shuffle: true, seed: 9 });
      const aOpt = new tg.optim.AdamW(a.parameters(), opts);
      const full = run(a, aOpt, aLoader, 4, 100);

      // the interrupted run: 2 epochs, save, then a fresh process-like start
      const b = model(1);
      const bLoader = new tg.data.DataLoader(data, { batchSize: 16, shuffle: true, seed: 9 });
      const bOpt = new tg.optim.AdamW(b.parameters(), opts);
      const first = run(b, bOpt, bLoader, 2, 100);
      const file = path.join(tmp, 'mid.safetensors');
      await tg.train.saveCheckpoint(file, b, { optimizer: bOpt, info: { epoch: bLoader.epoch } });

      const c = model(77); // other initial weights: everything must come from the file
      const cOpt = new tg.optim.AdamW(c.parameters(), { lr: 0.5 });
      const loaded = await tg.train.loadCheckpoint(file, c, { optimizer: cOpt });
      const cLoader = new tg.data.DataLoader(data, { batchSize: 16, shuffle: true, seed: 9 });
      cLoader.setEpoch(loaded.info.epoch as number);
      const rest = run(c, cOpt, cLoader, 2, 100);

      expect(first).toEqual(full.slice(0, first.length));
      expect(rest.length).toBe(full.length - first.length);
      // toEqual on numbers is exact: the resumed losses are the same doubles
      expect(rest).toEqual(full.slice(first.length));
      expect(full[full.length - 1]).toBeLessThan(full[0]);
    } finally {
      tg.setNumThreads(threads);
    }
  });
});

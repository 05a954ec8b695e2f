// `npm run demo`: trains a small CNN on the 8x8 handwritten digits that ship in
// data/ (1,797 images), shows the progress, reports test accuracy and saves a
// checkpoint. Runs from the built package (npm run build:ts).
//
//   node examples/digits-cnn.mjs [checkpoint path]   (default ./digits-cnn.safetensors)
//   EPOCHS=20 node examples/digits-cnn.mjs
import * as tg from 'tensorgrad';

const checkpointPath = process.argv[2] ?? 'digits-cnn.safetensors';
const epochs = Number(process.env.EPOCHS ?? 12);
const seed = 0;

// a seeded shuffle, then 360 images (20%) for testing and the rest for training
const { images, labels } = tg.data.loadDigits();
const n = labels.shape[0];
const order = shuffled(n, seed);
const nTest = 360;
const pick = (t, from, count) => t.indexSelect(0, tg.tensor(order.subarray(from, from + count)));
const train = new tg.data.TensorDataset(pick(images, nTest, n - nTest), pick(labels, nTest, n - nTest));
const test = new tg.data.TensorDataset(pick(images, 0, nTest), pick(labels, 0, nTest));

tg.manualSeed(seed); // the layers' initial weights
const model = new tg.nn.Sequential(
  new tg.nn.Conv2d(1, 16, 3, { padding: 1 }), new tg.nn.ReLU(),
  new tg.nn.Conv2d(16, 32, 3, { padding: 1 }), new tg.nn.ReLU(),
  new tg.nn.MaxPool2d(2),
  new tg.nn.Flatten(),
  new tg.nn.Linear(32 * 4 * 4, 64), new tg.nn.ReLU(),
  new tg.nn.Linear(64, 10),
);
const optimizer = new tg.optim.Adam(model.parameters(), { lr: 2e-3 });

console.log(`digits: ${train.length} training and ${test.length} test images of 8x8; ${model.parameters().reduce((a, p) => a + p.numel, 0)} parameters`);
const start = performance.now();
const history = await tg.train.fit(model, {
  train: new tg.data.DataLoader(train, { batchSize: 32, shuffle: true, seed }),
  validation: new tg.data.DataLoader(test, { batchSize: 256 }),
  epochs,
  optimizer,
  scheduler: new tg.optim.CosineAnnealingLR(optimizer, epochs),
  checkpoint: checkpointPath,
});
const seconds = (performance.now() - start) / 1000;

const { loss, metrics } = tg.train.evaluate(model, new tg.data.DataLoader(test, { batchSize: 256 }));
const best = history.reduce((a, r) => (r.valLoss < a.valLoss ? r : a));
console.log(`test accuracy ${(100 * metrics.accuracy).toFixed(2)}% (loss ${loss.toFixed(4)}) after ${history.length} epochs in ${seconds.toFixed(1)} s`);
console.log(`checkpoint of epoch ${best.epoch} (the lowest test loss) in ${checkpointPath}; load it with tg.train.loadCheckpoint(path, model)`);

/** 0..count-1 in an order fixed by the seed: Fisher-Yates driven by mulberry32. */
function shuffled(count, s) {
  const out = Int32Array.from({ length: count }, (_, i) => i);
  let a = s >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

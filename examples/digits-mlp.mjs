// Trains a two-layer MLP on the 8x8 handwritten digits that ship in data/
// (UCI optdigits test set, 1,797 images) and reports test accuracy.
// Uses only tensors, ops and autograd; the nn/optim modules build on the same.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as tg from '../dist/esm/index.mjs';

const csv = gunzipSync(readFileSync(fileURLToPath(new URL('../data/digits.csv.gz', import.meta.url)))).toString('utf8');
const rows = csv.trim().split('\n').map((line) => line.split(',').map(Number));
const n = rows.length;
const features = new Float32Array(n * 64);
const labels = new Int32Array(n);
rows.forEach((r, i) => {
  for (let j = 0; j < 64; j++) features[i * 64 + j] = r[j] / 16;
  labels[i] = r[64];
});

// a fixed shuffle, then 1,500 for training and the rest for testing
const order = tg.randint(0, 1 << 30, [n], { seed: 0 }).data();
const perm = Array.from({ length: n }, (_, i) => i).sort((a, b) => order[a] - order[b]);
const x = tg.tensor(features, { shape: [n, 64] }).indexSelect(0, tg.tensor(Int32Array.from(perm)));
const y = tg.tensor(labels).indexSelect(0, tg.tensor(Int32Array.from(perm)));
const nTrain = 1500;
const [xTrain, xTest] = tg.split(x, [nTrain, n - nTrain]);
const [yTrain, yTest] = tg.split(y, [nTrain, n - nTrain]);

const hidden = 64;
let w1 = tg.randn([64, hidden], { seed: 1 }).mul(Math.sqrt(2 / 64)).requiresGrad_();
let b1 = tg.zeros([hidden], { requiresGrad: true });
let w2 = tg.randn([hidden, 10], { seed: 2 }).mul(Math.sqrt(1 / hidden)).requiresGrad_();
let b2 = tg.zeros([10], { requiresGrad: true });
const forward = (input) => input.matmul(w1).add(b1).relu().matmul(w2).add(b2);
const crossEntropy = (logits, target) =>
  logits.logSoftmax(1).gather(1, target.unsqueeze(1)).mean().neg();
const accuracy = (input, target) =>
  tg.noGrad(() => forward(input).argmax(1).eq(target).to('float32').mean().item());

const batch = 50;
const lr = 0.1;
const epochs = Number(process.env.EPOCHS ?? 30);
const start = Date.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  let total = 0;
  for (let at = 0; at < nTrain; at += batch) {
    const loss = crossEntropy(forward(xTrain.narrow(0, at, batch)), yTrain.narrow(0, at, batch));
    loss.backward();
    total += loss.item();
    [w1, b1, w2, b2] = tg.noGrad(() => [w1, b1, w2, b2].map((p) => p.sub(p.grad.mul(lr)).requiresGrad_()));
  }
  if (epoch === 1 || epoch % 5 === 0 || epoch === epochs) {
    console.log(`epoch ${String(epoch).padStart(2)}  loss ${(total / (nTrain / batch)).toFixed(4)}  test accuracy ${(100 * accuracy(xTest, yTest)).toFixed(1)}%`);
  }
}
console.log(`trained in ${((Date.now() - start) / 1000).toFixed(1)} s; native memory in use ${(tg.memory().cpuBytes / 1024).toFixed(0)} KiB`);

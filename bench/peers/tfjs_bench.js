// TensorFlow.js peer for the tensorgrad bench: full training steps over a line protocol.
//
//   usage: node tfjs_bench.js <cpu|wasm> <threads>
//   stdout, first line: {"ready": true, "peer": "tfjs-cpu", "version": ..., "libThreads": ...}
//                       or {"ready": false, "error": "..."} when a package is missing
//   stdin, one request per line:
//     train <mlp|cnn> <batch> <minTimeS> <minReps> <warmTimeS>
//   stdout, one JSON line per request: {"median_s": ..., "min_s": ..., "reps": ...} or {"error": "..."};
//   a step slower than SLOW_S seconds is timed once, unwarmed, and flagged "cold": true
//
// The models are those of lib/bench/train.ts written with tfjs-core ops (NHWC, the
// layout tfjs computes in): variables, tf.train.adam, softmax cross-entropy on one-hot
// labels, one optimizer.minimize per step. tfjs-layers is loaded only because its
// build registers the gradients that tfjs-core's CommonJS build leaves out. Both backends run on one thread in Node
// (the cpu backend is plain JavaScript; the wasm backend's threaded build is for browsers).
'use strict';
const readline = require('node:readline');

function reply(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/**
 * A first run longer than this many seconds is the answer by itself (reps 1, cold):
 * the cpu backend's CNN step takes minutes, and repeating it would say no more.
 */
const SLOW_S = 10;

function measure(fn, minTime, minReps, warmTime) {
  const now = () => Number(process.hrtime.bigint()) / 1e9;
  const t0 = now();
  fn();
  const first = now() - t0;
  if (first > SLOW_S) return { median_s: first, min_s: first, reps: 1, warmup: 0, cold: true };
  let warmup = 1;
  while (now() - t0 < warmTime) {
    fn();
    warmup++;
  }
  const samples = [];
  let total = 0;
  while (samples.length < 100000 && (samples.length < minReps || total < minTime)) {
    const s = now();
    fn();
    const dt = now() - s;
    samples.push(dt);
    total += dt;
  }
  samples.sort((a, b) => a - b);
  const n = samples.length;
  const median = n % 2 ? samples[(n - 1) / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return { median_s: median, min_s: samples[0], reps: n, warmup };
}

/** He-normal weights and zero biases, as variables the optimizer updates. */
function params(tf, shapes) {
  return shapes.map((s) => {
    const fanIn = s.length === 1 ? 1 : s.slice(0, -1).reduce((a, b) => a * b, 1);
    return tf.variable(s.length === 1 ? tf.zeros(s) : tf.randomNormal(s, 0, Math.sqrt(2 / fanIn)));
  });
}

function model(tf, kind, batch) {
  if (kind === 'mlp') {
    const [w1, b1, w2, b2, w3, b3] = params(tf, [[784, 512], [512], [512, 512], [512], [512, 10], [10]]);
    const x = tf.randomNormal([batch, 784]);
    const dense = (h, w, b) => tf.add(tf.matMul(h, w), b);
    const forward = () => dense(tf.relu(dense(tf.relu(dense(x, w1, b1)), w2, b2)), w3, b3);
    return { x, forward, vars: [w1, b1, w2, b2, w3, b3] };
  }
  if (kind === 'cnn') {
    const [k1, c1, k2, c2, w3, b3, w4, b4] = params(tf, [[3, 3, 1, 32], [32], [3, 3, 32, 64], [64], [64 * 7 * 7, 128], [128], [128, 10], [10]]);
    const x = tf.randomNormal([batch, 28, 28, 1]);
    const block = (h, k, c) => tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k, 1, 'same'), c)), 2, 2, 'valid');
    const forward = () => {
      const h = block(block(x, k1, c1), k2, c2);
      const z = tf.relu(tf.add(tf.matMul(tf.reshape(h, [batch, 64 * 7 * 7]), w3), b3));
      return tf.add(tf.matMul(z, w4), b4);
    };
    return { x, forward, vars: [k1, c1, k2, c2, w3, b3, w4, b4] };
  }
  throw new Error(`unknown model '${kind}'`);
}

async function main() {
  const backend = process.argv[2];
  const threads = Number(process.argv[3]);
  if ((backend !== 'cpu' && backend !== 'wasm') || !(threads >= 1)) {
    process.stderr.write('usage: node tfjs_bench.js <cpu|wasm> <threads>\n');
    process.exitCode = 2;
    return;
  }
  let tf;
  let libThreads = 1;
  try {
    // tfjs-core greets Node users on the console; keep stdout for the protocol
    const log = console.log;
    console.log = () => {};
    tf = require('@tensorflow/tfjs-core');
    // tfjs-core's CommonJS build registers no gradients; tfjs-layers' build does on load
    require('@tensorflow/tfjs-layers');
    if (backend === 'cpu') require('@tensorflow/tfjs-backend-cpu');
    const wasm = backend === 'wasm' ? require('@tensorflow/tfjs-backend-wasm') : null;
    if (wasm) wasm.setThreadsCount(threads);
    const ok = await tf.setBackend(backend);
    await tf.ready();
    console.log = log;
    if (!ok || tf.getBackend() !== backend) throw new Error(`tf.setBackend('${backend}') failed`);
    if (wasm) libThreads = wasm.getThreadsCount();
  } catch (e) {
    reply({ ready: false, error: `${e && e.code === 'MODULE_NOT_FOUND' ? 'ModuleNotFoundError: ' : ''}${String((e && e.message) || e).split('\n')[0]}` });
    return;
  }
  reply({
    ready: true, peer: `tfjs-${backend}`, threads, libThreads,
    version: `TensorFlow.js ${tf.version_core} (${backend} backend)`,
  });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === '' || parts[0] === 'quit') break;
    try {
      if (parts[0] !== 'train' || parts.length !== 6) throw new Error('bad request');
      const [, kind, batchText, minTime, minReps, warm] = parts;
      const batch = Number(batchText);
      const m = model(tf, kind, batch);
      const labels = tf.cast(tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10), 'float32');
      const optimizer = tf.train.adam(1e-3);
      const step = () => {
        optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, m.forward()), false, m.vars);
      };
      reply(measure(step, Number(minTime), Number(minReps), Number(warm)));
      optimizer.dispose();
      tf.dispose([m.x, labels, ...m.vars]);
    } catch (e) {
      reply({ error: String((e && e.message) || e).split('\n')[0] });
    }
  }
}

main();

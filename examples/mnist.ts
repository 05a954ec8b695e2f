// Trains a CNN on MNIST from the four IDX files in a directory (nothing is
// downloaded), with a progress bar, validation on the test set after each
// epoch, a checkpoint of the best epoch and the history as JSON lines.
//
//   npm run build:ts && npx tsc -p examples
//   node dist/examples/mnist.js <mnist dir> [--epochs 3] [--batch 64] [--lr 1e-3]
//        [--checkpoint mnist-cnn.safetensors] [--history mnist-history.jsonl] [--limit N]
import * as tg from 'tensorgrad';

interface Args {
  dir: string;
  epochs: number;
  batch: number;
  lr: number;
  checkpoint: string;
  history: string;
  /** Train on the first N images only, for a quick try. */
  limit: number | null;
}

const USAGE = 'usage: node dist/examples/mnist.js <mnist dir> [--epochs N] [--batch N] [--lr X] [--checkpoint file] [--history file] [--limit N]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { dir: '', epochs: 3, batch: 64, lr: 1e-3, checkpoint: 'mnist-cnn.safetensors', history: 'mnist-history.jsonl', limit: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const count = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} takes a positive integer\n${USAGE}`);
      return n;
    };
    if (a === '--epochs') args.epochs = count();
    else if (a === '--batch') args.batch = count();
    else if (a === '--limit') args.limit = count();
    else if (a === '--lr') args.lr = Number(value());
    else if (a === '--checkpoint') args.checkpoint = value();
    else if (a === '--history') args.history = value();
    else if (a.startsWith('--') || args.dir !== '') throw new Error(`unknown argument '${a}'\n${USAGE}`);
    else args.dir = a;
  }
  if (args.dir === '') throw new Error(USAGE);
  return args;
}

/** MNIST images standardized with the training set's mean and std (0.1307, 0.3081). */
function dataset(dir: string, split: 'train' | 'test', limit: number | null): tg.data.TensorDataset {
  const { images, labels } = tg.data.loadMnist(dir, { split });
  const n = limit === null ? images.shape[0] : Math.min(limit, images.shape[0]);
  const x = tg.noGrad(() => images.narrow(0, 0, n).sub(0.1307).div(0.3081));
  return new tg.data.TensorDataset(x, labels.narrow(0, 0, n));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const trainSet = dataset(args.dir, 'train', args.limit);
  const testSet = dataset(args.dir, 'test', null);

  tg.manualSeed(0);
  // 28x28 -> 14x14 -> 7x7
  const model = new tg.nn.Sequential(
    new tg.nn.Conv2d(1, 32, 3, { padding: 1 }), new tg.nn.ReLU(), new tg.nn.MaxPool2d(2),
    new tg.nn.Conv2d(32, 64, 3, { padding: 1 }), new tg.nn.ReLU(), new tg.nn.MaxPool2d(2),
    new tg.nn.Flatten(),
    new tg.nn.Linear(64 * 7 * 7, 128), new tg.nn.ReLU(),
    new tg.nn.Linear(128, 10),
  );
  const optimizer = new tg.optim.Adam(model.parameters(), { lr: args.lr });
  const parameters = model.parameters().reduce((a, p) => a + p.numel, 0);
  console.log(`MNIST: ${trainSet.length} training and ${testSet.length} test images; CNN with ${parameters} parameters; ${tg.getNumThreads()} threads`);

  const history = await tg.train.fit(model, {
    train: new tg.data.DataLoader(trainSet, { batchSize: args.batch, shuffle: true, seed: 0 }),
    validation: new tg.data.DataLoader(testSet, { batchSize: 1000 }),
    epochs: args.epochs,
    optimizer,
    scheduler: new tg.optim.CosineAnnealingLR(optimizer, args.epochs),
    earlyStopping: { patience: 3 },
    checkpoint: args.checkpoint,
    history: args.history,
  });
  const best = history.reduce((a, r) => (r.valLoss! < a.valLoss! ? r : a));
  console.log(
    `best epoch ${best.epoch}: test accuracy ${(100 * best.valAccuracy!).toFixed(2)}%, loss ${best.valLoss!.toFixed(4)}; ` +
      `checkpoint in ${args.checkpoint}, history in ${args.history}`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});

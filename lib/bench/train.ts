/**
 * Full training steps, milliseconds per step: zeroGrad, forward, cross-entropy,
 * backward and an Adam step, on random inputs and labels, for an MLP and a small
 * CNN on 28x28 images, beside PyTorch and TensorFlow.js (cpu and wasm backends).
 *
 * TensorFlow.js runs on one thread in Node whatever the thread count (its cpu
 * backend is plain JavaScript; its wasm backend's threaded build is for browsers),
 * so each case is timed for it once, at the first thread count, and that time
 * stands in the rows of the others.
 */
import type { Device } from '../device';
import * as tg from '../index';
import { crossEntropy } from '../nn/losses';
import type { Module } from '../nn/module';
import type { Tensor } from '../tensor';
import { syncFor } from './device_sync';
import { measure, type MeasureOptions, type Releasable } from './measure';
import { PEER_KINDS, type PeerName } from './peers';
import { cellText, formatTable, naSection, peerCells, peerColumns, ratio, type Column } from './table';
import { mapCell, measureArgs, naCell, PeerSession, type BenchContext, type Cell } from './session';

export interface TrainCase {
  /** The model, as the peers' requests name it. */
  model: 'mlp' | 'cnn';
  label: string;
  batch: number;
  /** One sample's shape. */
  sample: readonly number[];
}

export interface TrainRow extends TrainCase {
  threads: number;
  /** Milliseconds per step (median). */
  ours: Cell;
  peers: Partial<Record<PeerName, Cell>>;
  /** ours ms / peer ms: lower is better for us. */
  ratios: Partial<Record<PeerName, number | null>>;
}

/**
 * Where a step runs and in what precision: the CPU kind's fp32 on the CPU, or the GPU
 * bench's fp32 and mixed precision (forward and loss under autocast float16, the
 * backward and the Adam step through a GradScaler).
 */
export interface TrainPlacement {
  device: Device;
  amp: boolean;
}

const CPU_FLOAT32: TrainPlacement = { device: 'cpu', amp: false };

/** Peers whose library uses one thread at any thread count: timed once per case. */
const SINGLE_THREADED: ReadonlySet<PeerName> = new Set<PeerName>(['tfjs-cpu', 'tfjs-wasm']);

export function trainCases(): TrainCase[] {
  return [
    { model: 'mlp', label: 'MLP 784-512-512-10', batch: 128, sample: [784] },
    { model: 'cnn', label: 'CNN c32-p-c64-p-fc128-10', batch: 64, sample: [1, 28, 28] },
  ];
}

function buildModel(c: TrainCase): Module {
  const nn = tg.nn;
  if (c.model === 'mlp') {
    return new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 512), new nn.ReLU(), new nn.Linear(512, 10));
  }
  // 28x28 -> 14x14 -> 7x7
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
  );
}

/** Times our training step on one case at the current thread count; returns ms. */
export function timeTrainOurs(c: TrainCase, o: MeasureOptions, at: TrainPlacement = CPU_FLOAT32): Cell {
  const owned: Tensor[] = [];
  try {
    tg.manualSeed(0);
    // built on the CPU with the same seed on every device, then moved; the optimizer comes after the move
    const model = buildModel(c).to(at.device);
    const x = tg.randn([c.batch, ...c.sample], { device: at.device });
    owned.push(x);
    const y = tg.randint(0, 10, [c.batch], { device: at.device });
    owned.push(y);
    const optimizer = new tg.optim.Adam(model.parameters(), { lr: 1e-3 });
    let step: () => Releasable;
    if (!at.amp) {
      // the loop fit() runs; output and loss are released after the clock stops
      step = () => {
        optimizer.zeroGrad();
        const output = model.forward(x);
        const loss = crossEntropy(output, y);
        loss.backward();
        optimizer.step();
        return [output, loss];
      };
    } else {
      // the mixed-precision loop of DESIGN section 6, as torch.autocast + GradScaler run it:
      // forward and loss under autocast, backward outside it on the scaled loss
      const scaler = new tg.amp.GradScaler();
      step = () => {
        optimizer.zeroGrad();
        const [output, loss] = tg.amp.autocast('float16', () => {
          const out = model.forward(x);
          return [out, crossEntropy(out, y)];
        });
        const scaled = scaler.scale(loss);
        scaled.backward();
        scaler.step(optimizer);
        scaler.update();
        return [output, loss, scaled];
      };
    }
    const timing = measure(step, o, syncFor(at.device));
    owned.push(...model.parameters());
    return { ok: true, value: timing.medianS * 1e3, timing };
  } catch (e) {
    return naCell(e);
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** The peers' request line for one case (torch_bench.py, tfjs_bench.js; only torch takes amp). */
export function trainRequest(c: TrainCase, m: MeasureOptions, amp = false): string {
  return `train ${c.model} ${c.batch} ${measureArgs(m)}${amp ? ' amp' : ''}`;
}

export async function runTrain(ctx: BenchContext): Promise<TrainRow[]> {
  const peers = ctx.peers.filter((p) => PEER_KINDS[p.name].includes('train'));
  const cases = trainCases();
  const rows: TrainRow[] = [];
  /** Single-threaded peers' cells by case, from the first thread count. */
  const once = new Map<string, Cell>();
  for (const [t, threads] of ctx.threads.entries()) {
    tg.setNumThreads(threads);
    await ctx.checkBusy(`before train at ${threads} thread(s)`);
    const live = peers.filter((p) => t === 0 || !SINGLE_THREADED.has(p.name));
    ctx.log(`train at ${threads} thread(s): starting peers`);
    const session = await PeerSession.open(live, threads, ctx.session, ctx.peerInfo, ctx.peerStartErrors);
    try {
      for (const c of cases) {
        await session.settle();
        const row: TrainRow = { ...c, threads, ours: timeTrainOurs(c, ctx.measure), peers: {}, ratios: {} };
        const request = trainRequest(c, ctx.measure);
        for (const p of peers) {
          const key = `${p.name} ${c.model}`;
          let cell: Cell;
          if (live.includes(p)) {
            if (SINGLE_THREADED.has(p.name)) ctx.log(`  ${c.label}: timing ${p.name} (one thread; a slow step is timed once)`);
            cell = mapCell(await session.time(p.name, request), (timing) => timing.medianS * 1e3);
            if (SINGLE_THREADED.has(p.name)) once.set(key, cell);
          } else {
            cell = once.get(key) ?? { ok: false, na: 'not run', detail: `${p.name} was not timed at ${ctx.threads[0]} thread(s)` };
          }
          row.peers[p.name] = cell;
          row.ratios[p.name] = ratio(row.ours, cell);
        }
        rows.push(row);
        ctx.log(`  ${c.label} x${threads}: ours ${cellText(row.ours)}${peers.map((p) => `, ${p.name} ${cellText(row.peers[p.name]!)}`).join('')} ms`);
      }
    } finally {
      session.close();
    }
  }
  return rows;
}

export function trainTable(rows: readonly TrainRow[], peerNames: readonly PeerName[]): string {
  const columns: Column[] = [
    { title: 'model' },
    { title: 'batch', right: true },
    { title: 'threads', right: true },
    { title: 'ours ms', right: true },
    ...peerColumns(peerNames, 'ms'),
  ];
  const body = rows.map((r) => [
    r.label,
    String(r.batch),
    String(r.threads),
    cellText(r.ours),
    ...peerCells(r, peerNames),
  ]);
  const cold = peerNames.filter((p) => rows.some((r) => {
    const cell = r.peers[p];
    return cell !== undefined && cell.ok && cell.timing.reps === 1;
  }));
  const single = peerNames.filter((p) => SINGLE_THREADED.has(p));
  return [
    'Training step fp32 (zeroGrad, forward, cross-entropy, backward, Adam): ms per step (median). 28x28 inputs; CNN padding 1.',
    'ours/peer = ours ms / peer ms: lower is better for tensorgrad.',
    ...(single.length ? [`${single.join(', ')}: one thread in Node at any thread count; timed once, at ${rows[0]?.threads ?? 1} thread(s).`] : []),
    ...(cold.length ? [`${cold.join(', ')}: a step over 10 s is timed once, without warm-up.`] : []),
    formatTable(columns, body),
    ...naSection(rows, peerNames),
  ].join('\n');
}

/**
 * conv2d milliseconds, fp32 NCHW: forward alone and forward + backward (grads of
 * input, weight and bias through a sum), at 1 thread and all cores, against
 * PyTorch's F.conv2d. Ours is tg.conv2d; while that op is not in the build the
 * column reads n/a and the PyTorch figures still stand.
 */
import type { Device } from '../device';
import * as tg from '../index';
import type { Tensor } from '../tensor';
import { syncFor } from './device_sync';
import { measure, type MeasureOptions, type Releasable } from './measure';
import { PEER_KINDS, type PeerName } from './peers';
import { cellText, formatTable, naSection, peerCells, peerColumns, ratio, type Column } from './table';
import { mapCell, measureArgs, naCell, PeerSession, type BenchContext, type Cell } from './session';

export interface ConvCase {
  /** e.g. [32,64,32,32] * [64,64,3,3] */
  label: string;
  /** 'conv' or 'depthwise' */
  kind: string;
  input: [number, number, number, number];
  outChannels: number;
  kernel: [number, number];
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
}

export type ConvPass = 'fwd' | 'fwd+bwd';

/** Where and in what dtype a conv runs: the CPU kind's fp32 on the CPU, or the GPU bench's fp32 and fp16. */
export interface ConvPlacement {
  device: Device;
  dtype: 'float32' | 'float16';
}

const CPU_FLOAT32: ConvPlacement = { device: 'cpu', dtype: 'float32' };

export interface ConvRow extends ConvCase {
  pass: ConvPass;
  threads: number;
  /** Milliseconds per call (median). */
  ours: Cell;
  peers: Partial<Record<PeerName, Cell>>;
  /** ours ms / peer ms: lower is better for us. */
  ratios: Partial<Record<PeerName, number | null>>;
}

type Conv2dOptions = { stride?: number; padding?: number; dilation?: number; groups?: number };
type Conv2d = (input: Tensor, weight: Tensor, bias?: Tensor | null, options?: Conv2dOptions) => Tensor;

/** tg.conv2d when this build exports it. */
function findConv2d(): Conv2d | null {
  const f = (tg as unknown as Record<string, unknown>).conv2d;
  return typeof f === 'function' ? (f as Conv2d) : null;
}

function convCase(kind: string, input: ConvCase['input'], outChannels: number, groups: number): ConvCase {
  const [, c] = input;
  return {
    label: `[${input.join(',')}] * [${outChannels},${c / groups},3,3]${groups > 1 ? ` g${groups}` : ''}`,
    kind, input, outChannels, kernel: [3, 3], stride: 1, padding: 1, dilation: 1, groups,
  };
}

export function convCases(): ConvCase[] {
  return [
    convCase('conv', [32, 3, 32, 32], 64, 1),
    convCase('conv', [32, 64, 32, 32], 64, 1),
    convCase('depthwise', [32, 64, 32, 32], 64, 64),
  ];
}

/** Times tg.conv2d on one case and pass at the current thread count (input, weight, bias all in `at`); returns ms. */
export function timeConvOurs(c: ConvCase, pass: ConvPass, o: MeasureOptions, at: ConvPlacement = CPU_FLOAT32): Cell {
  const conv2d = findConv2d();
  if (conv2d === null) return { ok: false, na: 'tg.conv2d not built yet', detail: 'this build of tensorgrad exports no conv2d' };
  const owned: Tensor[] = [];
  try {
    const requiresGrad = pass === 'fwd+bwd';
    const [n, ci, h, w] = c.input;
    const x = tg.randn([n, ci, h, w], { requiresGrad, ...at });
    owned.push(x);
    const weight = tg.randn([c.outChannels, ci / c.groups, ...c.kernel], { requiresGrad, ...at });
    owned.push(weight);
    const bias = tg.randn([c.outChannels], { requiresGrad, ...at });
    owned.push(bias);
    const opts: Conv2dOptions = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    const fn = requiresGrad
      ? (): Releasable => {
          const y = conv2d(x, weight, bias, opts);
          const loss = tg.sum(y);
          return [y, loss, ...tg.grad(loss, [x, weight, bias])];
        }
      : (): Releasable => conv2d(x, weight, bias, opts);
    const timing = measure(fn, o, syncFor(at.device));
    return { ok: true, value: timing.medianS * 1e3, timing };
  } catch (e) {
    return naCell(e);
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** The PyTorch peer's request line for one case and pass (bench/peers/torch_bench.py). */
export function convRequest(c: ConvCase, pass: ConvPass, m: MeasureOptions, dtype: ConvPlacement['dtype'] = 'float32'): string {
  const [n, ci, h, w] = c.input;
  return [
    'conv', pass === 'fwd' ? 'fwd' : 'fwdbwd', n, ci, h, w, c.outChannels, ...c.kernel, c.stride, c.padding, c.dilation, c.groups,
    measureArgs(m), ...(dtype === 'float32' ? [] : [dtype]),
  ].join(' ');
}

export async function runConv(ctx: BenchContext): Promise<ConvRow[]> {
  const peers = ctx.peers.filter((p) => PEER_KINDS[p.name].includes('conv'));
  const rows: ConvRow[] = [];
  for (const threads of ctx.threads) {
    tg.setNumThreads(threads);
    await ctx.checkBusy(`before conv at ${threads} thread(s)`);
    ctx.log(`conv at ${threads} thread(s): starting peers`);
    const session = await PeerSession.open(peers, threads, ctx.session, ctx.peerInfo, ctx.peerStartErrors);
    try {
      for (const c of convCases()) {
        for (const pass of ['fwd', 'fwd+bwd'] as const) {
          await session.settle();
          const row: ConvRow = { ...c, pass, threads, ours: timeConvOurs(c, pass, ctx.measure), peers: {}, ratios: {} };
          const request = convRequest(c, pass, ctx.measure);
          for (const p of peers) {
            const cell = mapCell(await session.time(p.name, request), (t) => t.medianS * 1e3);
            row.peers[p.name] = cell;
            row.ratios[p.name] = ratio(row.ours, cell);
          }
          rows.push(row);
          ctx.log(`  ${c.label} ${pass} x${threads}: ours ${cellText(row.ours)}${peers.map((p) => `, ${p.name} ${cellText(row.peers[p.name]!)}`).join('')} ms`);
        }
      }
    } finally {
      session.close();
    }
  }
  return rows;
}

export function convTable(rows: readonly ConvRow[], peerNames: readonly PeerName[]): string {
  const columns: Column[] = [
    { title: 'input * weight' },
    { title: 'pass' },
    { title: 'threads', right: true },
    { title: 'ours ms', right: true },
    ...peerColumns(peerNames, 'ms'),
  ];
  const body = rows.map((r) => [
    r.label,
    r.pass,
    String(r.threads),
    cellText(r.ours),
    ...peerCells(r, peerNames),
  ]);
  return [
    'conv2d fp32 NCHW, 3x3, stride 1, padding 1, with bias: ms per call (median). fwd+bwd: forward, sum, grads of input, weight, bias.',
    'ours/peer = ours ms / peer ms: lower is better for tensorgrad.',
    formatTable(columns, body),
    ...naSection(rows, peerNames),
  ].join('\n');
}

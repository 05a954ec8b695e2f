/**
 * GEMM GFLOP/s, fp32: square sizes and the shapes of an MLP's training step
 * (forward C = A B and the backward dA = dC B^T, dB = A^T dC), at 1 thread and
 * all cores, against OpenBLAS (cblas_sgemm), oneDNN (dnnl_sgemm) and PyTorch
 * (torch.mm); then fp16 and bf16 squares beside our fp32 and PyTorch's torch.mm in
 * the same dtype (the BLAS peers have no half GEMM). Untransposed products go
 * through tg.matmul; transposed ones call the native GEMM with its transpose flags on operands stored transposed, which
 * is what the peers get too (CblasTrans, 'T', a .t() view).
 */
import { native } from '../binding';
import type { Device } from '../device';
import * as tg from '../index';
import type { Tensor } from '../tensor';
import { syncFor } from './device_sync';
import { measure, type MeasureOptions, type Releasable } from './measure';
import { PEER_KINDS, type PeerName } from './peers';
import { cellText, fmt, formatTable, naSection, peerCells, peerColumns, ratio, ratioText, type Column } from './table';
import { mapCell, measureArgs, naCell, PeerSession, type BenchContext, type Cell } from './session';

export interface GemmCase {
  /** Human-readable operands, e.g. [128,512]x[784,512]^T. */
  shape: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** 'square', or the layer and pass of the training shapes. */
  group: string;
  dtype: GemmDType;
}

export type GemmDType = 'float32' | 'float16' | 'bfloat16';
const HALF_DTYPES: readonly GemmDType[] = ['float16', 'bfloat16'];

export interface GemmRow extends GemmCase {
  threads: number;
  /** Floating-point operations of one product, 2 M N K. */
  flop: number;
  /** The measured FMA peak at this thread count, GFLOP/s (null when not measured). */
  peakGflops: number | null;
  /** How ours was called: tg.matmul or native.gemm (transposed forms). */
  oursPath: string;
  /** GFLOP/s cells. */
  ours: Cell;
  peers: Partial<Record<PeerName, Cell>>;
  /** ours / peer GFLOP/s: higher is better for us. */
  ratios: Partial<Record<PeerName, number | null>>;
}

const FULL_SQUARES = [128, 256, 512, 1024, 2048, 4096];
const QUICK_SQUARES = [128, 256, 512];
const FULL_HALF_SQUARES = [256, 512, 1024, 2048];
const QUICK_HALF_SQUARES = [128, 256];
/** [batch, in, out] of the fully connected layers whose training step is timed. */
const LAYERS: readonly [number, number, number][] = [
  [128, 784, 512],
  [64, 3136, 128],
];

/** C[s,s] = A[s,s] B[s,s] in `dtype` (the GPU bench times these too). */
export function squareCase(s: number, dtype: GemmDType): GemmCase {
  return { shape: `${s}^3`, m: s, n: s, k: s, transA: false, transB: false, group: 'square', dtype };
}

export function gemmCases(quick: boolean): GemmCase[] {
  const cases: GemmCase[] = (quick ? QUICK_SQUARES : FULL_SQUARES).map((s) => squareCase(s, 'float32'));
  for (const [b, i, o] of LAYERS) {
    const layer = `fc ${i}->${o} batch ${b}`;
    // forward C[b,o] = A[b,i] B[i,o]
    cases.push({ shape: `[${b},${i}]x[${i},${o}]`, m: b, n: o, k: i, transA: false, transB: false, group: `${layer} forward`, dtype: 'float32' });
    // dA[b,i] = dC[b,o] B[i,o]^T
    cases.push({ shape: `[${b},${o}]x[${i},${o}]^T`, m: b, n: i, k: o, transA: false, transB: true, group: `${layer} dA`, dtype: 'float32' });
    // dB[i,o] = A[b,i]^T dC[b,o]
    cases.push({ shape: `[${b},${i}]^T x[${b},${o}]`, m: i, n: o, k: b, transA: true, transB: false, group: `${layer} dB`, dtype: 'float32' });
  }
  for (const dtype of HALF_DTYPES) {
    for (const s of quick ? QUICK_HALF_SQUARES : FULL_HALF_SQUARES) cases.push(squareCase(s, dtype));
  }
  return cases;
}

/**
 * Times tensorgrad on one case at the current thread count, on the CPU or (untransposed
 * cases only: the transposed forms call the CPU's native GEMM) the GPU; returns GFLOP/s.
 */
export function timeGemmOurs(c: GemmCase, o: MeasureOptions, device: Device = 'cpu'): { cell: Cell; path: string } {
  const path = c.transA || c.transB ? 'native.gemm' : 'tg.matmul';
  const owned: Tensor[] = [];
  try {
    if (device !== 'cpu' && path !== 'tg.matmul') throw new Error(`${c.shape}: transposed GEMM is timed on the CPU only`);
    const a = tg.randn(c.transA ? [c.k, c.m] : [c.m, c.k], { dtype: c.dtype, device });
    owned.push(a);
    const b = tg.randn(c.transB ? [c.n, c.k] : [c.k, c.n], { dtype: c.dtype, device });
    owned.push(b);
    let fn: () => Releasable;
    if (path === 'tg.matmul') {
      fn = () => tg.matmul(a, b);
    } else {
      const out = tg.zeros([c.m, c.n]);
      owned.push(out);
      const lda = c.transA ? c.m : c.k;
      const ldb = c.transB ? c.k : c.n;
      fn = () => native.gemm(c.transA, c.transB, c.m, c.n, c.k, 1, a._s, lda, 0, b._s, ldb, 0, 0, out._s, c.n, 0, 1);
    }
    const timing = measure(fn, o, syncFor(device));
    return { cell: { ok: true, value: (2 * c.m * c.n * c.k) / timing.medianS / 1e9, timing }, path };
  } catch (e) {
    return { cell: naCell(e), path };
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** The peers' request line for one case (bench/peers/peer_common.h, torch_bench.py). */
export function gemmRequest(c: GemmCase, m: MeasureOptions): string {
  return `gemm ${c.transA ? 'T' : 'N'} ${c.transB ? 'T' : 'N'} ${c.m} ${c.n} ${c.k} ${measureArgs(m)}${c.dtype === 'float32' ? '' : ` ${c.dtype}`}`;
}

export async function runGemm(ctx: BenchContext): Promise<GemmRow[]> {
  const cases = gemmCases(ctx.quick);
  const peers = ctx.peers.filter((p) => PEER_KINDS[p.name].includes('gemm'));
  const rows: GemmRow[] = [];
  for (const threads of ctx.threads) {
    tg.setNumThreads(threads);
    await ctx.checkBusy(`before gemm at ${threads} thread(s)`);
    ctx.log(`gemm at ${threads} thread(s): starting peers`);
    const session = await PeerSession.open(peers, threads, ctx.session, ctx.peerInfo, ctx.peerStartErrors);
    try {
      for (const c of cases) {
        const flop = 2 * c.m * c.n * c.k;
        const toGflops = (t: { medianS: number }): number => flop / t.medianS / 1e9;
        await session.settle();
        const ours = timeGemmOurs(c, ctx.measure);
        const row: GemmRow = {
          ...c, threads, flop, peakGflops: ctx.peak?.gflops[threads] ?? null, oursPath: ours.path, ours: ours.cell, peers: {}, ratios: {},
        };
        const request = gemmRequest(c, ctx.measure);
        for (const p of peers.filter((q) => c.dtype === 'float32' || HALF_PEERS.has(q.name))) {
          const cell = mapCell(await session.time(p.name, request), toGflops);
          row.peers[p.name] = cell;
          row.ratios[p.name] = ratio(row.ours, cell);
        }
        rows.push(row);
        ctx.log(`  ${c.shape}${c.dtype === 'float32' ? '' : ` ${c.dtype}`} x${threads}: ours ${cellText(row.ours)}${Object.entries(row.peers).map(([p, cell]) => `, ${p} ${cellText(cell)}`).join('')} GFLOP/s`);
      }
    } finally {
      session.close();
    }
  }
  return rows;
}

/** The peers that time half-precision GEMM too. */
const HALF_PEERS: ReadonlySet<PeerName> = new Set<PeerName>(['torch']);

export function gemmTable(allRows: readonly GemmRow[], peerNames: readonly PeerName[]): string {
  const rows = allRows.filter((r) => r.dtype === 'float32');
  const columns: Column[] = [
    { title: 'shape' },
    { title: 'threads', right: true },
    { title: 'ours GF/s', right: true },
    { title: '%peak', right: true },
    ...peerColumns(peerNames, 'GF/s'),
  ];
  const body = rows.map((r) => [
    r.shape,
    String(r.threads),
    cellText(r.ours),
    r.ours.ok && r.peakGflops ? `${((100 * r.ours.value) / r.peakGflops).toFixed(0)}%` : '-',
    ...peerCells(r, peerNames),
  ]);
  const peaks = [...new Set(rows.map((r) => r.threads))]
    .map((t) => {
      const pk = rows.find((r) => r.threads === t)?.peakGflops;
      return `${t} thread(s) ${pk ? fmt(pk) : 'n/a'}`;
    })
    .join(', ');
  return [
    'GEMM fp32, GFLOP/s (2MNK / median time). ours/peer: higher is better for tensorgrad.',
    `%peak: ours as a share of the measured FMA peak (GFLOP/s: ${peaks}).`,
    formatTable(columns, body),
    ...naSection(rows, peerNames),
    ...halfTable(allRows, peerNames.filter((p) => HALF_PEERS.has(p))),
  ].join('\n');
}

/** fp16 and bf16 rows beside our fp32 GFLOP/s on the same shape and threads. */
function halfTable(rows: readonly GemmRow[], peerNames: readonly PeerName[]): string[] {
  const half = rows.filter((r) => r.dtype !== 'float32');
  if (half.length === 0) return [];
  const fp32 = (r: GemmRow): Cell | undefined =>
    rows.find((f) => f.dtype === 'float32' && f.shape === r.shape && f.threads === r.threads)?.ours;
  const columns: Column[] = [
    { title: 'shape' },
    { title: 'dtype' },
    { title: 'threads', right: true },
    { title: 'ours GF/s', right: true },
    { title: 'ours fp32', right: true },
    { title: 'half/fp32', right: true },
    ...peerColumns(peerNames, 'GF/s'),
  ];
  const body = half.map((r) => {
    const f = fp32(r);
    return [
      r.shape,
      r.dtype,
      String(r.threads),
      cellText(r.ours),
      f ? cellText(f) : '-',
      ratioText(f ? ratio(r.ours, f) : null),
      ...peerCells(r, peerNames),
    ];
  });
  return [
    '',
    'GEMM fp16 and bf16 (fp32 accumulation), GFLOP/s. half/fp32: ours in half over ours in fp32 on the same shape.',
    formatTable(columns, body),
    ...naSection(half, peerNames, (r) => r.dtype),
  ];
}

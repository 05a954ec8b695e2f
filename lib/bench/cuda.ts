/**
 * `tensorgrad bench cuda`, the GPU bench: GEMM TFLOP/s (fp32, fp16 and bf16 squares),
 * conv2d ms (the cases of conv.ts, fp32 and fp16) and training-step ms (the models of
 * train.ts, fp32 and autocast float16 with a GradScaler), tensorgrad beside PyTorch on
 * the same GPU. Each case is timed for ours and then for torch back to back, with the
 * CPU kinds' method (measure.ts), every timed call ending in a device synchronize on its
 * side. Nothing runs without a usable GPU: cudaReadiness() says why.
 */
import { native } from '../binding';
import * as tg from '../index';
import { convCases, convRequest, timeConvOurs, type ConvCase, type ConvPass, type ConvPlacement } from './conv';
import { gemmRequest, squareCase, timeGemmOurs, type GemmCase, type GemmDType } from './gemm';
import type { Timing } from './measure';
import { PEER_KINDS, PeerError, type PeerName, type PreparedPeer } from './peers';
import { cellText, ratio, type Compared } from './table';
import { timeTrainOurs, trainCases, trainRequest, type TrainCase } from './train';
import { mapCell, PeerSession, type BenchContext, type Cell } from './session';

export interface CudaReadiness {
  available: boolean;
  /** tg.cuda.status(): why CUDA is or is not usable. */
  status: string;
}

/** Whether tensorgrad can use a GPU here and why; never throws (a failing driver query is a reason too). */
export function cudaReadiness(): CudaReadiness {
  try {
    return { available: tg.cuda.isAvailable(), status: tg.cuda.status() };
  } catch (e) {
    return { available: false, status: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
  }
}

/** What `tensorgrad bench cuda` prints, alone, on a machine where it cannot run. */
export function cudaUnavailableLine(status: string): string {
  return `bench cuda: CUDA is not available (${status}); nothing measured`;
}

const FULL_SIZES = [1024, 2048, 4096, 8192];
const QUICK_SIZES = [1024, 2048];
const GEMM_DTYPES: readonly GemmDType[] = ['float32', 'float16', 'bfloat16'];
const CONV_DTYPES: readonly ConvPlacement['dtype'][] = ['float32', 'float16'];
const CONV_PASSES: readonly ConvPass[] = ['fwd', 'fwd+bwd'];

export function cudaGemmCases(quick: boolean): GemmCase[] {
  return GEMM_DTYPES.flatMap((dtype) => (quick ? QUICK_SIZES : FULL_SIZES).map((s) => squareCase(s, dtype)));
}

/** Ours and the peers on one case: cells, and ours/peer (higher is better for GEMM, lower for ms). */
export interface CudaGemmRow extends GemmCase, Compared {
  /** 2 M N K */
  flop: number;
}

export interface CudaConvRow extends ConvCase, Compared {
  pass: ConvPass;
  dtype: ConvPlacement['dtype'];
}

export type TrainPrecision = 'float32' | 'amp float16';

export interface CudaTrainRow extends TrainCase, Compared {
  /** fp32, or autocast float16 with a GradScaler */
  precision: TrainPrecision;
}

/** What PyTorch said about itself on the GPU (its ready line), or why it did not run. */
export type TorchOnGpu =
  | {
      available: true;
      /** torch.cuda.get_device_name() */
      deviceName: string;
      /** 'PyTorch <torch.__version__>' */
      version: string;
      /** torch.version.cuda */
      cuda: string | null;
      /** torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32 while timing */
      tf32Matmul: boolean;
      cudnnTf32: boolean;
    }
  | { available: false; na: string; detail: string };

/** The `cuda` section of the JSON report. */
export interface CudaSection {
  available: true;
  /** tg.cuda.deviceName() */
  deviceName: string;
  status: string;
  /** The half GEMMs' tensor-core instructions: 'wgmma' (sm_90a) or 'mma.sync'. */
  tensorCores: string;
  /** Host threads of both processes while the GPU ran (the largest thread count asked for). */
  threads: number;
  torch: TorchOnGpu;
  method: string;
  gemm: { unit: 'TFLOP/s'; ratio: 'ours/peer, higher is better'; rows: CudaGemmRow[] };
  conv: { unit: 'ms'; ratio: 'ours_ms/peer_ms, lower is better'; rows: CudaConvRow[] };
  train: { unit: 'ms'; ratio: 'ours_ms/peer_ms, lower is better'; rows: CudaTrainRow[] };
}

/** The section when the GPU bench was asked for and could not run. */
export type CudaReport = CudaSection | { available: false; status: string };

const PEER = 'torch-cuda' satisfies PeerName;

const METHOD =
  'ours: tg.matmul, tg.conv2d (+ tg.sum, tg.grad), tg.nn steps with tg.optim.Adam (amp: tg.amp.autocast float16 + tg.amp.GradScaler) ' +
  "on 'cuda' tensors, each timed call ending with tg.cuda.synchronize(); torch: torch.mm(out=), F.conv2d (+ autograd.grad), " +
  'torch.nn steps with torch.optim.Adam (amp: torch.autocast float16 + GradScaler) on cuda tensors, each timed call ending with ' +
  'torch.cuda.synchronize(); both release cached device memory after each case, since they share the GPU';

/** Our cached device blocks back to the driver, so torch, timed next on the same GPU, has the room. */
function releaseDeviceMemory(): void {
  try {
    tg.cuda.emptyCache();
  } catch {
    // a failed CUDA context shows in the next cell of ours; the peer's column does not depend on it
  }
}

class GpuRun {
  constructor(
    private readonly session: PeerSession,
    private readonly peers: readonly PreparedPeer[],
    private readonly ctx: BenchContext,
  ) {}

  /** Ours, measured already, then every peer on the same case, back to back. */
  async beside(ours: Cell, request: string, value: (t: Timing) => number): Promise<Compared> {
    releaseDeviceMemory();
    const row: Compared = { ours, peers: {}, ratios: {} };
    for (const p of this.peers) {
      const cell = mapCell(await this.session.time(p.name, request), value);
      row.peers[p.name] = cell;
      row.ratios[p.name] = ratio(ours, cell);
    }
    return row;
  }

  private logRow(what: string, row: Compared, unit: string): void {
    this.ctx.log(`  ${what}: ours ${cellText(row.ours)}${Object.entries(row.peers).map(([p, c]) => `, ${p} ${cellText(c)}`).join('')} ${unit}`);
  }

  async gemm(): Promise<CudaGemmRow[]> {
    const rows: CudaGemmRow[] = [];
    for (const c of cudaGemmCases(this.ctx.quick)) {
      const flop = 2 * c.m * c.n * c.k;
      const tflops = (t: Timing): number => flop / t.medianS / 1e12;
      await this.session.settle();
      const ours = mapCell(timeGemmOurs(c, this.ctx.measure, 'cuda').cell, tflops);
      const row: CudaGemmRow = { ...c, flop, ...(await this.beside(ours, gemmRequest(c, this.ctx.measure), tflops)) };
      rows.push(row);
      this.logRow(`gemm ${c.shape} ${c.dtype}`, row, 'TFLOP/s');
    }
    return rows;
  }

  async conv(): Promise<CudaConvRow[]> {
    const rows: CudaConvRow[] = [];
    const ms = (t: Timing): number => t.medianS * 1e3;
    for (const dtype of CONV_DTYPES) {
      for (const c of convCases()) {
        for (const pass of CONV_PASSES) {
          await this.session.settle();
          const ours = timeConvOurs(c, pass, this.ctx.measure, { device: 'cuda', dtype });
          const row: CudaConvRow = { ...c, pass, dtype, ...(await this.beside(ours, convRequest(c, pass, this.ctx.measure, dtype), ms)) };
          rows.push(row);
          this.logRow(`conv ${c.label} ${pass} ${dtype}`, row, 'ms');
        }
      }
    }
    return rows;
  }

  async train(): Promise<CudaTrainRow[]> {
    const rows: CudaTrainRow[] = [];
    const ms = (t: Timing): number => t.medianS * 1e3;
    for (const amp of [false, true]) {
      for (const c of trainCases()) {
        await this.session.settle();
        const ours = timeTrainOurs(c, this.ctx.measure, { device: 'cuda', amp });
        const precision: TrainPrecision = amp ? 'amp float16' : 'float32';
        const row: CudaTrainRow = { ...c, precision, ...(await this.beside(ours, trainRequest(c, this.ctx.measure, amp), ms)) };
        rows.push(row);
        this.logRow(`train ${c.label} ${precision}`, row, 'ms');
      }
    }
    return rows;
  }
}

/** What torch_bench.py's ready line said on the GPU, or why it gave none. */
function torchOnGpu(ctx: BenchContext, peers: readonly PreparedPeer[]): TorchOnGpu {
  const info = ctx.peerInfo.get(PEER);
  if (info !== undefined) {
    return {
      available: true,
      deviceName: String(info.deviceName ?? ''),
      version: String(info.version ?? 'unknown'),
      cuda: info.cuda === null || info.cuda === undefined ? null : String(info.cuda),
      tf32Matmul: info.tf32Matmul === true,
      cudnnTf32: info.cudnnTf32 === true,
    };
  }
  const prepared = peers.find((p) => p.name === PEER);
  const err = prepared !== undefined && !prepared.ok
    ? prepared.error
    : (ctx.peerStartErrors.get(PEER) ?? new PeerError('not run', `${PEER} was not part of this bench`));
  return { available: false, na: err.short, detail: err.detail };
}

/**
 * Runs the GPU bench once, at the largest thread count asked for (the host side of
 * both libraries only launches kernels), and returns the report's `cuda` section.
 * Call it only where cudaReadiness() is available.
 */
export async function runCuda(ctx: BenchContext): Promise<CudaSection> {
  const threads = Math.max(...ctx.threads);
  tg.setNumThreads(threads);
  const peers = ctx.peers.filter((p) => PEER_KINDS[p.name].includes('cuda'));
  const gpu = cudaReadiness();
  await ctx.checkBusy('before cuda');
  ctx.log(`cuda on ${tg.cuda.deviceName()}, ${threads} host thread(s): starting peers`);
  const session = await PeerSession.open(peers, threads, ctx.session, ctx.peerInfo, ctx.peerStartErrors);
  try {
    const run = new GpuRun(session, peers, ctx);
    const gemm = await run.gemm();
    const conv = await run.conv();
    const train = await run.train();
    return {
      available: true,
      deviceName: tg.cuda.deviceName(),
      status: gpu.status,
      tensorCores: native.cudaGemmTensorCores(),
      threads,
      torch: torchOnGpu(ctx, peers),
      method: METHOD,
      gemm: { unit: 'TFLOP/s', ratio: 'ours/peer, higher is better', rows: gemm },
      conv: { unit: 'ms', ratio: 'ours_ms/peer_ms, lower is better', rows: conv },
      train: { unit: 'ms', ratio: 'ours_ms/peer_ms, lower is better', rows: train },
    };
  } finally {
    session.close();
    releaseDeviceMemory();
  }
}

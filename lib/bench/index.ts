/**
 * `tensorgrad bench` / `npm run bench`: GEMM GFLOP/s, conv2d milliseconds and
 * full training steps of tensorgrad's CPU kernels beside OpenBLAS, oneDNN,
 * PyTorch and TensorFlow.js when they are on the machine, with the measured FMA
 * peak for reference (DESIGN.md section 8); and, as the kind 'cuda' (part of 'all'
 * only where a GPU is usable), the same kinds of work on the GPU beside PyTorch there.
 * Prints a table per kind and writes everything to a JSON file.
 *
 * Method: for each thread count (1 and all cores) and each case, tensorgrad is
 * timed in this process and then each peer in its own long-lived process, back
 * to back; each side warms up, then repeats until a minimum time and count, and
 * the median is reported.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkBoolean, checkOptions, expected } from '../check';
import { packageRoot } from '../binding';
import * as tg from '../index';
import { convTable, runConv, type ConvRow } from './conv';
import { cudaReadiness, cudaUnavailableLine, runCuda, type CudaReport } from './cuda';
import { cudaTables } from './cuda_table';
import { gemmTable, runGemm, type GemmRow } from './gemm';
import { runTrain, trainTable, type TrainRow } from './train';
import { busyCores, machineInfo, measurePeak, type MachineInfo, type PeakResult } from './machine';
import type { MeasureOptions } from './measure';
import {
  compilerName, compilerVersion, PEER_KINDS, PeerError, peerEnvChanges, preparePeers,
  type MeasuredKind, type PeerName,
} from './peers';
import { fmt } from './table';
import type { BenchContext, PeerInfo } from './session';

export type BenchKind = MeasuredKind | 'all';

export interface BenchOptions {
  /** A short smoke run: fewer and smaller GEMM sizes, shorter timing. */
  quick?: boolean;
  /** JSON output path; default bench-results/<kind>-<timestamp>.json under the working folder; false writes none. */
  json?: string | false;
  /** Thread counts to run at; default 1 and os.availableParallelism(). */
  threads?: readonly number[];
  /**
   * Run the peers in this process's environment unchanged (but for thread
   * counts). By default variables such as OPENBLAS_CORETYPE that pin a peer to
   * other kernels than it picks for this CPU are removed, and glibc malloc is
   * told to reuse large blocks (see PEER_MALLOC_ENV in peers.ts).
   */
  inheritEnv?: boolean;
  /** The python with torch for the PyTorch peer; default /usr/bin/python3. */
  python?: string;
  /** Where the tables go; default stdout. */
  print?: (text: string) => void;
  /** Where progress goes; default stderr. */
  log?: (line: string) => void;
}

export interface PeerStatus {
  available: boolean;
  /** Why not, in short and in full (compiler errors, import errors). */
  na?: string;
  detail?: string;
  /** What the peer reported when it started: version, library threads, ISA ... */
  info?: PeerInfo;
}

export interface BenchReport {
  tool: string;
  tensorgrad: string;
  date: string;
  quick: boolean;
  kinds: MeasuredKind[];
  machine: MachineInfo & {
    compiler: string | null;
    /**
     * Cores other processes kept busy (from /proc/stat, sampled while the bench
     * waited) at the start, before each table and thread count, and at the end.
     */
    busyCores: { when: string; cores: number | null }[];
  };
  threads: number[];
  method: MeasureOptions & { statistic: 'median'; settleMs: number; note: string };
  /** How the peers' environment differed from the bench's (see BenchOptions.inheritEnv). */
  peerEnv: { removed: Record<string, string>; added: Record<string, string> };
  peak: (PeakResult & { available: true }) | { available: false; na: string; detail: string };
  peers: Partial<Record<PeerName, PeerStatus>>;
  gemm?: { unit: 'GFLOP/s'; ratio: 'ours/peer, higher is better'; rows: GemmRow[] };
  conv?: { unit: 'ms'; ratio: 'ours_ms/peer_ms, lower is better'; rows: ConvRow[] };
  train?: { unit: 'ms'; ratio: 'ours_ms/peer_ms, lower is better'; rows: TrainRow[] };
  /** The GPU bench: device names, torch's version and CUDA, the rows; or, when asked for without a GPU, why not. */
  cuda?: CudaReport;
  /** Where the JSON went (null when not written). */
  jsonPath: string | null;
}

const CPU_KINDS: readonly MeasuredKind[] = ['gemm', 'conv', 'train'];
const MEASURED: readonly MeasuredKind[] = [...CPU_KINDS, 'cuda'];
const KINDS: readonly BenchKind[] = [...MEASURED, 'all'];

/**
 * The kinds `kinds` names, in table order. 'all' (also the default) is the CPU kinds,
 * plus 'cuda' where `gpu` is true: a machine without a GPU runs 'all' as it always did.
 * A 'cuda' named outright stays in the list whatever `gpu` says; runBench explains it away.
 */
export function benchKinds(kinds: unknown, gpu: boolean): MeasuredKind[] {
  const list = kinds === undefined ? ['all'] : typeof kinds === 'string' ? [kinds] : kinds;
  if (!Array.isArray(list)) expected(TypeError, 'bench', "'gemm', 'conv', 'train', 'cuda', 'all' or an array of them", 'kinds', kinds);
  const all = gpu ? MEASURED : CPU_KINDS;
  const out = new Set<MeasuredKind>();
  for (const [i, k] of (list as unknown[]).entries()) {
    if (typeof k !== 'string' || !KINDS.includes(k as BenchKind)) {
      expected(RangeError, 'bench', "one of 'gemm', 'conv', 'train', 'cuda', 'all'", `kinds[${i}]`, k);
    }
    for (const m of MEASURED) if ((k === 'all' && all.includes(m)) || k === m) out.add(m);
  }
  if (out.size === 0) for (const m of all) out.add(m);
  return MEASURED.filter((k) => out.has(k));
}

function normalizeThreads(threads: unknown, cores: number): number[] {
  if (threads === undefined) return [...new Set([1, cores])];
  if (!Array.isArray(threads) || threads.length === 0) {
    expected(TypeError, 'bench', 'a non-empty array of thread counts', 'threads', threads);
  }
  for (const [i, t] of (threads as unknown[]).entries()) {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) expected(RangeError, 'bench', 'a positive integer', `threads[${i}]`, t);
  }
  return [...new Set(threads as number[])];
}

function packageVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}

function defaultJsonPath(kinds: readonly string[], date: Date): string {
  const stamp = `${date.toISOString().slice(0, 19).replace(/:/g, '-')}Z`;
  return path.join(process.cwd(), 'bench-results', `${kinds.length === 1 ? kinds[0] : 'all'}-${stamp}.json`);
}

/** Measures the fp32 FMA peak at each thread count and prints it; n/a with the reason when the probe cannot run. */
function peakReport(
  threads: readonly number[], quick: boolean, machine: MachineInfo, print: (text: string) => void, log: (line: string) => void,
): BenchReport['peak'] {
  try {
    log(`measuring the FMA peak at ${threads.join(', ')} thread(s)`);
    const peak: PeakResult = measurePeak(threads, quick ? 0.1 : 0.3, machine.features);
    print(
      `fp32 FMA peak (${peak.vectorBits}-bit${peak.fma ? ' FMA' : ' mul+add'}, ${compilerName()} -O2 ${peak.flags.join(' ')}): ` +
        threads.map((t) => `${fmt(peak.gflops[t])} GFLOP/s at ${t} thread(s)`).join(', '),
    );
    return { available: true, ...peak };
  } catch (e) {
    const err = e instanceof PeerError ? e : new PeerError('failed', String(e));
    print(`fp32 FMA peak: n/a (${err.short}): ${err.detail}`);
    return { available: false, na: err.short, detail: err.detail };
  }
}

/**
 * Runs the benchmarks of `kinds` ('gemm', 'conv', 'train', 'cuda' or 'all', the default), prints
 * their tables, writes the JSON report, and returns it. Peers that are missing
 * or fail show as n/a with the reason; only bad arguments or a failure to
 * write the JSON throw. 'cuda' without a usable GPU prints one line saying why and
 * is left out; when nothing else was asked for, nothing is measured or written.
 */
export async function runBench(kinds: BenchKind | readonly BenchKind[] = 'all', options: BenchOptions = {}): Promise<BenchReport> {
  const o = checkOptions('bench', options) as BenchOptions;
  const gpu = cudaReadiness();
  const requested = benchKinds(kinds, gpu.available);
  const which = requested.filter((k) => k !== 'cuda' || gpu.available);
  const quick = o.quick === undefined ? false : checkBoolean('bench', 'quick', o.quick);
  const inheritEnv = o.inheritEnv === undefined ? false : checkBoolean('bench', 'inheritEnv', o.inheritEnv);
  if (o.json !== undefined && o.json !== false && (typeof o.json !== 'string' || o.json === '')) {
    expected(TypeError, 'bench', 'a file path or false', 'json', o.json);
  }
  if (o.python !== undefined && (typeof o.python !== 'string' || o.python === '')) {
    expected(TypeError, 'bench', 'a path to python3', 'python', o.python);
  }
  const print = o.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const machine = machineInfo();
  const threads = normalizeThreads(o.threads, machine.cores);
  const date = new Date();

  const measure: MeasureOptions = quick
    ? { minTimeS: 0.05, minReps: 3, warmTimeS: 0.02 }
    : { minTimeS: 0.3, minReps: 5, warmTimeS: 0.1 };
  // longer than OpenBLAS keeps idle workers spinning (2^28 TSC ticks, about 0.1 s) and libgomp its spin (ms)
  const settleMs = quick ? 120 : 200;
  const envChanges = peerEnvChanges(inheritEnv);
  const method: BenchReport['method'] = {
    ...measure, statistic: 'median', settleMs,
    note: 'ours timed in-process (GEMM NN via tg.matmul, transposed forms via the native GEMM with trans flags; conv via tg.conv2d; ' +
      'training steps via tg.nn, tg.nn.functional.crossEntropy and tg.optim.Adam); ' +
      'peers in child processes: OpenBLAS cblas_sgemm, oneDNN dnnl_sgemm, PyTorch torch.mm(out=), F.conv2d and torch.nn/torch.optim.Adam steps, ' +
      'TensorFlow.js (cpu and wasm backends) optimizer.minimize steps' +
      (which.includes('cuda') ? "; the GPU bench's own method is under cuda.method" : ''),
  };

  if (requested.includes('cuda') && !gpu.available) {
    print(cudaUnavailableLine(gpu.status));
    if (which.length === 0) {
      return {
        tool: 'tensorgrad bench', tensorgrad: packageVersion(), date: date.toISOString(), quick, kinds: [],
        machine: { ...machine, compiler: null, busyCores: [] }, threads, method, peerEnv: envChanges,
        peak: { available: false, na: 'not measured', detail: 'no kind ran' }, peers: {},
        cuda: { available: false, status: gpu.status }, jsonPath: null,
      };
    }
  }

  print(`tensorgrad ${packageVersion()} bench (${which.join(', ')}${quick ? ', quick' : ''}) ${date.toISOString()}`);
  print(`cpu: ${machine.cpuModel}, ${machine.cores} cores; tensorgrad ISA ${machine.isa}; threads ${threads.join(' and ')}; node ${machine.node}`);
  print(
    `method: warm-up >= ${measure.warmTimeS} s, then timed runs until >= ${measure.minTimeS} s and >= ${measure.minReps} runs; ` +
      `median reported; tensorgrad and each peer timed back to back per case, each after a ${settleMs} ms pause`,
  );
  const listEnv = (vars: Record<string, string>): string => Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ');
  if (Object.keys(envChanges.removed).length > 0) {
    print(`peers' environment: without ${listEnv(envChanges.removed)}, so each peer picks its own kernels for this CPU`);
  }
  if (Object.keys(envChanges.added).length > 0) {
    print(`peers' environment: with ${listEnv(envChanges.added)}, so large blocks are reused as tensorgrad's cache does`);
  }
  if (inheritEnv) print("peers' environment: inherited unchanged (--inherit-env)");
  if (which.includes('cuda')) print(`gpu: ${tg.cuda.deviceName()} (${gpu.status})`);

  const busySamples: { when: string; cores: number | null }[] = [];
  const checkBusy = async (when: string): Promise<void> => {
    const cores = await busyCores(300);
    busySamples.push({ when, cores });
    if (cores !== null && cores > 0.25) {
      print(`warning: other processes kept ${cores.toFixed(1)} of ${os.cpus().length} cores busy ${when}; timings may read low`);
    }
  };
  await checkBusy('at the start');

  // the FMA peak is the CPU tables' ceiling; the GPU bench alone has no use for it
  const peak: BenchReport['peak'] = which.some((k) => CPU_KINDS.includes(k))
    ? peakReport(threads, quick, machine, print, log)
    : { available: false, na: 'not measured', detail: 'only the GPU bench ran' };

  const peerNames = (Object.keys(PEER_KINDS) as PeerName[]).filter((p) => PEER_KINDS[p].some((k) => which.includes(k)));
  log(`preparing peers: ${peerNames.join(', ')}`);
  const prepared = preparePeers(peerNames, o.python ?? '/usr/bin/python3');
  const peerInfo = new Map<PeerName, PeerInfo>();
  const peerStartErrors = new Map<PeerName, PeerError>();
  const ctx: BenchContext = {
    quick,
    threads,
    measure,
    session: { inheritEnv, settleMs, requestTimeoutMs: 300_000, log },
    peers: prepared,
    peerInfo,
    peerStartErrors,
    peak: peak.available ? peak : null,
    log,
    checkBusy,
  };

  const previousThreads = tg.getNumThreads();
  const report: BenchReport = {
    tool: 'tensorgrad bench',
    tensorgrad: packageVersion(),
    date: date.toISOString(),
    quick,
    kinds: which,
    machine: { ...machine, compiler: compilerVersion(), busyCores: busySamples },
    threads,
    method,
    peerEnv: envChanges,
    peak,
    peers: {},
    ...(requested.includes('cuda') && !gpu.available ? { cuda: { available: false, status: gpu.status } } : {}),
    jsonPath: null,
  };
  try {
    for (const kind of which) {
      const names = peerNames.filter((p) => PEER_KINDS[p].includes(kind));
      print('');
      if (kind === 'gemm') {
        const rows = await runGemm(ctx);
        report.gemm = { unit: 'GFLOP/s', ratio: 'ours/peer, higher is better', rows };
        print(gemmTable(rows, names));
      } else if (kind === 'conv') {
        const rows = await runConv(ctx);
        report.conv = { unit: 'ms', ratio: 'ours_ms/peer_ms, lower is better', rows };
        print(convTable(rows, names));
      } else if (kind === 'train') {
        const rows = await runTrain(ctx);
        report.train = { unit: 'ms', ratio: 'ours_ms/peer_ms, lower is better', rows };
        print(trainTable(rows, names));
      } else {
        const section = await runCuda(ctx);
        report.cuda = section;
        print(cudaTables(section, names));
      }
    }
  } finally {
    tg.setNumThreads(previousThreads);
  }

  print('');
  await checkBusy('at the end');
  for (const p of prepared) {
    const info = peerInfo.get(p.name);
    if (!p.ok) {
      report.peers[p.name] = { available: false, na: p.error.short, detail: p.error.detail };
      print(`${p.name}: n/a (${p.error.short}): ${p.error.detail}`);
    } else if (info === undefined) {
      const err = peerStartErrors.get(p.name) ?? new PeerError('not run', 'no table used it');
      report.peers[p.name] = { available: false, na: err.short, detail: err.detail };
      print(`${p.name}: n/a (${err.short}): ${err.detail}`);
    } else {
      report.peers[p.name] = { available: true, info };
      const extra = Object.entries(info)
        .filter(([k]) => k !== 'version')
        .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(', ');
      print(`${p.name}: ${String(info.version ?? 'version unknown')}${extra ? ` (${extra})` : ''}`);
    }
  }

  if (o.json !== false) {
    const file = o.json === undefined ? defaultJsonPath(which, date) : path.resolve(o.json);
    report.jsonPath = file;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    print(`results: ${file}`);
  }
  return report;
}

export { gemmCases } from './gemm';
export type { GemmCase, GemmRow } from './gemm';
export { convCases } from './conv';
export type { ConvCase, ConvRow, ConvPass } from './conv';
export { trainCases } from './train';
export type { TrainCase, TrainRow } from './train';
export { cudaGemmCases, cudaReadiness } from './cuda';
export type { CudaSection, CudaReport, CudaGemmRow, CudaConvRow, CudaTrainRow, TorchOnGpu } from './cuda';
export type { MachineInfo, PeakResult } from './machine';
export type { Cell, PeerInfo } from './session';
export type { Timing, MeasureOptions } from './measure';
export type { MeasuredKind, PeerName } from './peers';

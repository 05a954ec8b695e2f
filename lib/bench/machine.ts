/**
 * What the bench ran on: CPU model and cores, the kernel ISA tensorgrad chose,
 * and the machine's fp32 FMA peak measured by bench/peers/fma_peak.c, the
 * ceiling GEMM results are reported against.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { native } from '../binding';
import { compileC, PeerError } from './peers';

export interface MachineInfo {
  cpuModel: string;
  /** os.availableParallelism(): the thread count of the "all cores" runs. */
  cores: number;
  platform: string;
  node: string;
  /** The GEMM/conv kernel ISA tensorgrad picked at load (tg.cpuInfo().isa). */
  isa: string;
  features: Record<string, boolean>;
}

function cpuModel(): string {
  try {
    const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const field = (key: string): string | undefined => {
      const m = new RegExp(`^${key}\\s*:\\s*(.*)$`, 'm').exec(text);
      return m ? m[1].trim() : undefined;
    };
    const name = field('model name');
    if (name) {
      const family = field('cpu family');
      const model = field('model');
      return family && model ? `${name} (family ${family}, model ${model})` : name;
    }
  } catch {
    // not Linux: fall back to what Node reports
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(): MachineInfo {
  const info = native.cpuInfo();
  return {
    cpuModel: cpuModel(),
    cores: os.availableParallelism(),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    isa: info.isa,
    features: info.features,
  };
}

export interface PeakResult {
  /** GFLOP/s by thread count. */
  gflops: Record<number, number>;
  vectorBits: number;
  fma: boolean;
  flags: string[];
}

/** The widest vector flags this CPU runs, from tensorgrad's own detection. */
export function peakFlags(features: Record<string, boolean>): string[] {
  if (features.avx512f) return ['-mavx512f', '-mfma'];
  if (features.avx2 && features.fma) return ['-mavx2', '-mfma'];
  return [];
}

/**
 * Runs the FMA loop at each thread count for about `seconds` per trial.
 * Throws PeerError when it cannot be built or run.
 */
export function measurePeak(threads: readonly number[], seconds: number, features: Record<string, boolean>): PeakResult {
  const flags = peakFlags(features);
  const exe = compileC('fma_peak.c', [...flags, '-pthread'], []);
  const result: PeakResult = { gflops: {}, vectorBits: 0, fma: false, flags };
  for (const t of threads) {
    const r = spawnSync(exe, [String(t), String(seconds)], { encoding: 'utf8', timeout: 120_000 });
    if (r.error || r.status !== 0) {
      throw new PeerError('failed', `fma_peak ${t}: ${r.error?.message ?? `exit ${r.status}`} ${r.stderr ?? ''}`.trim());
    }
    const out = JSON.parse(r.stdout) as { gflops: number; vectorBits: number; fma: boolean };
    result.gflops[t] = out.gflops;
    result.vectorBits = out.vectorBits;
    result.fma = out.fma;
  }
  return result;
}

function cpuTimes(): { idle: number; total: number } | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
    if (!line) return null;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { idle: v[3] + (v[4] ?? 0), total };
  } catch {
    return null;
  }
}

/**
 * How many cores other processes kept busy over `ms` while this one waited
 * (from /proc/stat; null where that is not available). A bench on a busy
 * machine measures the competition too, so the report carries this figure.
 */
export async function busyCores(ms: number): Promise<number | null> {
  const a = cpuTimes();
  if (a === null) return null;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  if (b === null || b.total <= a.total) return null;
  const busy = 1 - (b.idle - a.idle) / (b.total - a.total);
  return Math.max(0, busy) * os.cpus().length;
}

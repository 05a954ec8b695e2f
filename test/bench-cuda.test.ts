/**
 * `tensorgrad bench cuda` where it can be checked without a GPU: the kind on the command
 * line, 'all' leaving it out on a machine without one, the one line and exit 0 it gives
 * there, the GPU tables' layout on made-up rows, and the PyTorch peer's device argument.
 * The GPU timings themselves need a GPU (run `tensorgrad bench cuda` on one).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as tg from '../lib/index';
import { cliMain } from '../lib/cli';
import { benchKinds, runBench } from '../lib/bench/index';
import { parseArgs } from '../lib/bench/run';
import { cudaGemmCases, type CudaSection } from '../lib/bench/cuda';
import { cudaTables } from '../lib/bench/cuda_table';
import { squareCase } from '../lib/bench/gemm';
import { convCases } from '../lib/bench/conv';
import { trainCases } from '../lib/bench/train';
import { capture } from './helpers';

const HAS_CUDA = tg.cuda.isAvailable();
const PYTHON = '/usr/bin/python3';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('bench cuda: kinds', () => {
  it("'cuda' is a bench kind on the command line", () => {
    expect(parseArgs(['cuda', '--quick'])).toEqual({ kinds: ['cuda'], options: { quick: true } });
    expect(parseArgs(['gemm', 'cuda'])).toEqual({ kinds: ['gemm', 'cuda'], options: {} });
  });

  it("'all' (and the default) includes cuda only where a GPU is usable; a cuda named outright stays", () => {
    expect(benchKinds('all', false)).toEqual(['gemm', 'conv', 'train']);
    expect(benchKinds(undefined, false)).toEqual(['gemm', 'conv', 'train']);
    expect(benchKinds('all', true)).toEqual(['gemm', 'conv', 'train', 'cuda']);
    expect(benchKinds(['cuda'], false)).toEqual(['cuda']);
    expect(benchKinds(['cuda', 'gemm'], false)).toEqual(['gemm', 'cuda']);
    expect(() => benchKinds(['gpu'], true)).toThrow(/one of 'gemm', 'conv', 'train', 'cuda', 'all'/);
  });

  it('times fp32, fp16 and bf16 squares at 1024..8192, or 1024 and 2048 with --quick', () => {
    const sizes = (quick: boolean, dtype: string): number[] => cudaGemmCases(quick).filter((c) => c.dtype === dtype).map((c) => c.m);
    for (const dtype of ['float32', 'float16', 'bfloat16']) {
      expect(sizes(false, dtype)).toEqual([1024, 2048, 4096, 8192]);
      expect(sizes(true, dtype)).toEqual([1024, 2048]);
    }
  });
});

describe.skipIf(HAS_CUDA)('bench cuda without a GPU', () => {
  const line = `bench cuda: CUDA is not available (${tg.cuda.status()}); nothing measured`;

  it('prints one line saying why, measures nothing and writes no report', async () => {
    const printed: string[] = [];
    const logged: string[] = [];
    const json = path.join(os.tmpdir(), `tg-bench-cuda-${process.pid}.json`);
    const report = await runBench('cuda', { json, print: (t) => printed.push(t), log: (l) => logged.push(l) });
    expect(printed).toEqual([line]);
    expect(logged).toEqual([]);
    expect(report.kinds).toEqual([]);
    expect(report.cuda).toEqual({ available: false, status: tg.cuda.status() });
    expect(report.jsonPath).toBeNull();
    expect(fs.existsSync(json)).toBe(false);
  });

  it('`tensorgrad bench cuda` exits 0 with that line and nothing on stderr', async () => {
    const out = capture('stdout');
    const err = capture('stderr');
    expect(await cliMain(['bench', 'cuda'])).toBe(0);
    expect(out()).toBe(`${line}\n`);
    expect(err()).toBe('');
  });
});

describe('bench cuda tables', () => {
  const na = { ok: false as const, na: 'no CUDA', detail: 'PyTorch 2.5.1 is a CPU-only build (torch.version.cuda is None)' };
  const ours = (value: number) => ({ ok: true as const, value, timing: { medianS: 1e-3, minS: 1e-3, reps: 5, warmup: 2 } });
  const section: CudaSection = {
    available: true,
    deviceName: 'NVIDIA Test GPU',
    status: 'CUDA 12.4, 1 device(s)',
    tensorCores: 'wgmma',
    threads: 8,
    torch: { available: false, na: na.na, detail: na.detail },
    method: '',
    gemm: {
      unit: 'TFLOP/s', ratio: 'ours/peer, higher is better',
      rows: [{ ...squareCase(1024, 'float16'), flop: 2 * 1024 ** 3, ours: ours(123.4), peers: { 'torch-cuda': na }, ratios: { 'torch-cuda': null } }],
    },
    conv: {
      unit: 'ms', ratio: 'ours_ms/peer_ms, lower is better',
      rows: [{ ...convCases()[0], pass: 'fwd+bwd', dtype: 'float16', ours: ours(0.5), peers: { 'torch-cuda': na }, ratios: { 'torch-cuda': null } }],
    },
    train: {
      unit: 'ms', ratio: 'ours_ms/peer_ms, lower is better',
      rows: [{ ...trainCases()[0], precision: 'amp float16', ours: ours(2), peers: { 'torch-cuda': na }, ratios: { 'torch-cuda': null } }],
    },
  };

  it('name the GPU, then one table each for GEMM, conv2d and training, peer columns n/a with the reason', () => {
    const lines = cudaTables(section, ['torch-cuda']).split('\n');
    expect(lines[0]).toBe('GPU bench: tensorgrad on NVIDIA Test GPU (CUDA 12.4, 1 device(s)); half GEMMs on wgmma; 8 host thread(s)');
    expect(lines[1]).toBe(`torch-cuda: n/a (no CUDA): ${na.detail}`);
    expect(lines).toContainEqual(expect.stringMatching(/^shape +dtype +ours TF\/s +torch-cuda TF\/s +ours\/torch-cuda$/));
    expect(lines).toContainEqual(expect.stringMatching(/^1024\^3 +float16 +123\.4 +n\/a \(no CUDA\) +-$/));
    expect(lines).toContainEqual(expect.stringMatching(/^input \* weight +dtype +pass +ours ms +torch-cuda ms +ours\/torch-cuda$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[32,3,32,32\] \* \[64,3,3,3\] +float16 +fwd\+bwd +0\.500 +n\/a \(no CUDA\) +-$/));
    expect(lines).toContainEqual(expect.stringMatching(/^MLP 784-512-512-10 +128 +amp float16 +2\.00 +n\/a \(no CUDA\) +-$/));
    expect(lines).toContain(`  torch-cuda amp float16: n/a (no CUDA): ${na.detail}`);
  });

  it("state torch's TF32 settings and warn when the two sides name different GPUs", () => {
    const withTorch: CudaSection = {
      ...section,
      torch: { available: true, deviceName: 'NVIDIA Other GPU', version: 'PyTorch 2.5.1', cuda: '12.4', tf32Matmul: false, cudnnTf32: false },
    };
    const lines = cudaTables(withTorch, ['torch-cuda']).split('\n');
    expect(lines[1]).toBe('torch-cuda: PyTorch 2.5.1, CUDA 12.4, on NVIDIA Other GPU');
    expect(lines[2]).toMatch(/^warning: tensorgrad and torch name different GPUs/);
    expect(lines[3]).toBe(
      "torch fp32: TF32 off for matmul (torch.backends.cuda.matmul.allow_tf32=False, PyTorch's default) " +
        'and off for cuDNN conv (torch.backends.cudnn.allow_tf32=False)',
    );
  });
});

describe.skipIf(!fs.existsSync(PYTHON))('torch_bench.py device argument', () => {
  const script = path.join(__dirname, '..', 'bench', 'peers', 'torch_bench.py');

  it('takes cpu or cuda after the thread count and rejects anything else before importing torch', () => {
    for (const args of [['1', 'tpu'], ['1', 'cuda', 'extra'], ['0'], []]) {
      const r = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', input: '' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toBe('usage: torch_bench.py <threads> [cpu|cuda]\n');
      expect(r.stdout).toBe('');
    }
  });
});

/**
 * The CUDA kernels' host-checkable contracts, without a GPU: test/cuda-host/*.cu are
 * host programs that include the kernels' headers and emulate, from the PTX ISA's
 * definitions, how the tensor-core instructions read shared memory, and how the
 * tile loaders read the convolution's implicit-GEMM operands. They need nvcc
 * (skipped, and counted as skipped, where there is none).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

function findNvcc(): string | null {
  const candidates = [process.env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc'].filter((c): c is string => !!c);
  return candidates.find((c) => spawnSync(c, ['--version']).status === 0) ?? null;
}
const NVCC = findNvcc();
const ORIENTATIONS = ['A k-major, B k-major', 'A k-major, B n-major', 'A m-major, B k-major', 'A m-major, B n-major'];

/** Builds test/cuda-host/<name>.cu, runs it, and returns its output lines (its exit status must be 0). */
function runHostCheck(name: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cuda-host-'));
  const exe = path.join(dir, name);
  try {
    const build = spawnSync(NVCC!, ['-std=c++17', '-O1', '-o', exe, path.join(__dirname, 'cuda-host', `${name}.cu`)], {
      encoding: 'utf8',
    });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(exe, { encoding: 'utf8' });
    expect(run.status, run.stdout).toBe(0);
    return run.stdout.trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!NVCC)('cuda kernels: layouts and index maps checked on the host', () => {
  it('the sm_90a GEMM tile: cp.async placement read back through its wgmma descriptors gives A*B; TMA boxes land as the layout', () => {
    const want = [
      ...[128, 256].flatMap((bn) => ORIENTATIONS.map((o) => `wgmma 128x${bn} tile, ${o}: 0 errors`)),
      ...[128, 256].flatMap((x) => ['k-major', 'x-major'].map((m) => `tma boxes, ${x}-row tile ${m}: 0 errors`)),
    ];
    expect(runHostCheck('wgmma_layout')).toEqual(want);
  });

  it('the sm_80 tensor-core tile: ldmatrix at its lane addresses and mma.sync fragments give A*B', () => {
    expect(runHostCheck('mma_layout')).toEqual(ORIENTATIONS.map((o) => `mma.sync tile, ${o}: 0 errors`));
  });

  it('the implicit-GEMM convolution: its sources read as the loaders read them give forward, grad-input and grad-weight', () => {
    const tiles = ['float 128x8 runs of 4', 'double-path 64x8 runs of 2', 'half 128x32 runs of 8'];
    expect(runHostCheck('conv_sources')).toEqual(tiles.map((t) => `conv passes, ${t}: 0 errors`));
  });
});

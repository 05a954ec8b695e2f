/**
 * The `tensorgrad` command: `info` names the binary, the micro-kernels this CPU runs
 * and the CUDA status in one line; unknown commands and bad bench arguments exit 2
 * with the usage. (The installed command itself runs in scripts/install-test.mjs.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as tg from '../lib/index';
import { cliMain, infoLines } from '../lib/cli';
import { capture } from './helpers';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('tensorgrad info', () => {
  it('names the version, the binary, the chosen micro-kernels with their tiles, threads and CUDA', () => {
    const lines = infoLines();
    const info = tg.cpuInfo();
    expect(lines[0]).toMatch(/^tensorgrad \d+\.\d+\.\d+ \(Node v\d+/);
    expect(lines.find((l) => l.startsWith('binary:'))).toMatch(/^binary:\s+(prebuilt|built from source), .*tensorgrad\.node$/);
    const kernels = lines.find((l) => l.startsWith('kernels:'))!;
    expect(kernels).toContain(`${info.isa} GEMM micro-kernels`);
    const [r, c] = info.gemmTiles.float32;
    expect(kernels).toContain(`float32 ${r}x${c}`);
    // the tile is the ISA's: 6x16 for AVX2, 12x32 for AVX-512, whatever the portable one is
    if (info.isa === 'avx2') expect([r, c]).toEqual([6, 16]);
    if (info.isa === 'avx512') expect([r, c]).toEqual([12, 32]);
    expect(lines.find((l) => l.startsWith('threads:'))).toMatch(new RegExp(`^threads:\\s+${tg.getNumThreads()}`));
    const cudaLines = lines.filter((l) => l.startsWith('CUDA:'));
    expect(cudaLines).toHaveLength(1);
    if (!tg.cuda.isAvailable()) expect(cudaLines[0]).toBe(`CUDA:     none: ${tg.cuda.status()}`);
  });

  it('prints those lines through the command', async () => {
    const out = capture('stdout');
    expect(await cliMain(['info'])).toBe(0);
    expect(out()).toBe(`${infoLines().join('\n')}\n`);
  });
});

describe('tensorgrad usage errors', () => {
  it('an unknown command exits 2 and shows the usage', async () => {
    const err = capture('stderr');
    expect(await cliMain(['trian'])).toBe(2);
    expect(err()).toMatch(/^tensorgrad: unknown command 'trian'\nusage: tensorgrad <command>/);
  });

  it('no command exits 2 with the usage; help exits 0', async () => {
    const out = capture('stdout');
    expect(await cliMain([])).toBe(2);
    expect(await cliMain(['help'])).toBe(0);
    expect(out()).toMatch(/usage: tensorgrad <command>[\s\S]*usage: tensorgrad <command>/);
  });

  it('bench rejects an unknown argument with exit 2 before running anything', async () => {
    const err = capture('stderr');
    expect(await cliMain(['bench', '--frobnicate'])).toBe(2);
    expect(err()).toMatch(/^bench: unknown argument '--frobnicate'\nusage: tensorgrad bench/);
  });
});

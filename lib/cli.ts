#!/usr/bin/env node
/**
 * The `tensorgrad` command: `info` (what this install runs on), `bench` (lib/bench) and
 * `demo` (the digits training demo). Argument parsing only; the work lives elsewhere.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addonPath, packageRoot } from './binding';
import { cpuInfo, cuda, getNumThreads } from './index';
import { benchMain } from './bench/run';

const USAGE = `usage: tensorgrad <command>
  info                       version, native binary, CPU features and kernels, threads, CUDA
  bench [gemm|conv|train|cuda|all] [--json file] [--quick] ...   benchmarks (tensorgrad bench --help)
  demo [args]                train the small CNN on the bundled 8x8 digits`;

/** The demo script inside the package, the one `npm run demo` runs. */
const DEMO = path.join('examples', 'digits-cnn.mjs');

/** `tensorgrad info`, as lines: what a bug report or a speed question needs first. */
export function infoLines(): string[] {
  const root = packageRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const binary = addonPath();
  const prebuilt = path.relative(root, binary).split(path.sep)[0] === 'prebuilds';
  const info = cpuInfo();
  const present = Object.entries(info.features).filter(([, on]) => on).map(([name]) => name);
  const absent = Object.entries(info.features).filter(([, on]) => !on).map(([name]) => name);
  const [r32, c32] = info.gemmTiles.float32;
  const [r64, c64] = info.gemmTiles.float64;
  const env = process.env.TENSORGRAD_NUM_THREADS;
  const bf16 = { amx: ', bfloat16 on AMX tiles', avx512bf16: ', bfloat16 on AVX512-BF16 dot products' }[info.isa] ?? '';
  return [
    `tensorgrad ${pkg.version} (Node ${process.version}, N-API ${process.versions.napi}, ${process.platform}-${process.arch})`,
    `binary:   ${prebuilt ? 'prebuilt' : 'built from source'}, ${binary}`,
    `CPU:      ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} logical cores`,
    `features: ${present.join(' ') || 'none of note'}${absent.length ? ` (absent: ${absent.join(' ')})` : ''}`,
    `kernels:  ${info.isa} GEMM micro-kernels (register tiles float32 ${r32}x${c32}, float64 ${r64}x${c64})${bf16}`,
    `threads:  ${getNumThreads()}${env ? ` (TENSORGRAD_NUM_THREADS=${env})` : ''}`,
    `CUDA:     ${cuda.isAvailable() ? `${cuda.deviceCount()} device(s): ${cuda.status()}` : `none: ${cuda.status()}`}`,
  ];
}

export async function cliMain(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'info':
      process.stdout.write(`${infoLines().join('\n')}\n`);
      return 0;
    case 'bench':
      await benchMain(rest);
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    case 'demo': {
      const r = spawnSync(process.execPath, [path.join(packageRoot(), DEMO), ...rest], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`tensorgrad: unknown command '${command}'\n${USAGE}\n`);
      return 2;
  }
}

if (require.main === module) {
  cliMain(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`tensorgrad: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

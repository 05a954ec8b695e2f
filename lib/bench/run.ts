/**
 * `npm run bench -- [gemm|conv|train|cuda|all]... [--quick] [--json <file>] [--threads 1,4]
 * [--no-json] [--inherit-env] [--python <path>]`: argv to runBench (lib/bench/index.ts), nothing more.
 */
import { runBench, type BenchKind, type BenchOptions } from './index';

const USAGE = `usage: tensorgrad bench [gemm|conv|train|cuda|all]... [options]
  gemm, conv, train,  what to run (default: all); train times whole training steps beside
  all                 PyTorch and TensorFlow.js (whose cpu backend takes minutes for the CNN)
  cuda                the GPU bench: GEMM TFLOP/s (fp32, fp16, bf16), conv2d and training steps
                      (fp32, fp16 / autocast) beside PyTorch on the same GPU; part of all only where
                      a GPU is usable; without one it says why and measures nothing
  --quick             short smoke run: small GEMM sizes, brief timing
  --json <file>       write the JSON report here (default: bench-results/<kind>-<timestamp>.json)
  --no-json           write no JSON report
  --threads <list>    thread counts, comma-separated (default: 1 and all cores)
  --inherit-env       run the peers in this environment unchanged (by default OPENBLAS_CORETYPE and
                      the like are dropped and glibc malloc is set to reuse large blocks)
  --python <path>     python3 with torch for the PyTorch peer (default: /usr/bin/python3)`;

export function parseArgs(argv: readonly string[]): { kinds: BenchKind[]; options: BenchOptions } | 'help' {
  const kinds: BenchKind[] = [];
  const options: BenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') return 'help';
    else if (a === '--quick') options.quick = true;
    else if (a === '--json') options.json = value();
    else if (a.startsWith('--json=')) options.json = a.slice('--json='.length);
    else if (a === '--no-json') options.json = false;
    else if (a === '--inherit-env') options.inheritEnv = true;
    else if (a === '--python') options.python = value();
    else if (a === '--threads') {
      const list = value().split(',').map((s) => Number(s.trim()));
      if (list.some((t) => !Number.isInteger(t) || t < 1)) throw new Error(`--threads takes positive integers, e.g. 1,4`);
      options.threads = list;
    } else if (a === 'gemm' || a === 'conv' || a === 'train' || a === 'cuda' || a === 'all') kinds.push(a);
    else throw new Error(`unknown argument '${a}'`);
  }
  return { kinds: kinds.length ? kinds : ['all'], options };
}

/** `tensorgrad bench ...` and `npm run bench -- ...`: parse, then run or print usage. */
export async function benchMain(argv: readonly string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  await runBench(parsed.kinds, parsed.options);
}

if (require.main === module) {
  benchMain(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}

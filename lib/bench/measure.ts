/**
 * Timing for the bench: warm-up runs, then timed runs until both a minimum time
 * and a minimum count are reached; the median is the figure reported. The peers
 * (bench/peers/*) follow the same rule in their own processes. On the GPU every
 * call ends with a device synchronize inside the clock, since CUDA ops only enqueue.
 */

export interface Timing {
  /** Median seconds of one run. */
  medianS: number;
  /** Fastest run, seconds. */
  minS: number;
  /** Timed runs. */
  reps: number;
  /** Untimed warm-up runs before them. */
  warmup: number;
}

export interface MeasureOptions {
  /** Timed runs continue until their total reaches this many seconds... */
  minTimeS: number;
  /** ...and at least this many were made. */
  minReps: number;
  /** Warm-up runs continue (at least one) until this many seconds have passed. */
  warmTimeS: number;
}

/** What a timed function may hand back: released after the clock stops. */
export type Releasable = { dispose(): void } | readonly { dispose(): void }[] | void;

const MAX_REPS = 100000;

function release(r: Releasable): void {
  if (!r) return;
  if (Array.isArray(r)) for (const t of r as readonly { dispose(): void }[]) t.dispose();
  else (r as { dispose(): void }).dispose();
}

export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 ? sorted[(n - 1) / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;

/**
 * Times `fn` in this process. Only the call is timed: what it returns (the
 * output tensors) is disposed after the clock stops, so their memory goes back
 * to the allocator's cache for the next run, as it does in a training loop.
 * `finish`, when given, runs after every call inside the clock: tg.cuda.synchronize
 * on the GPU, where the call itself returns once its kernels are queued.
 */
export function measure(fn: () => Releasable, o: MeasureOptions, finish?: () => void): Timing {
  const warmStart = process.hrtime.bigint();
  let warmup = 0;
  do {
    const out = fn();
    if (finish) finish();
    release(out);
    warmup++;
  } while (seconds(warmStart) < o.warmTimeS);
  const samples: number[] = [];
  let total = 0;
  while (samples.length < MAX_REPS && (samples.length < o.minReps || total < o.minTimeS)) {
    const t0 = process.hrtime.bigint();
    const out = fn();
    if (finish) finish();
    const dt = seconds(t0);
    release(out);
    samples.push(dt);
    total += dt;
  }
  samples.sort((a, b) => a - b);
  return { medianS: median(samples), minS: samples[0], reps: samples.length, warmup };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

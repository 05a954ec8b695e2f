/**
 * Progress output of fit(). On a terminal one line is redrawn in place (carriage
 * return, then erase to the end of the line) with a bar, the batch count, the
 * running loss, samples per second and the time left; redraws are throttled so
 * a fast loop does not spend its time writing. Into a file or a pipe, where a
 * redrawn line would pile up as thousands of lines, it writes a plain line at
 * each tenth of the epoch (but not within `minGapS` of the last line, so a short
 * epoch does not fill a log with them) and at least every `intervalS` seconds.
 * Each epoch ends with one summary line in both cases.
 */

/** The part of a stream progress needs: process.stdout, a file stream, or a fake in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  /** True on a terminal: redraw one line in place. */
  isTTY?: boolean;
  /** The terminal's width; the line is cut to fit so it never wraps (a wrapped line cannot be redrawn). */
  columns?: number;
}

export interface ProgressOptions {
  epochs: number;
  /** Longest time without a plain line when not on a terminal, seconds (default 10). */
  intervalS?: number;
  /** Shortest time between plain lines at tenths of the epoch, seconds (default 1). */
  minGapS?: number;
  /** Milliseconds between redraws on a terminal (default 100). */
  redrawMs?: number;
  /** The clock in milliseconds (default performance.now); tests pass a fake one. */
  now?: () => number;
}

export interface EpochSummary {
  epoch: number;
  trainLoss: number;
  valLoss: number | null;
  valMetrics: Record<string, number>;
  lr: number | null;
  seconds: number;
  /** A note after the figures, e.g. 'best' or 'early stop'. */
  note?: string;
}

const BAR = 24;

/** 0.0123 -> '0.0123', 1234.5 -> '1234.5': about four significant digits. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(2).replace(/\.?0+e/, 'e');
  return x.toPrecision(4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/** 75 -> '1m15s', 4.2 -> '4s'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly minGapMs: number;
  private readonly redrawMs: number;
  private readonly now: () => number;
  private epoch = 0;
  private total: number | null = null;
  private start = 0;
  private lastWrite = -Infinity;
  private nextTenth = 1;
  /** A line is drawn in place, so the summary or a message must replace it or start below it. */
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly o: ProgressOptions,
  ) {
    this.tty = stream.isTTY === true;
    this.intervalMs = (o.intervalS ?? 10) * 1000;
    this.minGapMs = (o.minGapS ?? 1) * 1000;
    this.redrawMs = o.redrawMs ?? 100;
    this.now = o.now ?? (() => performance.now());
  }

  /** Starts an epoch of `total` batches (null when the data does not say how many). */
  startEpoch(epoch: number, total: number | null): void {
    this.epoch = epoch;
    this.total = total;
    this.start = this.now();
    this.lastWrite = this.start;
    this.nextTenth = 1;
    this.drawn = false;
  }

  /** After batch `done` (1-based) with the epoch's running mean loss and samples so far. */
  step(done: number, runningLoss: number, samples: number): void {
    const t = this.now();
    const last = this.total !== null && done >= this.total;
    if (this.tty) {
      if (!last && t - this.lastWrite < this.redrawMs) return;
      this.lastWrite = t;
      this.stream.write(`\r${this.fit(this.line(done, runningLoss, samples, t, true))}\x1b[K`);
      this.drawn = true;
      return;
    }
    // plain lines: at each tenth of a known total, or after intervalS without a line
    const since = t - this.lastWrite;
    let due = since >= this.intervalMs;
    if (this.total !== null && done >= Math.ceil((this.nextTenth * this.total) / 10)) {
      if (since >= this.minGapMs) due = true;
      while (this.nextTenth <= 10 && done >= Math.ceil((this.nextTenth * this.total) / 10)) this.nextTenth++;
    }
    if (!due || last) return; // the summary line stands for the last batch
    this.lastWrite = t;
    this.stream.write(`${this.line(done, runningLoss, samples, t, false)}\n`);
  }

  /** The epoch's summary line (replacing the bar on a terminal). */
  endEpoch(s: EpochSummary): void {
    const parts = [`epoch ${this.counter(s.epoch)}`, `loss ${formatNumber(s.trainLoss)}`];
    if (s.valLoss !== null) parts.push(`val loss ${formatNumber(s.valLoss)}`);
    for (const [name, v] of Object.entries(s.valMetrics)) {
      parts.push(name === 'accuracy' ? `val acc ${(100 * v).toFixed(2)}%` : `val ${name} ${formatNumber(v)}`);
    }
    if (s.lr !== null) parts.push(`lr ${formatNumber(s.lr)}`);
    parts.push(`${s.seconds.toFixed(1)}s`);
    if (s.note) parts.push(s.note);
    const text = parts.join('  ');
    this.stream.write(this.tty && this.drawn ? `\r${text}\x1b[K\n` : `${text}\n`);
    this.drawn = false;
  }

  /** A message on its own line (after the bar, if one is drawn). */
  message(text: string): void {
    this.stream.write(this.tty && this.drawn ? `\n${text}\n` : `${text}\n`);
    this.drawn = false;
  }

  private counter(epoch: number): string {
    const total = String(this.o.epochs);
    return `${String(epoch).padStart(total.length)}/${total}`;
  }

  private line(done: number, runningLoss: number, samples: number, t: number, bar: boolean): string {
    const elapsedS = Math.max(t - this.start, 1e-9) / 1000;
    const parts = [`epoch ${this.counter(this.epoch)}`];
    if (this.total !== null) {
      const width = String(this.total).length;
      const count = `${String(done).padStart(width)}/${this.total}`;
      if (bar) {
        const filled = Math.min(BAR, Math.round((BAR * done) / Math.max(this.total, 1)));
        parts.push(`[${'='.repeat(filled)}${' '.repeat(BAR - filled)}] ${count}`);
      } else {
        parts.push(`batch ${count}`);
      }
    } else {
      parts.push(`batch ${done}`);
    }
    parts.push(`loss ${formatNumber(runningLoss)}`, `${Math.round(samples / elapsedS)} samples/s`);
    if (this.total !== null) parts.push(`ETA ${formatDuration((elapsedS / done) * (this.total - done))}`);
    return parts.join('  ');
  }

  /** Cuts a redrawn line to the terminal's width. */
  private fit(text: string): string {
    const columns = this.stream.columns;
    return typeof columns === 'number' && columns > 1 && text.length >= columns ? text.slice(0, columns - 1) : text;
  }
}

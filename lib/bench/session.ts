/**
 * Peers at one thread count: starts every usable peer's process, times
 * requests on it, and turns whatever goes wrong into an "n/a (reason)" cell
 * with the full story kept for the notes under the table and the JSON.
 */
import { PeerError, PeerProcess, peerEnv, type PeerName, type PreparedPeer } from './peers';
import { sleep, type MeasureOptions, type Timing } from './measure';
import type { PeakResult } from './machine';

/** One measurement: a value (GFLOP/s or ms, by table) or why there is none. */
export type Cell =
  | { ok: true; value: number; timing: Timing }
  | { ok: false; na: string; detail: string };

export function naCell(e: unknown): Cell {
  if (e instanceof PeerError) return { ok: false, na: e.short, detail: e.detail };
  const msg = e instanceof Error ? e.message : String(e);
  return { ok: false, na: 'error', detail: msg.split('\n')[0] };
}

/** What a peer said about itself when it started (version, library threads, ISA ...). */
export type PeerInfo = Record<string, unknown>;

export interface SessionOptions {
  inheritEnv: boolean;
  /** Pause before each measurement, ours and the peers', so the last process timed has gone quiet. */
  settleMs: number;
  /** Longest wait for one request. */
  requestTimeoutMs: number;
  log: (line: string) => void;
}

export class PeerSession {
  private readonly procs = new Map<PeerName, PeerProcess | PeerError>();

  private constructor(
    readonly threads: number,
    private readonly o: SessionOptions,
  ) {}

  /** Starts the peers (those not ok stay n/a with their reason); records their ready info. */
  static async open(
    peers: readonly PreparedPeer[],
    threads: number,
    o: SessionOptions,
    infos: Map<PeerName, PeerInfo>,
    startErrors: Map<PeerName, PeerError>,
  ): Promise<PeerSession> {
    const s = new PeerSession(threads, o);
    for (const p of peers) {
      if (!p.ok) {
        s.procs.set(p.name, p.error);
        continue;
      }
      try {
        const args = [...p.args, String(threads), ...(p.argsAfterThreads ?? [])];
        const proc = await PeerProcess.start(p.name, p.command, args, peerEnv(threads, o.inheritEnv));
        s.procs.set(p.name, proc);
        const { threads: _t, libThreads, ...rest } = proc.info;
        const known = infos.get(p.name) ?? {};
        const libThreadsBy = { ...((known.libThreads as Record<string, unknown> | undefined) ?? {}), [threads]: libThreads };
        infos.set(p.name, { ...rest, ...known, ...(libThreads === undefined ? {} : { libThreads: libThreadsBy }) });
      } catch (e) {
        const err = e instanceof PeerError ? e : new PeerError('failed to start', String(e));
        s.procs.set(p.name, err);
        if (!startErrors.has(p.name)) startErrors.set(p.name, err);
        o.log(`  ${p.name} at ${threads} thread(s): n/a (${err.short}): ${err.detail}`);
      }
    }
    return s;
  }

  /**
   * Waits settleMs before a timing, ours as the peers': a process that has just
   * answered can keep a core busy for a while (torch's did here), and whatever is
   * timed next on a 2-core machine ran at half speed beside it.
   */
  settle(): Promise<void> {
    return sleep(this.o.settleMs);
  }

  /** Times one request on a peer; a dead or timed-out peer stays n/a for the rest of the session. */
  async time(name: PeerName, request: string): Promise<Cell> {
    const p = this.procs.get(name);
    if (p === undefined) return { ok: false, na: 'not run', detail: `${name} is not part of this bench` };
    if (p instanceof PeerError) return { ok: false, na: p.short, detail: p.detail };
    await this.settle();
    try {
      const timing = await p.request(request, this.o.requestTimeoutMs);
      return { ok: true, value: timing.medianS, timing };
    } catch (e) {
      const cell = naCell(e);
      if (e instanceof PeerError && (e.short === 'crashed' || e.short === 'timed out')) {
        this.procs.set(name, e);
        p.close();
      }
      return cell;
    }
  }

  close(): void {
    for (const p of this.procs.values()) if (p instanceof PeerProcess) p.close();
  }
}

/** The same cell with its value recomputed from the timing (seconds to GFLOP/s or ms). */
export function mapCell(c: Cell, f: (t: Timing) => number): Cell {
  return c.ok ? { ok: true, value: f(c.timing), timing: c.timing } : c;
}

/** What gemm.ts, conv.ts, train.ts and cuda.ts get from runBench. */
export interface BenchContext {
  quick: boolean;
  threads: readonly number[];
  measure: MeasureOptions;
  session: SessionOptions;
  /** Every peer prepared for this run (each table uses those that measure its kind). */
  peers: readonly PreparedPeer[];
  /** Filled as peers start: their versions and settings. */
  peerInfo: Map<PeerName, PeerInfo>;
  /** Filled as peers fail to start: the first reason each. */
  peerStartErrors: Map<PeerName, PeerError>;
  peak: PeakResult | null;
  log: (line: string) => void;
  /**
   * Samples how many cores other processes keep busy (while this one waits),
   * records it under `when` and warns when it is more than a quarter core.
   */
  checkBusy: (when: string) => Promise<void>;
}

/** The request-line tail every peer takes: min time, min reps, warm-up time. */
export function measureArgs(m: MeasureOptions): string {
  return `${m.minTimeS} ${m.minReps} ${m.warmTimeS}`;
}

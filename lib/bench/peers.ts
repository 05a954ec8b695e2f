/**
 * The peers the bench compares against, run as child processes that speak one
 * line protocol (bench/peers/peer_common.h, torch_bench.py): a ready line with
 * the peer's version, then one JSON timing per request line. One process per
 * peer and thread count stays alive while the cases run, so each case is timed
 * for tensorgrad and then for every peer back to back.
 *
 * The C adapters and the FMA peak probe are compiled here at bench time with the
 * system compiler into a cache folder; nothing is installed. The TensorFlow.js
 * adapter runs under this Node with the packages in node_modules. A peer that
 * cannot be built or started is reported, never fatal.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Timing } from './measure';
import { packageRoot } from '../binding';

/** A peer or probe that could not be used: a short reason for table cells and the full story. */
export class PeerError extends Error {
  constructor(
    readonly short: string,
    readonly detail: string,
  ) {
    super(`${short}: ${detail}`);
    this.name = 'PeerError';
  }
}

/** bench/peers in the package: the adapters' sources. */
export function peersDir(): string {
  return path.join(packageRoot(), 'bench', 'peers');
}

let cacheDirMemo: string | null = null;

/** Where compiled adapters live: node_modules/.cache/tensorgrad-bench, else the temp folder. */
export function cacheDir(): string {
  if (cacheDirMemo) return cacheDirMemo;
  const candidates = [
    path.join(packageRoot(), 'node_modules', '.cache', 'tensorgrad-bench'),
    path.join(os.tmpdir(), `tensorgrad-bench-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`),
  ];
  for (const dir of candidates) {
    try {
      if (dir === candidates[0] && !fs.existsSync(path.join(packageRoot(), 'node_modules'))) continue;
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK);
      cacheDirMemo = dir;
      return dir;
    } catch {
      // try the next one
    }
  }
  throw new PeerError('no cache folder', `none of ${candidates.join(', ')} is writable`);
}

export function compilerName(): string {
  return process.env.CC && process.env.CC.trim() !== '' ? process.env.CC.trim() : 'cc';
}

let compilerVersionMemo: string | null | undefined;

/** First line of `cc --version`, or null when there is no compiler. */
export function compilerVersion(): string | null {
  if (compilerVersionMemo !== undefined) return compilerVersionMemo;
  const r = spawnSync(compilerName(), ['--version'], { encoding: 'utf8' });
  compilerVersionMemo = r.error || r.status !== 0 ? null : (r.stdout.split('\n')[0] ?? '').trim();
  return compilerVersionMemo;
}

/** The lines of a compiler's output that say what went wrong, shortened. */
function errorSummary(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const errors = lines.filter((l) => /\berror\b|undefined reference|cannot find/i.test(l));
  const picked = (errors.length > 0 ? errors : lines).slice(0, 3);
  return picked.map((l) => l.replace(/^.*\/bench\/peers\//, '')).join(' | ') || 'no compiler output';
}

/**
 * Compiles bench/peers/<source> with `cc -O2 <flags> ... <libs>` into the cache
 * folder, keyed by the sources, flags and compiler, and returns the program's
 * path. Throws PeerError: 'not installed' when a header or library is missing,
 * 'build failed' otherwise, each with the compiler's error lines.
 */
export function compileC(source: string, flags: readonly string[], libs: readonly string[]): string {
  const cc = compilerName();
  const version = compilerVersion();
  if (version === null) throw new PeerError('no C compiler', `${cc} --version failed; install gcc or set CC`);
  const dir = peersDir();
  const src = path.join(dir, source);
  if (!fs.existsSync(src)) throw new PeerError('source missing', `${src} not found`);
  const hash = createHash('sha256');
  hash.update([version, cc, ...flags, '|', ...libs].join('\0'));
  hash.update(fs.readFileSync(src));
  for (const h of fs.readdirSync(dir).filter((f) => f.endsWith('.h')).sort()) hash.update(fs.readFileSync(path.join(dir, h)));
  const exe = path.join(cacheDir(), `${path.basename(source, '.c')}-${hash.digest('hex').slice(0, 16)}`);
  if (fs.existsSync(exe)) return exe;
  const tmp = `${exe}.${process.pid}.tmp`;
  const args = ['-O2', ...flags, '-o', tmp, src, ...libs];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error) throw new PeerError('no C compiler', `${cc}: ${r.error.message}`);
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    const summary = errorSummary(`${r.stderr}\n${r.stdout}`);
    const missing = /No such file or directory|cannot find -l|library not found/i.test(summary);
    const command = [cc, '-O2', ...flags, source, ...libs].join(' ');
    throw new PeerError(missing ? 'not installed' : 'build failed', `${command}: ${summary}`);
  }
  fs.renameSync(tmp, exe);
  return exe;
}

/** A reply the peer process sent for one request. */
interface Reply {
  median_s?: number;
  min_s?: number;
  reps?: number;
  warmup?: number;
  error?: string;
}

const tail = (s: string, n: number): string => (s.length > n ? `...${s.slice(-n)}` : s);

/** One running peer process (one peer at one thread count). */
export class PeerProcess {
  info: Record<string, unknown> = {};
  private readonly lines: string[] = [];
  private waiter: ((line: string | null) => void) | null = null;
  private stderr = '';
  private exit: string | null = null;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(line);
      } else this.lines.push(line);
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = tail(this.stderr + d.toString('utf8'), 2000);
    });
    const ended = (why: string) => {
      if (this.exit === null) this.exit = why;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(null);
      }
    };
    child.on('error', (e) => ended(e.message));
    child.on('exit', (code, signal) => ended(signal ? `killed by ${signal}` : `exited with code ${code}`));
    child.stdin.on('error', () => {
      // a dead child's stdin: reported through 'exit'
    });
  }

  /** Starts `command args` and waits for its ready line. Throws PeerError. */
  static async start(
    name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    timeoutMs = 120_000,
  ): Promise<PeerProcess> {
    const child = spawn(command, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new PeerProcess(name, child);
    const line = await p.nextLine(timeoutMs, 'start');
    let ready: Record<string, unknown>;
    try {
      ready = JSON.parse(line) as Record<string, unknown>;
    } catch {
      p.close();
      throw new PeerError('bad output', `${name} printed ${JSON.stringify(tail(line, 200))} instead of its ready line`);
    }
    if (ready.ready !== true) {
      p.close();
      const err = String(ready.error ?? 'not ready');
      // a peer may name the short reason itself (torch_bench.py: 'no CUDA')
      const short = typeof ready.na === 'string' && ready.na !== '' ? ready.na
        : /ModuleNotFoundError|No module named/.test(err) ? 'not installed' : 'failed to start';
      throw new PeerError(short, err);
    }
    const { ready: _r, peer: _p, ...info } = ready;
    p.info = info;
    return p;
  }

  private nextLine(timeoutMs: number, what: string): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.exit !== null) return Promise.reject(this.deadError(what));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.child.kill('SIGKILL');
        reject(new PeerError('timed out', `${this.name} gave no answer to ${what} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiter = (line) => {
        clearTimeout(timer);
        if (line === null) reject(this.deadError(what));
        else resolve(line);
      };
    });
  }

  private deadError(what: string): PeerError {
    const err = this.stderr.trim().split('\n').slice(-3).join(' | ');
    return new PeerError('crashed', `${this.name} ${this.exit ?? 'ended'} during ${what}${err ? `: ${err}` : ''}`);
  }

  /** Sends one request line and returns its timing. Throws PeerError. */
  async request(line: string, timeoutMs: number): Promise<Timing> {
    if (this.exit !== null) throw this.deadError(line);
    this.child.stdin.write(`${line}\n`);
    const answer = await this.nextLine(timeoutMs, `'${line}'`);
    let r: Reply;
    try {
      r = JSON.parse(answer) as Reply;
    } catch {
      throw new PeerError('bad output', `${this.name} answered ${JSON.stringify(tail(answer, 200))} to '${line}'`);
    }
    if (r.error !== undefined) throw new PeerError('error', `${this.name}: ${r.error} (request '${line}')`);
    if (typeof r.median_s !== 'number' || !(r.median_s > 0)) {
      throw new PeerError('bad output', `${this.name} answered ${JSON.stringify(tail(answer, 200))} to '${line}'`);
    }
    return { medianS: r.median_s, minS: r.min_s ?? r.median_s, reps: r.reps ?? 0, warmup: r.warmup ?? 0 };
  }

  /** Ends the process: EOF on its stdin, and a kill if it lingers. */
  close(): void {
    if (this.exit !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    timer.unref();
    this.child.once('exit', () => clearTimeout(timer));
  }
}

/** Environment variables that pin a peer to other kernels than it would pick for this CPU. */
export const FORCING_ENV = ['OPENBLAS_CORETYPE', 'DNNL_MAX_CPU_ISA', 'ONEDNN_MAX_CPU_ISA', 'ATEN_CPU_CAPABILITY'] as const;

/**
 * glibc malloc settings for the peers: keep freed blocks up to 32 MiB (the
 * largest mmap threshold glibc takes on 64-bit) in the heap and never trim it.
 * Without them PyTorch's large tensors come from fresh pages on many calls and
 * its conv2d times swing several-fold on page faults; tensorgrad reuses memory
 * through its own cache, so this compares kernels, not allocators.
 */
export const PEER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
};

/** How the peers' environment differs from this process's (besides thread counts). */
export function peerEnvChanges(inherit: boolean): { removed: Record<string, string>; added: Record<string, string> } {
  const removed: Record<string, string> = {};
  const added: Record<string, string> = {};
  if (inherit) return { removed, added };
  for (const k of FORCING_ENV) if (process.env[k] !== undefined) removed[k] = process.env[k]!;
  for (const [k, v] of Object.entries(PEER_MALLOC_ENV)) if (process.env[k] === undefined) added[k] = v;
  return { removed, added };
}

/**
 * The environment of a peer process at `threads` threads: every threading knob
 * the peers read set to that count and, unless `inherit`, the changes of
 * peerEnvChanges: variables that would pin a peer to other kernels removed (each
 * picks its own for this CPU) and the malloc settings of PEER_MALLOC_ENV added.
 */
export function peerEnv(threads: number, inherit: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const { removed, added } = peerEnvChanges(inherit);
  for (const k of Object.keys(removed)) delete env[k];
  Object.assign(env, added);
  const n = String(threads);
  env.OMP_NUM_THREADS = n;
  env.OPENBLAS_NUM_THREADS = n;
  env.MKL_NUM_THREADS = n;
  return env;
}

/** 'torch-cuda' is torch_bench.py on the GPU: its own process, status and version line beside the CPU's 'torch'. */
export type PeerName = 'openblas' | 'dnnl' | 'torch' | 'torch-cuda' | 'tfjs-cpu' | 'tfjs-wasm';

/** The tables of the bench: the CPU kinds, and 'cuda', the GPU bench (its GEMM, conv and training tables). */
export type MeasuredKind = 'gemm' | 'conv' | 'train' | 'cuda';

/** What each peer is measured on. */
export const PEER_KINDS: Record<PeerName, readonly MeasuredKind[]> = {
  openblas: ['gemm'],
  dnnl: ['gemm'],
  torch: ['gemm', 'conv', 'train'],
  'torch-cuda': ['cuda'],
  'tfjs-cpu': ['train'],
  'tfjs-wasm': ['train'],
};

/** The npm packages the TensorFlow.js adapter loads (devDependencies of tensorgrad). */
const TFJS_PACKAGES: Record<'tfjs-cpu' | 'tfjs-wasm', readonly string[]> = {
  'tfjs-cpu': ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu'],
  'tfjs-wasm': ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-wasm'],
};

/** The TensorFlow.js adapter under this Node, if its packages resolve from the package root. */
function prepareTfjs(name: 'tfjs-cpu' | 'tfjs-wasm'): { command: string; args: string[] } {
  const missing = TFJS_PACKAGES[name].filter((pkg) => {
    try {
      require.resolve(pkg, { paths: [packageRoot()] });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new PeerError('not installed', `npm install -D ${missing.join(' ')} (missing from ${path.join(packageRoot(), 'node_modules')})`);
  }
  return { command: process.execPath, args: [path.join(peersDir(), 'tfjs_bench.js'), name === 'tfjs-cpu' ? 'cpu' : 'wasm'] };
}

/**
 * A peer ready to start (its program: `command ...args <threads> ...argsAfterThreads`)
 * or the reason it cannot be used.
 */
export type PreparedPeer =
  | { name: PeerName; ok: true; command: string; args: string[]; argsAfterThreads?: string[] }
  | { name: PeerName; ok: false; error: PeerError };

/** Builds or locates each peer's program; never throws. */
export function preparePeers(names: readonly PeerName[], python: string): PreparedPeer[] {
  return names.map((name): PreparedPeer => {
    try {
      if (name === 'torch' || name === 'torch-cuda') {
        if (!fs.existsSync(python)) throw new PeerError('no python3', `${python} not found`);
        const args = [path.join(peersDir(), 'torch_bench.py')];
        return name === 'torch' ? { name, ok: true, command: python, args } : { name, ok: true, command: python, args, argsAfterThreads: ['cuda'] };
      }
      if (name === 'tfjs-cpu' || name === 'tfjs-wasm') return { name, ok: true, ...prepareTfjs(name) };
      const exe = compileC(`gemm_${name}.c`, [], [name === 'openblas' ? '-lopenblas' : '-ldnnl']);
      return { name, ok: true, command: exe, args: [] };
    } catch (e) {
      return { name, ok: false, error: e instanceof PeerError ? e : new PeerError('failed', String(e)) };
    }
  });
}

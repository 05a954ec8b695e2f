/**
 * L-BFGS (torch.optim.LBFGS), with PyTorch's optional strong-Wolfe line search.
 * It works on all parameters as one flat vector: directions, history and line
 * search run in float64 on the host (they are dot products and axpys over a few
 * vectors), and the parameters are written in place, rounded to their dtype.
 * One group only, and step() needs a closure that re-evaluates the loss.
 */
import { native } from '../binding';
import { checkInteger, checkTensor, expected } from '../check';
import { tensor } from '../ops/creation';
import { to } from '../ops/convert';
import { Tensor } from '../tensor';
import { Optimizer, OptimizerStateError, type ParamGroupSpec, type ParamSpec } from './optimizer';

export interface LBFGSOptions {
  lr: number;
  maxIter: number;
  /** Most closure evaluations per step; null means floor(maxIter * 5 / 4). */
  maxEval: number | null;
  /** Stop when every gradient element is at most this in size. */
  toleranceGrad: number;
  /** Stop when the loss or the step changes by less than this. */
  toleranceChange: number;
  historySize: number;
  /** 'strongWolfe' (PyTorch's 'strong_wolfe', also accepted) or null for a fixed step of lr. */
  lineSearchFn: 'strongWolfe' | 'strong_wolfe' | null;
}

/** The saved L-BFGS state (PyTorch's names in camelCase); vectors are float64 tensors. */
export interface LBFGSStateDict {
  funcEvals: number;
  nIter: number;
  d: Tensor | null;
  t: number;
  oldDirs: Tensor[];
  oldStps: Tensor[];
  ro: number[];
  hDiag: number;
  prevFlatGrad: Tensor | null;
  prevLoss: number | null;
}

interface State {
  funcEvals: number;
  nIter: number;
  d: Float64Array | null;
  t: number;
  oldDirs: Float64Array[];
  oldStps: Float64Array[];
  ro: number[];
  hDiag: number;
  prevFlatGrad: Float64Array | null;
  prevLoss: number | null;
}

const DEFAULTS: LBFGSOptions = {
  lr: 1, maxIter: 20, maxEval: null, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null,
};

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbs = (a: Float64Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const axpy = (y: Float64Array, x: Float64Array, alpha: number): void => {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
};
const scaled = (x: Float64Array, alpha: number): Float64Array => x.map((v) => v * alpha);

/** Minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds. */
function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0) {
    const d2 = Math.sqrt(d2sq);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

type Objective = (x: Float64Array, t: number, d: Float64Array) => { f: number; g: Float64Array };

/** PyTorch's _strong_wolfe: bracketing, then zoom with cubic interpolation. */
function strongWolfe(
  obj: Objective, x: Float64Array, t: number, d: Float64Array, f: number, g: Float64Array, gtd: number,
  c1 = 1e-4, c2 = 0.9, toleranceChange = 1e-9, maxLs = 25,
): { f: number; g: Float64Array; t: number; evals: number } {
  const dNorm = maxAbs(d);
  let { f: fNew, g: gNew } = obj(x, t, d);
  let evals = 1;
  let gtdNew = dot(gNew, d);
  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Float64Array[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    ({ f: fNew, g: gNew } = obj(x, t, d));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) [bracket, bracketF, bracketG] = [[0, t], [f, fNew], [g, gNew]];

  // zoom: shrink the bracket until a point meets the strong Wolfe conditions
  let insufProgress = false;
  let [low, high] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
    const bMax = Math.max(...bracket);
    const bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }
    ({ f: fNew, g: gNew } = obj(x, t, d));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]) {
      bracket[high] = t;
      bracketF[high] = fNew;
      bracketG[high] = gNew;
      bracketGtd[high] = gtdNew;
      [low, high] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[high] - bracket[low]) >= 0) {
        bracket[high] = bracket[low];
        bracketF[high] = bracketF[low];
        bracketG[high] = bracketG[low];
        bracketGtd[high] = bracketGtd[low];
      }
      bracket[low] = t;
      bracketF[low] = fNew;
      bracketG[low] = gNew;
      bracketGtd[low] = gtdNew;
    }
  }
  return { f: bracketF[low], g: bracketG[low], t: bracket[low], evals };
}

function emptyState(): State {
  return { funcEvals: 0, nIter: 0, d: null, t: 0, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: null };
}

export class LBFGS extends Optimizer<LBFGSOptions, LBFGSStateDict> {
  private st: State = emptyState();

  constructor(params: ParamSpec<LBFGSOptions>, options?: Partial<LBFGSOptions>) {
    super('LBFGS', params, DEFAULTS, options);
  }

  protected validate(o: LBFGSOptions): void {
    if (!(o.lr >= 0)) throw new RangeError(`LBFGS: Invalid learning rate: ${o.lr}`);
    checkInteger('LBFGS', 'maxIter', o.maxIter, 1);
    if (o.maxEval !== null) checkInteger('LBFGS', 'maxEval', o.maxEval, 1);
    checkInteger('LBFGS', 'historySize', o.historySize, 1);
    if (!(o.toleranceGrad >= 0)) expected(RangeError, 'LBFGS', 'a non-negative number', 'toleranceGrad', o.toleranceGrad);
    if (!(o.toleranceChange >= 0)) expected(RangeError, 'LBFGS', 'a non-negative number', 'toleranceChange', o.toleranceChange);
    if (o.lineSearchFn !== null && o.lineSearchFn !== 'strongWolfe' && o.lineSearchFn !== 'strong_wolfe') {
      expected(TypeError, 'LBFGS', "null or 'strongWolfe'", 'lineSearchFn', o.lineSearchFn);
    }
  }

  override addParamGroup(group: ParamGroupSpec<LBFGSOptions>): void {
    if (this.paramGroups.length > 0) throw new RangeError("LBFGS: LBFGS doesn't support per-parameter options (parameter groups)");
    super.addParamGroup(group);
  }

  private get params(): Tensor[] {
    return this.paramGroups[0].params;
  }

  private numel(): number {
    return this.params.reduce((n, p) => n + p.numel, 0);
  }

  private gatherFlatGrad(): Float64Array {
    const flat = new Float64Array(this.numel());
    let offset = 0;
    this.params.forEach((p, i) => {
      if (p.grad !== null) {
        const g = checkTensor('LBFGS', `the gradient of params[${i}]`, p.grad);
        if (g.numel !== p.numel) throw new RangeError(`LBFGS: the gradient of params[${i}] has ${g.numel} elements but the parameter ${p.numel}`);
        flat.set(g.data(), offset);
      }
      offset += p.numel;
    });
    return flat;
  }

  private cloneParams(): Float64Array {
    const flat = new Float64Array(this.numel());
    let offset = 0;
    for (const p of this.params) {
      flat.set(checkTensor('LBFGS', 'a parameter', p).data(), offset);
      offset += p.numel;
    }
    return flat;
  }

  /** Writes x (all parameters, flat) into the parameters, rounded to their dtypes. */
  private setParams(x: Float64Array): void {
    let offset = 0;
    for (const p of this.params) {
      native.upload(p._s, x.subarray(offset, offset + p.numel));
      offset += p.numel;
    }
  }

  /** p += t d for every parameter, computed in float64 and stored in the parameter's dtype. */
  private addGrad(t: number, d: Float64Array): void {
    const x = this.cloneParams();
    axpy(x, d, t);
    this.setParams(x);
  }

  private evaluate(closure: () => Tensor | number): number {
    return this.runClosure(closure) as number;
  }

  /** Runs up to maxIter L-BFGS iterations; returns the loss the closure gave first. */
  step(closure?: () => Tensor | number): number {
    if (typeof closure !== 'function') expected(TypeError, 'LBFGS', 'a function', 'closure', closure);
    const group = this.paramGroups[0];
    const { lr, maxIter, toleranceGrad, toleranceChange, historySize } = group;
    const maxEval = group.maxEval ?? Math.floor((maxIter * 5) / 4);
    const st = this.st;
    const origLoss = this.evaluate(closure);
    let loss = origLoss;
    let currentEvals = 1;
    st.funcEvals += 1;
    let flatGrad = this.gatherFlatGrad();
    let optCond = maxAbs(flatGrad) <= toleranceGrad;
    if (optCond) return origLoss;

    let { d, t, prevFlatGrad, prevLoss } = st;
    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      st.nIter++;
      if (st.nIter === 1) {
        d = scaled(flatGrad, -1);
        st.oldDirs = [];
        st.oldStps = [];
        st.ro = [];
        st.hDiag = 1;
      } else {
        const y = flatGrad.map((v, i) => v - prevFlatGrad![i]);
        const s = scaled(d!, t);
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (st.oldDirs.length === historySize) {
            st.oldDirs.shift();
            st.oldStps.shift();
            st.ro.shift();
          }
          st.oldDirs.push(y);
          st.oldStps.push(s);
          st.ro.push(1 / ys);
          st.hDiag = ys / dot(y, y);
        }
        // two-loop recursion: d = -H g with H the limited-memory inverse Hessian
        const k = st.oldDirs.length;
        const al = new Array<number>(k);
        const q = scaled(flatGrad, -1);
        for (let i = k - 1; i >= 0; i--) {
          al[i] = dot(st.oldStps[i], q) * st.ro[i];
          axpy(q, st.oldDirs[i], -al[i]);
        }
        const r = scaled(q, st.hDiag);
        for (let i = 0; i < k; i++) {
          const be = dot(st.oldDirs[i], r) * st.ro[i];
          axpy(r, st.oldStps[i], al[i] - be);
        }
        d = r;
      }
      prevFlatGrad = Float64Array.from(flatGrad);
      prevLoss = loss;
      t = st.nIter === 1 ? Math.min(1, 1 / flatGrad.reduce((a, v) => a + Math.abs(v), 0)) * lr : lr;
      const gtd = dot(flatGrad, d!);
      if (gtd > -toleranceChange) break;

      let lsEvals = 0;
      if (group.lineSearchFn !== null) {
        const xInit = this.cloneParams();
        const obj: Objective = (x, tt, dd) => {
          this.addGrad(tt, dd);
          const f = this.evaluate(closure);
          const g = this.gatherFlatGrad();
          this.setParams(x);
          return { f, g };
        };
        ({ f: loss, g: flatGrad, t, evals: lsEvals } = strongWolfe(obj, xInit, t, d!, loss, flatGrad, gtd));
        this.addGrad(t, d!);
        optCond = maxAbs(flatGrad) <= toleranceGrad;
      } else {
        this.addGrad(t, d!);
        if (nIter !== maxIter) {
          loss = this.evaluate(closure);
          flatGrad = this.gatherFlatGrad();
          optCond = maxAbs(flatGrad) <= toleranceGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      st.funcEvals += lsEvals;

      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      if (maxAbs(d!) * Math.abs(t) <= toleranceChange) break;
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }
    Object.assign(st, { d, t, prevFlatGrad, prevLoss });
    return origLoss;
  }

  protected saveState(): Record<number, LBFGSStateDict> {
    const st = this.st;
    if (st.funcEvals === 0 && st.nIter === 0) return {};
    const vec = (a: Float64Array) => tensor(Float64Array.from(a), { dtype: 'float64' });
    return {
      0: {
        funcEvals: st.funcEvals, nIter: st.nIter, d: st.d && vec(st.d), t: st.t,
        oldDirs: st.oldDirs.map(vec), oldStps: st.oldStps.map(vec), ro: [...st.ro], hDiag: st.hDiag,
        prevFlatGrad: st.prevFlatGrad && vec(st.prevFlatGrad), prevLoss: st.prevLoss,
      },
    };
  }

  protected loadState(state: Record<number, LBFGSStateDict>, params: readonly Tensor[]): void {
    const op = 'LBFGS.loadStateDict';
    const keys = Object.keys(state);
    if (keys.length === 0) {
      this.st = emptyState();
      return;
    }
    if (keys.length !== 1 || keys[0] !== '0') {
      throw new OptimizerStateError(`${op}: L-BFGS keeps its state under parameter 0 but the state dict has keys ${keys.join(', ')}`);
    }
    const s = state[0];
    if (typeof s !== 'object' || s === null || !Array.isArray(s.oldDirs) || !Array.isArray(s.oldStps) || !Array.isArray(s.ro)) {
      expected(TypeError, op, 'an L-BFGS state', 'state[0]', s);
    }
    const n = params.reduce((a, p) => a + p.numel, 0);
    const vec = (name: string, t: unknown): Float64Array => {
      const v = checkTensor(op, name, t);
      if (v.numel !== n) throw new OptimizerStateError(`${op}: ${name} has ${v.numel} elements but the parameters ${n}`);
      return Float64Array.from(to(v, 'float64').data());
    };
    if (s.oldDirs.length !== s.oldStps.length || s.ro.length !== s.oldDirs.length) {
      throw new OptimizerStateError(`${op}: oldDirs, oldStps and ro hold ${s.oldDirs.length}, ${s.oldStps.length} and ${s.ro.length} entries; they must match`);
    }
    for (const key of ['funcEvals', 'nIter'] as const) checkInteger(op, `state[0].${key}`, s[key], 0);
    for (const key of ['t', 'hDiag'] as const) {
      if (typeof s[key] !== 'number') expected(TypeError, op, 'a number', `state[0].${key}`, s[key]);
    }
    if (s.prevLoss !== null && typeof s.prevLoss !== 'number') expected(TypeError, op, 'a number or null', 'state[0].prevLoss', s.prevLoss);
    this.st = {
      funcEvals: s.funcEvals,
      nIter: s.nIter,
      d: s.d === null ? null : vec('state[0].d', s.d),
      t: s.t,
      oldDirs: s.oldDirs.map((v, i) => vec(`state[0].oldDirs[${i}]`, v)),
      oldStps: s.oldStps.map((v, i) => vec(`state[0].oldStps[${i}]`, v)),
      ro: s.ro.map((v, i) => (typeof v === 'number' ? v : expected(TypeError, op, 'a number', `state[0].ro[${i}]`, v))),
      hDiag: s.hDiag,
      prevFlatGrad: s.prevFlatGrad === null ? null : vec('state[0].prevFlatGrad', s.prevFlatGrad),
      prevLoss: s.prevLoss,
    };
  }
}

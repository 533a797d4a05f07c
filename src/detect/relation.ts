/**
 * Relations between points: learns how points read together move with each other and flags a
 * broken relation even when every point is inside its own normal range (pump current up while
 * flow stays put; two thermocouples on the same pipe parting ways).
 *
 * Model: every point is predicted from a few PARTNERS (at most `MAX_PARTNERS`, the points that
 * move most like it) by a ridge regression on their recent deviations, learnt online:
 * - y: each point's value smoothed over ~`fastSpan` rows (averages out sensor noise, so a small
 *   but persistent joint change stands out), μ its slow mean, dev = y - μ;
 * - per point, the exponentially weighted covariance of [dev_i, dev_partners] ((K+1)(K+2)/2
 *   numbers), refitted every few rows into coefficients β (ridge on the partners' own variances,
 *   so units and offsets do not matter);
 * - residual r_i = dev_i - β·dev_partners, its statistic r_i² / var(r_i) (var learnt on ordinary
 *   rows), and the frame's statistic the largest of them (which point broke is reported).
 * Partners are found, not configured: a point starts with its neighbours in the frame's order
 * (profiles list related registers together), and each point keeps trying one other point of
 * the frame at a time (chosen by a fixed-seed generator, so runs are reproducible), for
 * `TRIAL` rows; a candidate that moves more like it than its weakest partner takes that place.
 * So a frame of 5,000 registers finds each point's best partners by random search without ever
 * computing 5,000² correlations.
 *
 * Calibration: the frame statistic feeds a TailCalibrator (calibrate.ts), so the score is a tail
 * probability like every other detector's. Robustness as in the baseline: unusual rows (p <
 * `gate`) do not teach the model; a change that lasts `relearnAfter` ms and `relearnMin` rows is
 * a new regime, and everything learnt is learnt again (covariances, partners' fits, calibrator).
 *
 * Cost per row: O(n·K²) with K ≤ MAX_PARTNERS (plus a K×K solve per point every `REFIT` rows):
 * linear in the size of the frame. State: O(n·K²) numbers, about 300 bytes per point.
 */
import { TailCalibrator, scoreOfDecades } from './calibrate.js';
import type { Finding } from './detector.js';

export interface RelationOptions {
  readonly warmup: number;
  readonly memory: number;
  readonly fastSpan: number;
  /** Ridge: weight of each partner's own variance added to the regression, 0..1. */
  readonly shrink: number;
  readonly gate: number;
  readonly relearnAfter: number;
  readonly relearnMin: number;
}

export const RELATION_DEFAULTS: RelationOptions = {
  warmup: 300,
  memory: 2000,
  fastSpan: 10,
  shrink: 0.05,
  gate: 1e-3,
  relearnAfter: 3_600_000,
  relearnMin: 100,
};

/** Partners per point. */
export const MAX_PARTNERS = 4;
/** Rows between refits of a point's coefficients. */
const REFIT = 8;
/** Rows a candidate partner is watched before it is compared. */
const TRIAL = 64;
/** A candidate replaces the weakest partner when its squared correlation is this much larger. */
const BETTER = 1.25;

export class RelationDetector {
  readonly kind = 'relation' as const;
  private readonly k: number; // partners per point
  private readonly t: number; // covariance entries per point
  private n = 0; // rows seen in this regime
  private readonly y: Float64Array;
  private readonly mu: Float64Array;
  private readonly dev: Float64Array;
  private readonly ok: Uint8Array; // point read well this row
  private readonly full: Uint8Array; // point and all its partners read well this row (partnersRead)
  private readonly seen: Uint8Array; // point read well at least once
  private readonly moved: Uint8Array; // point's smoothed value changed at least once
  private readonly partners: Int32Array;
  private readonly cov: Float64Array; // per point: upper triangle of cov([dev_i, dev_p1..p_k])
  private readonly beta: Float64Array;
  private readonly rVar: Float64Array; // residual variance (empirical, ordinary rows)
  private readonly count: Float64Array; // rows learnt by each point's fit (restarts on a swap)
  private readonly resid: Float64Array; // this row's residual (NaN: not computed)
  private readonly cand: Int32Array;
  private readonly candAge: Int32Array;
  // Trial sums over the candidate's watch, on CHANGES of the smoothed values (changes of a slow
  // signal are nearly independent row to row, so 64 rows say how two points move together):
  // per point, Σ Δᵢ², then for each partner and the candidate Σ Δᵢ·Δⱼ and Σ Δⱼ².
  private readonly trial: Float32Array; // sums over 64 rows: float32 is plenty for a correlation
  private readonly yPrev: Float64Array;
  private readonly work: Float64Array; // K×K + K scratch for the solve
  private readonly row: Float64Array; // K + 1 scratch: dev of a point and of its partners
  private readonly cal: TailCalibrator;
  private readonly aFast: number;
  private rng = 0x9e3779b9;
  private outSince = NaN;
  private outCount = 0;
  /** Index of the point whose relation broke most in the last row (-1: none). */
  worst = -1;

  constructor(
    readonly size: number,
    private readonly o: RelationOptions = RELATION_DEFAULTS,
  ) {
    if (!(size >= 2)) throw new RangeError('a relation needs at least two points');
    const k = (this.k = Math.min(MAX_PARTNERS, size - 1));
    this.t = ((k + 1) * (k + 2)) / 2;
    this.y = new Float64Array(size);
    this.mu = new Float64Array(size);
    this.dev = new Float64Array(size);
    this.ok = new Uint8Array(size);
    this.full = new Uint8Array(size);
    this.seen = new Uint8Array(size);
    this.moved = new Uint8Array(size);
    this.partners = new Int32Array(size * k);
    this.cov = new Float64Array(size * this.t);
    this.beta = new Float64Array(size * k);
    this.rVar = new Float64Array(size);
    this.count = new Float64Array(size);
    this.resid = new Float64Array(size);
    this.cand = new Int32Array(size).fill(-1);
    this.candAge = new Int32Array(size);
    this.trial = new Float32Array(size * (1 + 2 * (k + 1)));
    this.yPrev = new Float64Array(size);
    this.work = new Float64Array(k * k + k);
    this.row = new Float64Array(k + 1);
    this.cal = new TailCalibrator({
      memory: o.memory * 2,
      minCount: Math.max(10, Math.floor(o.warmup / 3)),
      gate: o.gate,
      maxRun: 3 * o.fastSpan,
    });
    this.aFast = 2 / (o.fastSpan + 1);
    // Start from the neighbours in frame order: i+1, i-1, i+2, i-2… (wrapping).
    for (let i = 0; i < size; i++) {
      for (let j = 0, step = 1; j < k; step++) {
        for (const p of [i + step, i - step]) {
          if (j >= k) break;
          const q = ((p % size) + size) % size;
          if (q !== i && !this.isPartner(i, q, j)) this.partners[i * k + j++] = q;
        }
      }
    }
  }

  /** One row of values (same order as at construction); NaN is a missing value. */
  update(ts: number, values: ArrayLike<number>): Finding | null {
    const n = this.size;
    const k = this.k;
    this.n++;
    let any = false;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      const good = Number.isFinite(v);
      this.ok[i] = good ? 1 : 0;
      if (!good) continue;
      any = true;
      this.yPrev[i] = this.y[i]!;
      if (!this.seen[i]) (this.y[i] = this.mu[i] = this.yPrev[i] = v), (this.seen[i] = 1);
      else this.y[i]! += this.aFast * (v - this.y[i]!);
      this.dev[i] = this.y[i]! - this.mu[i]!;
    }
    if (!any) return null;
    // The statistic: the largest standardised residual of a point whose partners were read.
    let worst = -1;
    let top = 0;
    const warm = this.n <= this.o.warmup;
    for (let i = 0; i < n; i++) {
      this.resid[i] = NaN;
      const full = this.partnersRead(i);
      this.full[i] = full ? 1 : 0;
      if (!full || this.count[i]! < 2) continue;
      let r = this.dev[i]!;
      for (let j = 0; j < k; j++) r -= this.beta[i * k + j]! * this.dev[this.partners[i * k + j]!]!;
      this.resid[i] = r;
      if (!this.usable(i)) continue;
      const own = this.cov[i * this.t]!;
      const s = (r * r) / Math.max(this.rVar[i]!, 1e-4 * own, 1e-300);
      if (s > top) (top = s), (worst = i);
    }
    const l = this.cal.decades(top);
    const unusual = !warm && l > -Math.log10(this.o.gate);
    if (!unusual) {
      this.outSince = NaN;
      this.outCount = 0;
      this.learn(l);
      if (this.n > this.o.warmup / 3) this.cal.learn(top, l);
    } else {
      this.cal.hold(top, l);
      if (Number.isNaN(this.outSince)) this.outSince = ts;
      this.outCount++;
      if (this.outCount >= this.o.relearnMin && ts - this.outSince >= this.o.relearnAfter) {
        this.relearn();
        return null;
      }
    }
    if (warm) return null;
    const score = scoreOfDecades(l);
    this.worst = score > 0 ? worst : -1;
    return { kind: 'relation', score, decades: l, condition: score > 0 ? 'relation' : null };
  }

  /** The partners of point i (for tests and diagnostics). */
  partnersOf(i: number): number[] {
    return Array.from(this.partners.subarray(i * this.k, (i + 1) * this.k));
  }

  /** Point i and all its partners were read well this row. */
  private partnersRead(i: number): boolean {
    if (!this.ok[i]) return false;
    for (let j = 0; j < this.k; j++) if (!this.ok[this.partners[i * this.k + j]!]) return false;
    return true;
  }

  /**
   * Point i's relation can be judged: its partners were read, and its fit has learnt from enough
   * rows in which it moved (a point that sat still has no relation to judge, and the rows it sat
   * still do not count: its fit learns fast once it starts moving).
   */
  private usable(i: number): boolean {
    return (
      this.full[i] === 1 && this.count[i]! >= 2 * this.o.fastSpan && this.cov[i * this.t]! > 0 && this.rVar[i]! > 0
    );
  }

  private isPartner(i: number, q: number, upTo: number): boolean {
    for (let j = 0; j < upTo; j++) if (this.partners[i * this.k + j] === q) return true;
    return false;
  }

  private learn(l: number): void {
    const n = this.size;
    const k = this.k;
    const t = this.t;
    // Only ordinary rows (p above 10 × gate) teach the covariances; others move the means only,
    // so a slow fault creeping in under the gate cannot widen them row by row.
    const settled = this.n > this.o.warmup / 3;
    const covToo = !settled || l < -Math.log10(10 * this.o.gate);
    for (let i = 0; i < n; i++) {
      if (!this.ok[i]) continue;
      const a = Math.max(1 / (this.count[i]! + 1), 1 / this.o.memory);
      const r = this.resid[i]!;
      // The residual's variance, from the fit in force (before this row teaches it).
      if (covToo && !Number.isNaN(r) && this.moved[i]) this.rVar[i]! += a * (r * r - this.rVar[i]!);
      this.mu[i]! += a * this.dev[i]!;
    }
    if (!covToo) return;
    const D = this.row;
    for (let i = 0; i < n; i++) {
      if (!this.full[i]) continue;
      if (!this.moved[i]) {
        if (this.y[i] === this.yPrev[i] || this.n === 1) continue;
        this.moved[i] = 1;
      }
      const a = Math.max(1 / (this.count[i]! + 1), 1 / this.o.memory);
      const b = 1 - a;
      // West's weighted update on the upper triangle of [dev_i, dev_p…] (the devs gathered once:
      // each is used k + 1 times).
      D[0] = this.dev[i]!;
      for (let j = 0; j < k; j++) D[j + 1] = this.dev[this.partners[i * k + j]!]!;
      let idx = i * t;
      for (let r = 0; r <= k; r++) {
        const dr = D[r]!;
        for (let c = r; c <= k; c++) {
          this.cov[idx] = b * (this.cov[idx]! + a * dr * D[c]!);
          idx++;
        }
      }
      this.count[i]!++;
      if ((this.count[i]! + i) % REFIT === 0) this.refit(i);
      this.tryCandidate(i);
    }
  }

  /** Ridge regression of point i on its partners from its covariance block. */
  private refit(i: number): void {
    const k = this.k;
    const t = this.t;
    const c0 = i * t;
    const W = this.work; // k×k matrix, then the right-hand side at k*k
    for (let r = 0; r < k; r++) {
      for (let c = r; c < k; c++) {
        const v = this.cov[upper(c0, k, r + 1, c + 1)]!;
        W[r * k + c] = v;
        W[c * k + r] = v;
      }
      W[r * k + r]! *= 1 + this.o.shrink;
      W[r * k + r]! += 1e-300;
      W[k * k + r] = this.cov[upper(c0, k, 0, r + 1)]!;
    }
    // Cholesky in place (lower), then two triangular solves into beta.
    for (let r = 0; r < k; r++) {
      for (let c = 0; c <= r; c++) {
        let s = W[r * k + c]!;
        for (let m = 0; m < c; m++) s -= W[r * k + m]! * W[c * k + m]!;
        if (r === c) W[r * k + r] = Math.sqrt(Math.max(s, 1e-300));
        else W[r * k + c] = s / W[c * k + c]!;
      }
    }
    const bt = this.beta;
    for (let r = 0; r < k; r++) {
      let s = W[k * k + r]!;
      for (let m = 0; m < r; m++) s -= W[r * k + m]! * bt[i * k + m]!;
      bt[i * k + r] = s / W[r * k + r]!;
    }
    for (let r = k - 1; r >= 0; r--) {
      let s = bt[i * k + r]!;
      for (let m = r + 1; m < k; m++) s -= W[m * k + r]! * bt[i * k + m]!;
      bt[i * k + r] = s / W[r * k + r]!;
    }
  }

  /** Watches one other point as a candidate partner of point i; swaps it in when it is better. */
  private tryCandidate(i: number): void {
    const n = this.size;
    const k = this.k;
    if (n - 1 <= k) return; // every other point is already a partner
    const T = this.trial;
    const w = 1 + 2 * (k + 1);
    const o = i * w;
    let c = this.cand[i]!;
    if (c < 0) {
      // Half the proposals are a partner's partner (related points come in groups, so this
      // finds a group in a few trials), half any point of the frame (so no group is missed).
      if (this.next() & 1) {
        const p = this.partners[i * k + (this.next() % k)]!;
        const q = this.partners[p * k + (this.next() % k)]!;
        if (q !== i && !this.isPartner(i, q, k)) c = q;
      }
      while (c < 0 || c === i || this.isPartner(i, c, k)) c = this.next() % n;
      this.cand[i] = c;
      this.candAge[i] = 0;
      T.fill(0, o, o + w);
      return;
    }
    if (!this.ok[c]) return;
    const di = this.y[i]! - this.yPrev[i]!;
    T[o]! += di * di;
    for (let j = 0; j <= k; j++) {
      const q = j < k ? this.partners[i * k + j]! : c;
      const dq = this.y[q]! - this.yPrev[q]!;
      T[o + 1 + 2 * j]! += di * dq;
      T[o + 2 + 2 * j]! += dq * dq;
    }
    if (++this.candAge[i]! < TRIAL) return;
    let weak = 0;
    for (let j = 1; j < k; j++) if (trialR2(T, o, j) < trialR2(T, o, weak)) weak = j;
    if (trialR2(T, o, k) > BETTER * trialR2(T, o, weak) + 0.01) {
      this.partners[i * k + weak] = c;
      // The block restarts from each variance alone; the covariances are learnt again, fast
      // (the fit's own count restarts).
      const t = this.t;
      const vars = [this.cov[i * t]!];
      for (let j = 0; j < k; j++) vars.push(this.cov[this.partners[i * k + j]! * t]!);
      let idx = i * t;
      for (let r = 0; r <= k; r++) for (let cc = r; cc <= k; cc++) this.cov[idx++] = r === cc ? vars[r]! : 0;
      this.beta.fill(0, i * k, (i + 1) * k);
      this.count[i] = Math.min(this.count[i]!, TRIAL);
    }
    this.cand[i] = -1;
  }

  private next(): number {
    // xorshift32: deterministic, so two runs over the same data give the same scores.
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }

  /** A new regime: everything learnt is learnt again (partners found so far are kept as a start). */
  private relearn(): void {
    this.n = 0;
    this.outSince = NaN;
    this.outCount = 0;
    this.cov.fill(0);
    this.beta.fill(0);
    this.rVar.fill(0);
    this.count.fill(0);
    this.moved.fill(0);
    this.cand.fill(-1);
    this.cal.reset();
    for (let i = 0; i < this.size; i++) this.mu[i] = this.y[i]!;
  }
}

// Helpers of the per-row paths are module functions, not closures: a closure over a function's
// locals makes V8 allocate a context on every call of that function (issue 15: with 5,000 points
// the candidate trial's closure was 250 KB of garbage a second).

/** Index of (r, c), r ≤ c, in the upper triangle of the (k+1)-square covariance block at c0. */
function upper(c0: number, k: number, r: number, c: number): number {
  return c0 + r * (k + 1) - (r * (r - 1)) / 2 + (c - r);
}

/** Squared correlation of point i with partner j (k: the candidate) over the trial at o. */
function trialR2(T: Float32Array, o: number, j: number): number {
  const sxy = T[o + 1 + 2 * j]!;
  const den = T[o]! * T[o + 2 + 2 * j]!;
  return den > 0 ? (sxy * sxy) / den : 0;
}

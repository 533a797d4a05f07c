/**
 * Relations between points: learns how a group of points read together move with each other and
 * flags a broken relation even when every point is inside its own normal range (pump current up
 * while flow stays put; two thermocouples on the same pipe parting ways).
 *
 * Model: a multivariate EWMA chart (MEWMA) with a forgetting factor.
 * - `mean`, `cov`: exponentially weighted mean and covariance (memory counted in rows) of the
 *   smoothed vector y (an EWMA of the rows over ~`fastSpan` rows, which averages out sensor noise
 *   so that a small but persistent joint change stands out);
 * - statistic: Hotelling T² = zᵀ R⁻¹ z / k, with z the standardised deviation of y from the mean
 *   and R the correlation matrix shrunk toward the identity (`shrink`), which keeps the inverse
 *   stable with few rows or nearly collinear points. T² is large when a combination of points
 *   moves in a direction the history says they never move in, whatever each one does alone.
 * - calibration: the T² of past rows feeds a TailCalibrator (calibrate.ts), so the score is a tail
 *   probability like every other detector's. T² is invariant to each point's unit and offset.
 *
 * Robustness as in the baseline: unusual rows (p < `gate`) do not teach the model; a change that
 * lasts `relearnAfter` ms and `relearnMin` rows is taken as a new regime (the mean snaps to y).
 *
 * Cost: O(k²) per row plus a Cholesky factorisation (O(k³)) every `refactorEvery` rows. State:
 * O(k²) numbers, fixed once the number of points is known.
 */
import { TailCalibrator, scoreOf } from './calibrate.js';
import type { Finding } from './detector.js';

export interface RelationOptions {
  readonly warmup: number;
  readonly memory: number;
  readonly fastSpan: number;
  /** Weight of the identity in the shrunk correlation matrix, 0..1. */
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

export class RelationDetector {
  readonly kind = 'relation' as const;
  private n = 0;
  private readonly y: Float64Array;
  private readonly mean: Float64Array;
  private readonly cov: Float64Array; // k×k, row-major
  private readonly chol: Float64Array; // Cholesky factor of the shrunk correlation matrix
  private readonly sd: Float64Array;
  private readonly z: Float64Array;
  private readonly dev: Float64Array;
  private readonly cal: TailCalibrator;
  private readonly aFast: number;
  private readonly refactorEvery: number;
  private sinceFactor = Infinity;
  private outSince = NaN;
  private outCount = 0;

  constructor(
    readonly size: number,
    private readonly o: RelationOptions = RELATION_DEFAULTS,
  ) {
    if (!(size >= 2)) throw new RangeError('a relation needs at least two points');
    this.y = new Float64Array(size);
    this.mean = new Float64Array(size);
    this.cov = new Float64Array(size * size);
    this.chol = new Float64Array(size * size);
    this.sd = new Float64Array(size);
    this.z = new Float64Array(size);
    this.dev = new Float64Array(size);
    this.cal = new TailCalibrator({ memory: o.memory * 2, minCount: Math.max(10, Math.floor(o.warmup / 3)) });
    this.aFast = 2 / (o.fastSpan + 1);
    this.refactorEvery = Math.max(1, Math.floor(size / 4));
  }

  /** One row of values (same order as at construction); any NaN makes the row count as missing. */
  update(_ts: number, values: ArrayLike<number>): Finding | null {
    const k = this.size;
    for (let i = 0; i < k; i++) if (!Number.isFinite(values[i]!)) return null;
    const ts = _ts;
    this.n++;
    if (this.n === 1) {
      for (let i = 0; i < k; i++) this.y[i] = this.mean[i] = values[i]!;
      return null;
    }
    for (let i = 0; i < k; i++) {
      this.y[i]! += this.aFast * (values[i]! - this.y[i]!);
      this.dev[i] = this.y[i]! - this.mean[i]!;
    }
    const t2 = this.n > 2 ? this.t2() : 0;
    const warm = this.n <= this.o.warmup;
    const p = this.cal.pValue(t2);
    if (warm || p >= this.o.gate) {
      this.outSince = NaN;
      this.outCount = 0;
      this.learn(p);
      if (this.n > this.o.warmup / 3) this.cal.observeGated(t2, this.o.gate);
    } else {
      if (Number.isNaN(this.outSince)) this.outSince = ts;
      this.outCount++;
      if (this.outCount >= this.o.relearnMin && ts - this.outSince >= this.o.relearnAfter) {
        this.mean.set(this.y);
        this.outSince = NaN;
        this.outCount = 0;
      }
    }
    if (warm) return null;
    const score = scoreOf(p);
    return { kind: 'relation', score, p, condition: score > 0 ? 'relation' : null };
  }

  private learn(p: number): void {
    const k = this.size;
    let a = Math.max(1 / this.n, 1 / this.o.memory);
    // Once settled, only ordinary rows (p above 10 × gate) teach the covariance; others move the
    // mean only. A slow fault creeping in under the gate must not widen the covariance row by
    // row (it would compound and never alarm).
    const covToo = this.n <= this.o.warmup / 3 || p > 10 * this.o.gate;
    // West's weighted update: mean first, covariance from the pre-update deviation.
    for (let i = 0; i < k; i++) this.mean[i]! += a * this.dev[i]!;
    if (!covToo) return;
    const b = 1 - a;
    for (let i = 0; i < k; i++) {
      const di = this.dev[i]!;
      for (let j = 0; j <= i; j++) {
        const v = b * (this.cov[i * k + j]! + a * di * this.dev[j]!);
        this.cov[i * k + j] = v;
        this.cov[j * k + i] = v;
      }
    }
    this.sinceFactor++;
  }

  /** T² / k of the current deviation against the shrunk correlation matrix. */
  private t2(): number {
    const k = this.size;
    if (this.sinceFactor >= this.refactorEvery) this.factor();
    for (let i = 0; i < k; i++) {
      const s = this.sd[i]!;
      this.z[i] = s > 0 ? this.dev[i]! / s : 0;
    }
    // Solve L w = z; T² = |w|².
    let sum = 0;
    const L = this.chol;
    for (let i = 0; i < k; i++) {
      let v = this.z[i]!;
      for (let j = 0; j < i; j++) v -= L[i * k + j]! * this.z[j]!;
      v /= L[i * k + i]!;
      this.z[i] = v;
      sum += v * v;
    }
    return sum / k;
  }

  private factor(): void {
    this.sinceFactor = 0;
    const k = this.size;
    const lam = this.o.shrink;
    for (let i = 0; i < k; i++) {
      const v = this.cov[i * k + i]!;
      // A point that never moved carries no relation; its z stays 0.
      this.sd[i] = v > 0 ? Math.sqrt(v) : 0;
    }
    const L = this.chol;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j <= i; j++) {
        let r: number;
        if (i === j) r = 1;
        else {
          const si = this.sd[i]!;
          const sj = this.sd[j]!;
          r = si > 0 && sj > 0 ? (1 - lam) * (this.cov[i * k + j]! / (si * sj)) : 0;
        }
        let v = r;
        for (let m = 0; m < j; m++) v -= L[i * k + m]! * L[j * k + m]!;
        if (i === j) L[i * k + i] = Math.sqrt(Math.max(v, 1e-9));
        else L[i * k + j] = v / L[j * k + j]!;
      }
    }
  }
}

/**
 * One point's statistics over one window, pure. Only good readings enter the statistics; bad
 * ones are only counted.
 *
 * Time-weighted mean. Each good value holds from its timestamp until the next good reading, or
 * until the window end for the last one; time before the first good reading of the window is not
 * covered. So twMean = Σ vᵢ·(tᵢ₊₁ − tᵢ) / (end − t₁), with tₙ₊₁ = end.
 * Example: window [0 s, 60 s), readings 10 @ 0 s, 20 @ 30 s, 40 @ 45 s: (10·30 + 20·15 + 40·15)/60 = 20,
 * while the plain mean is 23.33. A value that arrives out of order (older than the latest good
 * value of the window) enters every statistic except the time-weighted mean and `last`.
 *
 * Standard deviation: population standard deviation of the good values (Welford's online
 * algorithm; two accumulators merge with Chan et al.'s formula).
 */
import { QuantileSketch, type SketchMapping } from './sketch.js';

export interface PointSummary {
  /** Readings merged: good + bad. */
  readonly count: number;
  readonly good: number;
  readonly bad: number;
  /** Statistics of the good values; null when there were none. */
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly twMean: number | null;
  readonly last: number | null;
  readonly stddev: number | null;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export class PointStats {
  good = 0;
  bad = 0;
  min = Infinity;
  max = -Infinity;
  mean = 0;
  m2 = 0;
  firstTs = Number.NaN;
  lastTs = Number.NaN;
  last = Number.NaN;
  /** Σ v·dt (value × ms) for the good values up to lastTs. */
  integral = 0;
  readonly sketch: QuantileSketch;

  constructor(mapping: SketchMapping, maxBins?: number) {
    this.sketch = new QuantileSketch(mapping, maxBins);
  }

  /** A good value; `key` from keyOf() when the caller computed it once for several windows. */
  addGood(v: number, ts: number, key?: number): void {
    const n = ++this.good;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    const delta = v - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (v - this.mean);
    if (key === undefined) this.sketch.add(v);
    else this.sketch.addKey(key);
    if (n === 1) {
      this.firstTs = ts;
      this.lastTs = ts;
      this.last = v;
    } else if (ts >= this.lastTs) {
      this.integral += this.last * (ts - this.lastTs);
      this.lastTs = ts;
      this.last = v;
    }
  }

  addBad(): void {
    this.bad++;
  }

  /**
   * Folds in the statistics of the window that follows this one (this window ends at `boundary`,
   * `next` starts there): the result is the statistics of the joined window. The last value of this
   * window holds until the first good value of `next`, exactly as if one accumulator had seen both.
   */
  mergeNext(next: PointStats, boundary: number): void {
    this.bad += next.bad;
    if (next.good === 0) return;
    if (this.good === 0) {
      this.good = next.good;
      this.min = next.min;
      this.max = next.max;
      this.mean = next.mean;
      this.m2 = next.m2;
      this.firstTs = next.firstTs;
      this.lastTs = next.lastTs;
      this.last = next.last;
      this.integral = next.integral;
      this.sketch.merge(next.sketch);
      return;
    }
    const na = this.good;
    const nb = next.good;
    const n = na + nb;
    const delta = next.mean - this.mean;
    this.mean += (delta * nb) / n;
    this.m2 += next.m2 + (delta * delta * na * nb) / n;
    this.good = n;
    if (next.min < this.min) this.min = next.min;
    if (next.max > this.max) this.max = next.max;
    // This window's last value held until its end (boundary) and on until next's first value.
    this.integral += this.last * (boundary - this.lastTs) + this.last * (next.firstTs - boundary) + next.integral;
    this.lastTs = next.lastTs;
    this.last = next.last;
    this.sketch.merge(next.sketch);
  }

  summary(end: number): PointSummary {
    const g = this.good;
    if (g === 0) {
      return { count: this.bad, good: 0, bad: this.bad, min: null, max: null, mean: null, twMean: null, last: null, stddev: null, p50: null, p95: null, p99: null };
    }
    const covered = end - this.firstTs;
    const twMean = covered > 0 ? (this.integral + this.last * (end - this.lastTs)) / covered : this.last;
    return {
      count: g + this.bad,
      good: g,
      bad: this.bad,
      min: this.min,
      max: this.max,
      mean: this.mean,
      twMean,
      last: this.last,
      stddev: Math.sqrt(Math.max(0, this.m2 / g)),
      // The sketch answers with its bucket's representative value; the exact min and max bound
      // any true quantile, so clamping only removes error (a constant 14450 reads 14450, not 14330).
      p50: this.clamp(this.sketch.quantile(0.5)),
      p95: this.clamp(this.sketch.quantile(0.95)),
      p99: this.clamp(this.sketch.quantile(0.99)),
    };
  }

  private clamp(q: number): number {
    return Math.min(this.max, Math.max(this.min, q));
  }

  /** Back to empty, keeping the sketch's arrays for reuse by the next window. */
  reset(): void {
    this.good = 0;
    this.bad = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.mean = 0;
    this.m2 = 0;
    this.firstTs = Number.NaN;
    this.lastTs = Number.NaN;
    this.last = Number.NaN;
    this.integral = 0;
    this.sketch.clear();
  }
}

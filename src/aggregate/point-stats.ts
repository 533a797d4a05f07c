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
 *
 * Any finite input gives finite statistics within [min, max] (issue 16.5; stddev within
 * [0, (max − min) / 2], Popoviciu's bound). Sums and squares of values near ±1.8e308 overflow, so
 * the accumulators (mean, m2, integral) are kept in units of `scale`, a power of two that stays 1
 * until a value's magnitude passes 2^400 and then follows the largest magnitude seen: dividing by
 * a power of two is exact, so ordinary data is computed exactly as before. Rounding can still put
 * a mean an ulp outside [min, max], and a sketch answers with its bucket's value: the summary
 * clamps both to the exact min and max, which only removes error.
 */
import { QuantileSketch, type SketchMapping, type SketchState } from './sketch.js';

/** A PointStats as plain JSON data (rollup windows kept across a restart, issue 16.4). */
export interface PointStatsState {
  readonly good: number;
  readonly bad: number;
  /** [min, max, mean, m2, firstTs, lastTs, last, integral, scale]; absent when good is 0. */
  readonly acc?: readonly number[];
  readonly sketch?: SketchState;
}

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

/** Accumulators are rescaled once a value's magnitude exceeds scale × 2^400 (squares of 2^400 × n stay finite). */
const HEADROOM = 2 ** 400;

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
  /** Σ v·dt (value × ms) for the good values up to lastTs, in units of `scale` (like mean and m2). */
  integral = 0;
  /** Power of two the accumulators are kept in units of (see the top); m2 is in units of scale². */
  scale = 1;
  private limit = HEADROOM;
  readonly sketch: QuantileSketch;

  constructor(mapping: SketchMapping, maxBins?: number) {
    this.sketch = new QuantileSketch(mapping, maxBins);
  }

  /** A good value; `key` from keyOf() when the caller computed it once for several windows. */
  addGood(v: number, ts: number, key?: number): void {
    if (v > this.limit || -v > this.limit) this.rescaleTo(scaleFor(v));
    const x = v / this.scale;
    const n = ++this.good;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    const delta = x - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (x - this.mean);
    if (key === undefined) this.sketch.add(v);
    else this.sketch.addKey(key);
    if (n === 1) {
      this.firstTs = ts;
      this.lastTs = ts;
      this.last = v;
    } else if (ts >= this.lastTs) {
      this.integral += (this.last / this.scale) * (ts - this.lastTs);
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
      this.scale = next.scale;
      this.limit = next.limit;
      this.sketch.merge(next.sketch);
      return;
    }
    if (next.scale > this.scale) this.rescaleTo(next.scale);
    // next's accumulators in this one's units (a power of two ≤ 1: exact unless it underflows).
    const r = next.scale / this.scale;
    const na = this.good;
    const nb = next.good;
    const n = na + nb;
    const delta = next.mean * r - this.mean;
    this.mean += (delta * nb) / n;
    this.m2 += next.m2 * r * r + (delta * delta * na * nb) / n;
    this.good = n;
    if (next.min < this.min) this.min = next.min;
    if (next.max > this.max) this.max = next.max;
    // This window's last value held until its end (boundary) and on until next's first value.
    this.integral += (this.last / this.scale) * (next.firstTs - this.lastTs) + next.integral * r;
    this.lastTs = next.lastTs;
    this.last = next.last;
    this.sketch.merge(next.sketch);
  }

  summary(end: number): PointSummary {
    const g = this.good;
    if (g === 0) {
      return { count: this.bad, good: 0, bad: this.bad, min: null, max: null, mean: null, twMean: null, last: null, stddev: null, p50: null, p95: null, p99: null };
    }
    const sc = this.scale;
    const covered = end - this.firstTs;
    const twMean = covered > 0 ? ((this.integral + (this.last / sc) * (end - this.lastTs)) / covered) * sc : this.last;
    // Popoviciu: a population's standard deviation is at most half its range.
    const stddev = Math.min(Math.sqrt(Math.max(0, this.m2 / g)) * sc, this.max / 2 - this.min / 2);
    return {
      count: g + this.bad,
      good: g,
      bad: this.bad,
      min: this.min,
      max: this.max,
      mean: this.clamp(this.mean * sc),
      twMean: this.clamp(twMean),
      last: this.last,
      stddev,
      // The sketch answers with its bucket's representative value; the exact min and max bound
      // any true quantile, so clamping only removes error (a constant 14450 reads 14450, not 14330).
      p50: this.clamp(this.sketch.quantile(0.5)),
      p95: this.clamp(this.sketch.quantile(0.95)),
      p99: this.clamp(this.sketch.quantile(0.99)),
    };
  }

  /** Into [min, max]; ±Infinity (a sketch bucket past 1.8e308) lands on the bound, NaN (a bug) on the midpoint. */
  private clamp(q: number): number {
    if (q >= this.max) return this.max;
    if (q <= this.min) return this.min;
    return q === q ? q : this.min / 2 + this.max / 2;
  }

  /** Re-expresses the accumulators in units of `scale` (a larger power of two). */
  private rescaleTo(scale: number): void {
    const r = this.scale / scale;
    this.mean *= r;
    this.m2 *= r * r;
    this.integral *= r;
    this.scale = scale;
    this.limit = scale * HEADROOM;
  }

  save(): PointStatsState {
    if (this.good === 0) return { good: 0, bad: this.bad };
    return {
      good: this.good,
      bad: this.bad,
      acc: [this.min, this.max, this.mean, this.m2, this.firstTs, this.lastTs, this.last, this.integral, this.scale],
      sketch: this.sketch.save(),
    };
  }

  /** Back to a saved state (this one reset first); false, and empty, if the state is not one. */
  load(state: PointStatsState): boolean {
    this.reset();
    const { good, bad, acc, sketch } = state;
    if (!Number.isSafeInteger(good) || !Number.isSafeInteger(bad) || good < 0 || bad < 0) return false;
    if (good > 0 && !(Array.isArray(acc) && acc.length === 9 && acc.every(Number.isFinite) && isSketchState(sketch))) return false;
    this.good = good;
    this.bad = bad;
    if (good > 0) {
      const a = acc!;
      this.min = a[0]!;
      this.max = a[1]!;
      this.mean = a[2]!;
      this.m2 = a[3]!;
      this.firstTs = a[4]!;
      this.lastTs = a[5]!;
      this.last = a[6]!;
      this.integral = a[7]!;
      this.scale = a[8]!;
      this.limit = this.scale * HEADROOM;
      this.sketch.load(sketch!);
    }
    return true;
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
    this.scale = 1;
    this.limit = HEADROOM;
    this.sketch.clear();
  }
}

function isSketchState(s: SketchState | undefined): s is SketchState {
  const pairs = (a: unknown) =>
    Array.isArray(a) && a.length % 2 === 0 && a.every((x, i) => Number.isSafeInteger(x) && (i % 2 === 0 ? Math.abs(x as number) < 1 << 20 : (x as number) > 0));
  return !!s && pairs(s.pos) && pairs(s.neg) && Number.isSafeInteger(s.zero) && s.zero >= 0;
}

/** The power of two that brings |v| to at most 1 (2 for values past 2^1023). */
function scaleFor(v: number): number {
  return 2 ** Math.min(1023, Math.ceil(Math.log2(v < 0 ? -v : v)));
}

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
import { SketchTable, type SketchMapping, type SketchState } from './sketch.js';

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

// One row of a StatsTable: these numbers, in this order, in one Float64Array; its counts of good
// and bad readings in a Uint32Array beside it (integers: 8 bytes a row less than as doubles, and
// a window never counts 2^32 readings).
const MIN = 0;
const MAX = 1;
const MEAN = 2;
const M2 = 3;
const FIRST_TS = 4;
const LAST_TS = 5;
const LAST = 6;
/** Σ v·dt (value × ms) for the good values up to lastTs, in units of `scale` (like mean and m2). */
const INTEGRAL = 7;
/** Power of two the accumulators are kept in units of (see the top); m2 is in units of scale². */
const SCALE = 8;
const STRIDE = 9;
const EMPTY_ROW = [Infinity, -Infinity, 0, 0, Number.NaN, Number.NaN, Number.NaN, 0, 1];
// In the counts array, row r's are at 2r (good) and 2r + 1 (bad).
const GOOD = 0;
const BAD = 1;

/**
 * The statistics of many points over one window, one row per point (issue 15: memory per point).
 * A row's numbers live in one Float64Array shared by every row and its counts in a Uint32Array (80
 * bytes a row, where an object per point held them as ~300 bytes of fields and boxed numbers), its
 * sketch beside it. The arithmetic is PointStats' own, operation for operation: a row and a
 * PointStats fed the same readings agree to the bit (test/aggregate/fixed-series.test.ts freezes
 * the results).
 */
export class StatsTable {
  private acc: Float64Array;
  /** Good and bad readings per row (see GOOD and BAD). */
  private n: Uint32Array;
  /** Row r's quantile sketch is row r of this table. */
  private readonly sketches: SketchTable;
  private rows = 0;

  constructor(
    readonly mapping: SketchMapping,
    readonly maxBins?: number,
    capacity = 1,
  ) {
    this.acc = new Float64Array(Math.max(1, capacity) * STRIDE);
    this.n = new Uint32Array(Math.max(1, capacity) * 2);
    this.sketches = new SketchTable(mapping, maxBins, capacity);
  }

  /** Makes rows [0, row] usable (new rows empty); grows the storage by half when it must. */
  ensure(row: number): void {
    if (row < this.rows) return;
    const need = (row + 1) * STRIDE;
    if (need > this.acc.length) {
      const next = new Float64Array(Math.max(need, Math.ceil((this.acc.length / STRIDE) * 1.5) * STRIDE));
      next.set(this.acc.subarray(0, this.rows * STRIDE));
      this.acc = next;
      const counts = new Uint32Array((next.length / STRIDE) * 2);
      counts.set(this.n.subarray(0, this.rows * 2));
      this.n = counts;
    }
    for (let r = this.rows; r <= row; r++) this.acc.set(EMPTY_ROW, r * STRIDE);
    this.sketches.ensure(row + 1);
    this.rows = row + 1;
  }

  good(row: number): number {
    return this.n[row * 2 + GOOD]!;
  }

  /** Readings counted in the row, good and bad. */
  count(row: number): number {
    return this.n[row * 2 + GOOD]! + this.n[row * 2 + BAD]!;
  }

  /** Bytes of the row's sketch's counters. */
  sketchBytes(row: number): number {
    return this.sketches.bytes(row);
  }

  /** A good value; `key` from keyOf() when the caller computed it once for several windows. */
  addGood(row: number, v: number, ts: number, key?: number): void {
    const a = this.acc;
    const o = row * STRIDE;
    if (v > a[o + SCALE]! * HEADROOM || -v > a[o + SCALE]! * HEADROOM) this.rescaleTo(row, scaleFor(v));
    const scale = a[o + SCALE]!;
    const x = v / scale;
    const n = this.n[row * 2 + GOOD]! + 1;
    this.n[row * 2 + GOOD] = n;
    if (v < a[o + MIN]!) a[o + MIN] = v;
    if (v > a[o + MAX]!) a[o + MAX] = v;
    const delta = x - a[o + MEAN]!;
    const mean = a[o + MEAN]! + delta / n;
    a[o + MEAN] = mean;
    a[o + M2] = a[o + M2]! + delta * (x - mean);
    if (key === undefined) this.sketches.add(row, v);
    else this.sketches.addKey(row, key);
    if (n === 1) {
      a[o + FIRST_TS] = ts;
      a[o + LAST_TS] = ts;
      a[o + LAST] = v;
    } else if (ts >= a[o + LAST_TS]!) {
      a[o + INTEGRAL] = a[o + INTEGRAL]! + (a[o + LAST]! / scale) * (ts - a[o + LAST_TS]!);
      a[o + LAST_TS] = ts;
      a[o + LAST] = v;
    }
  }

  addBad(row: number): void {
    this.n[row * 2 + BAD]!++;
  }

  /**
   * Folds in the statistics of the window that follows this one (this window ends at `boundary`,
   * `next` starts there): the result is the statistics of the joined window. The last value of this
   * window holds until the first good value of `next`, exactly as if one accumulator had seen both.
   */
  mergeNext(row: number, next: StatsTable, nextRow: number, _boundary: number): void {
    const a = this.acc;
    const o = row * STRIDE;
    const b = next.acc;
    const p = nextRow * STRIDE;
    const c = this.n;
    const d = next.n;
    c[row * 2 + BAD] = c[row * 2 + BAD]! + d[nextRow * 2 + BAD]!;
    const nb = d[nextRow * 2 + GOOD]!;
    if (nb === 0) return;
    const na = c[row * 2 + GOOD]!;
    if (na === 0) {
      for (let j = 0; j < STRIDE; j++) a[o + j] = b[p + j]!;
      c[row * 2 + GOOD] = nb;
      this.sketches.merge(row, next.sketches, nextRow);
      return;
    }
    if (b[p + SCALE]! > a[o + SCALE]!) this.rescaleTo(row, b[p + SCALE]!);
    // next's accumulators in this one's units (a power of two ≤ 1: exact unless it underflows).
    const r = b[p + SCALE]! / a[o + SCALE]!;
    const n = na + nb;
    const delta = b[p + MEAN]! * r - a[o + MEAN]!;
    a[o + MEAN] = a[o + MEAN]! + (delta * nb) / n;
    a[o + M2] = a[o + M2]! + (b[p + M2]! * r * r + (delta * delta * na * nb) / n);
    c[row * 2 + GOOD] = n;
    if (b[p + MIN]! < a[o + MIN]!) a[o + MIN] = b[p + MIN]!;
    if (b[p + MAX]! > a[o + MAX]!) a[o + MAX] = b[p + MAX]!;
    // This window's last value held until its end (boundary) and on until next's first value.
    a[o + INTEGRAL] =
      a[o + INTEGRAL]! + ((a[o + LAST]! / a[o + SCALE]!) * (b[p + FIRST_TS]! - a[o + LAST_TS]!) + b[p + INTEGRAL]! * r);
    a[o + LAST_TS] = b[p + LAST_TS]!;
    a[o + LAST] = b[p + LAST]!;
    this.sketches.merge(row, next.sketches, nextRow);
  }

  summary(row: number, end: number): PointSummary {
    const a = this.acc;
    const o = row * STRIDE;
    const g = this.n[row * 2 + GOOD]!;
    const bad = this.n[row * 2 + BAD]!;
    if (g === 0) {
      return {
        count: bad,
        good: 0,
        bad,
        min: null,
        max: null,
        mean: null,
        twMean: null,
        last: null,
        stddev: null,
        p50: null,
        p95: null,
        p99: null,
      };
    }
    const sc = a[o + SCALE]!;
    const min = a[o + MIN]!;
    const max = a[o + MAX]!;
    const last = a[o + LAST]!;
    const lastTs = a[o + LAST_TS]!;
    const covered = end - a[o + FIRST_TS]!;
    const twMean = covered > 0 ? ((a[o + INTEGRAL]! + (last / sc) * (end - lastTs)) / covered) * sc : last;
    // Popoviciu: a population's standard deviation is at most half its range.
    const stddev = Math.min(Math.sqrt(Math.max(0, a[o + M2]! / g)) * sc, max / 2 - min / 2);
    const sketch = this.sketches;
    return {
      count: g + bad,
      good: g,
      bad,
      min,
      max,
      mean: clamp(a[o + MEAN]! * sc, min, max),
      twMean: clamp(twMean, min, max),
      last,
      stddev,
      // The sketch answers with its bucket's representative value; the exact min and max bound
      // any true quantile, so clamping only removes error (a constant 14450 reads 14450, not 14330).
      p50: clamp(sketch.quantile(row, 0.5), min, max),
      p95: clamp(sketch.quantile(row, 0.95), min, max),
      p99: clamp(sketch.quantile(row, 0.99), min, max),
    };
  }

  save(row: number): PointStatsState {
    const a = this.acc;
    const o = row * STRIDE;
    const good = this.n[row * 2 + GOOD]!;
    const bad = this.n[row * 2 + BAD]!;
    if (good === 0) return { good: 0, bad };
    return {
      good,
      bad,
      acc: [MIN, MAX, MEAN, M2, FIRST_TS, LAST_TS, LAST, INTEGRAL, SCALE].map((f) => a[o + f]!),
      sketch: this.sketches.save(row),
    };
  }

  /** Back to a saved state (the row reset first); false, and empty, if the state is not one. */
  load(row: number, state: PointStatsState): boolean {
    this.reset(row);
    const { good, bad, acc, sketch } = state;
    if (!Number.isSafeInteger(good) || !Number.isSafeInteger(bad) || good < 0 || bad < 0) return false;
    if (good > 0xffffffff || bad > 0xffffffff) return false;
    if (good > 0 && !(Array.isArray(acc) && acc.length === 9 && acc.every(Number.isFinite) && isSketchState(sketch)))
      return false;
    const a = this.acc;
    const o = row * STRIDE;
    this.n[row * 2 + GOOD] = good;
    this.n[row * 2 + BAD] = bad;
    if (good > 0) {
      [MIN, MAX, MEAN, M2, FIRST_TS, LAST_TS, LAST, INTEGRAL, SCALE].forEach((f, i) => (a[o + f] = acc![i]!));
      this.sketches.load(row, sketch!);
    }
    return true;
  }

  /** Back to empty (the row exists afterwards). */
  reset(row: number): void {
    this.ensure(row);
    this.acc.set(EMPTY_ROW, row * STRIDE);
    this.n[row * 2 + GOOD] = 0;
    this.n[row * 2 + BAD] = 0;
    this.sketches.clear(row);
  }

  /** Re-expresses the row's accumulators in units of `scale` (a larger power of two). */
  private rescaleTo(row: number, scale: number): void {
    const a = this.acc;
    const o = row * STRIDE;
    const r = a[o + SCALE]! / scale;
    a[o + MEAN] = a[o + MEAN]! * r;
    a[o + M2] = a[o + M2]! * (r * r);
    a[o + INTEGRAL] = a[o + INTEGRAL]! * r;
    a[o + SCALE] = scale;
  }
}

/** Into [min, max]; ±Infinity (a sketch bucket past 1.8e308) lands on the bound, NaN (a bug) on the midpoint. */
function clamp(q: number, min: number, max: number): number {
  if (q >= max) return max;
  if (q <= min) return min;
  return Number.isNaN(q) ? min / 2 + max / 2 : q;
}

/** One point's statistics over one window: a StatsTable of one row. */
export class PointStats {
  private readonly t: StatsTable;

  constructor(mapping: SketchMapping, maxBins?: number) {
    this.t = new StatsTable(mapping, maxBins, 1);
    this.t.ensure(0);
  }

  get good(): number {
    return this.t.good(0);
  }

  addGood(v: number, ts: number, key?: number): void {
    this.t.addGood(0, v, ts, key);
  }

  addBad(): void {
    this.t.addBad(0);
  }

  /** See StatsTable.mergeNext. */
  mergeNext(next: PointStats, boundary: number): void {
    this.t.mergeNext(0, next.t, 0, boundary);
  }

  summary(end: number): PointSummary {
    return this.t.summary(0, end);
  }

  save(): PointStatsState {
    return this.t.save(0);
  }

  load(state: PointStatsState): boolean {
    return this.t.load(0, state);
  }

  reset(): void {
    this.t.reset(0);
  }
}

function isSketchState(s: SketchState | undefined): s is SketchState {
  const pairs = (a: unknown) =>
    Array.isArray(a) &&
    a.length % 2 === 0 &&
    a.every((x, i) => Number.isSafeInteger(x) && (i % 2 === 0 ? Math.abs(x as number) < 1 << 20 : (x as number) > 0));
  return !!s && pairs(s.pos) && pairs(s.neg) && Number.isSafeInteger(s.zero) && s.zero >= 0;
}

/** The power of two that brings |v| to at most 1 (2 for values past 2^1023). */
function scaleFor(v: number): number {
  return 2 ** Math.min(1023, Math.ceil(Math.log2(v < 0 ? -v : v)));
}

/**
 * Learned baseline: an unsupervised detector that learns one point's normal behaviour online and
 * scores how unusual each new good reading is.
 *
 * Model (all exponentially weighted, memory counted in readings so it behaves the same at 1 Hz
 * and at one reading every 5 minutes):
 * - seasonal profile: `seasonBuckets` time-of-day buckets holding the average offset from the
 *   level (additive, Holt-Winters style), linearly interpolated between bucket centres; it fades
 *   in over the second day of data and is off before that;
 * - level `m` of the de-seasonalised value, and AR(1) persistence `φ` of its deviations, so a
 *   slowly wandering process is predicted from its last value and a noisy one from its level;
 * - noise: variance of the one-step innovation `e = (x - m) - φ (x₋₁ - m)`.
 *
 * Three statistics, each calibrated against its own past (calibrate.ts), then combined with a
 * Bonferroni correction:
 * - spike: e² / var(e), one reading off its prediction;
 * - level: d² / var(d) where d = (fast average of the last ~`fastSpan` readings) - m: steps and
 *   drifts, small but persistent shifts that single readings hide in the noise; discounted for
 *   the effective number of independent readings behind var(d) (levelForHistory), so a slowly
 *   wandering point is not judged on a tail extrapolated from one or two excursions;
 * - noise: (recent mean of e²) / var(e): the noise itself grew (a loose wire, cavitation).
 *
 * Robustness: a reading whose spike or level p-value is below `gate` does not teach the model or
 * the calibrators, so a long fault keeps scoring instead of becoming "normal". If the shift lasts
 * longer than `relearnAfter` (and `relearnMin` readings), it is a new regime: the level snaps to
 * the recent average and learning resumes, so a plant that changed its set point is not in alarm
 * forever.
 *
 * Scale: every statistic is a ratio of squared deviations, so multiplying a point by 1000 and
 * adding an offset gives the same scores (up to rounding); the variance floor is the quantisation
 * step seen in the data (q²/12), which scales too.
 */
import type { Quality } from '../sources/reading.js';
import { TailCalibrator, combineP, scoreOf } from './calibrate.js';
import type { Finding, PointDetector } from './detector.js';

export interface BaselineOptions {
  /** Good readings learnt before any score is given. */
  readonly warmup: number;
  /** Effective memory of level, noise and calibration, in readings. */
  readonly memory: number;
  /** Readings averaged for the level statistic. */
  readonly fastSpan: number;
  /** Readings averaged for the noise statistic. */
  readonly noiseSpan: number;
  /** Time-of-day buckets of the seasonal profile; 0 turns it off. */
  readonly seasonBuckets: number;
  /** Readings rarer than this p-value do not teach the model. */
  readonly gate: number;
  /** A shift that lasts this long (ms)… */
  readonly relearnAfter: number;
  /** …and at least this many readings is a new regime, learnt instead of alarmed on. */
  readonly relearnMin: number;
}

export const BASELINE_DEFAULTS: BaselineOptions = {
  warmup: 300,
  memory: 2000,
  fastSpan: 10,
  noiseSpan: 30,
  seasonBuckets: 48,
  gate: 1e-3,
  relearnAfter: 3_600_000,
  relearnMin: 100,
};

const DAY = 86_400_000;
/** Readings with every p above this teach variances and persistence (see update()). */
const SOFT = 0.1;
const CONDITIONS = ['spike', 'level', 'noise'] as const;

export class BaselineDetector implements PointDetector {
  readonly kind = 'baseline' as const;
  private n = 0;
  private firstTs = NaN;
  private m = 0; // level of the de-seasonalised value
  private prev = 0; // previous de-seasonalised value
  private fast = 0; // fast average of the de-seasonalised value
  private varE = 0; // innovation variance
  private shortE = 0; // recent mean of e²
  private varD = 0; // variance of fast - m
  private c0 = 0; // var of x₋₁ - m   (for φ)
  private c1 = 0; // cov of x - m, x₋₁ - m
  private phi = 0;
  private quantum = Infinity; // smallest non-zero step seen: the sensor's resolution
  private lastRaw = NaN;
  private outSince = NaN; // ts of the first reading of the current unusual stretch
  private outCount = 0;
  private readonly season: Float64Array; // offsets per bucket
  private readonly visits: Float64Array; // readings seen per bucket (capped)
  private readonly cSpike: TailCalibrator;
  private readonly cLevel: TailCalibrator;
  private readonly cNoise: TailCalibrator;
  private readonly aFast: number;
  private readonly aNoise: number;
  private interval = NaN; // typical time between readings, ms (for the seasonal memory)
  private lastTs = NaN;

  constructor(private readonly o: BaselineOptions = BASELINE_DEFAULTS) {
    this.season = new Float64Array(Math.max(0, o.seasonBuckets));
    this.visits = new Float64Array(Math.max(0, o.seasonBuckets));
    const cal = { memory: o.memory * 2, minCount: Math.max(10, Math.floor(o.warmup / 3)) };
    this.cSpike = new TailCalibrator(cal);
    this.cLevel = new TailCalibrator(cal);
    this.cNoise = new TailCalibrator(cal);
    this.aFast = 2 / (o.fastSpan + 1);
    this.aNoise = 2 / (o.noiseSpan + 1);
  }

  tick(): Finding | null {
    return null;
  }

  update(ts: number, x: number, quality: Quality): Finding | null {
    if (quality !== 'good' || !Number.isFinite(x)) return null;
    if (this.n === 0) this.firstTs = ts;
    this.n++;
    const dt = ts - this.lastTs;
    if (dt > 0) this.interval = Number.isNaN(this.interval) ? dt : this.interval + 0.01 * (dt - this.interval);
    this.lastTs = ts;
    const step = Math.abs(x - this.lastRaw);
    if (step > 0 && step < this.quantum) this.quantum = step;
    this.lastRaw = x;

    const sw = this.seasonWeight(ts);
    const s = sw > 0 ? sw * this.seasonAt(ts) : 0;
    const xd = x - s;
    if (this.n === 1) {
      this.m = this.prev = this.fast = xd;
      return null;
    }
    const a = Math.max(1 / this.n, 1 / this.o.memory);
    const e = xd - this.m - this.phi * (this.prev - this.m);
    const e2 = e * e;
    this.fast += this.aFast * (xd - this.fast);
    this.shortE += this.aNoise * (e2 - this.shortE);
    const d = this.fast - this.m;
    const floor = Number.isFinite(this.quantum) ? (this.quantum * this.quantum) / 12 : Number.MIN_VALUE;
    const sSpike = ratio(e2, Math.max(this.varE, floor));
    const sLevel = levelForHistory(ratio(d * d, Math.max(this.varD, floor * this.aFast)), Math.min(this.n, 2 * this.o.memory), this.phi);
    const sNoise = ratio(this.shortE, Math.max(this.varE, floor));

    const warm = this.n <= this.o.warmup;
    const pS = this.cSpike.pValue(sSpike);
    const pL = this.cLevel.pValue(sLevel);
    const pN = this.cNoise.pValue(sNoise);
    const unusual = !warm && (pS < this.o.gate || pL < this.o.gate || pN < this.o.gate);

    if (!unusual) {
      this.outSince = NaN;
      this.outCount = 0;
      const dev = xd - this.m;
      const pdev = this.prev - this.m;
      // Once the model has settled, variances and persistence learn only from ordinary readings
      // (every p above SOFT: a truncated estimate, biased low by a constant factor which the
      // calibrators absorb). Clipping instead would not do: a drift creeping in just
      // under the clip would inflate the variance a little every reading, compounding, and
      // never alarm.
      const settled = this.n > this.o.warmup / 3;
      const ordinary = !settled || (pS > SOFT && pL > SOFT && pN > SOFT);
      this.m += a * dev;
      if (ordinary) {
        this.c0 += a * (pdev * pdev - this.c0);
        this.c1 += a * (dev * pdev - this.c1);
        this.phi = this.c0 > 0 ? clamp(this.c1 / this.c0, 0, 0.98) : 0;
        this.varE += a * (e2 - this.varE);
        this.varD += a * (d * d - this.varD);
      }
      // Calibrators learn only from statistics of a settled model: the first readings' tiny
      // variances would give huge statistics that make everything later look ordinary.
      if (settled) {
        this.cSpike.observeGated(sSpike, this.o.gate);
        this.cLevel.observeGated(sLevel, this.o.gate);
        this.cNoise.observeGated(sNoise, this.o.gate);
      }
      this.learnSeason(ts, x);
    } else {
      if (Number.isNaN(this.outSince)) this.outSince = ts;
      this.outCount++;
      if (this.outCount >= this.o.relearnMin && ts - this.outSince >= this.o.relearnAfter) this.relearn();
    }
    this.prev = xd;
    if (warm) return null;

    let pMin = pS;
    let which = 0;
    if (pL < pMin) (pMin = pL), (which = 1);
    if (pN < pMin) (pMin = pN), (which = 2);
    const p = combineP(pMin, 3);
    const score = scoreOf(p);
    return { kind: 'baseline', score, p, condition: score > 0 ? CONDITIONS[which]! : null };
  }

  /** A persistent change is the new normal: take the recent level and noise and go on learning. */
  private relearn(): void {
    this.m = this.fast;
    this.varE = Math.max(this.varE, this.shortE);
    this.outSince = NaN;
    this.outCount = 0;
  }

  private seasonWeight(ts: number): number {
    if (this.season.length === 0 || Number.isNaN(this.firstTs)) return 0;
    return clamp((ts - this.firstTs - DAY) / DAY, 0, 1);
  }

  private bucketPos(ts: number): number {
    const B = this.season.length;
    const t = (((ts % DAY) + DAY) % DAY) / DAY; // fraction of the (UTC) day
    return t * B - 0.5; // bucket centres at integer positions
  }

  private seasonAt(ts: number): number {
    const B = this.season.length;
    const pos = this.bucketPos(ts);
    const i0 = Math.floor(pos);
    const f = pos - i0;
    const a = this.season[(i0 + B) % B]!;
    const b = this.season[(i0 + 1) % B]!;
    return a + f * (b - a);
  }

  private learnSeason(ts: number, x: number): void {
    const B = this.season.length;
    if (B === 0 || !(this.interval > 0)) return;
    const b = (Math.floor(this.bucketPos(ts) + 0.5) + B) % B;
    // Remember about three days' worth of readings per bucket.
    const perDay = Math.max(1, DAY / B / this.interval);
    const v = Math.min(this.visits[b]! + 1, 3 * perDay);
    this.visits[b] = v;
    this.season[b]! += (x - this.m - this.season[b]!) / v;
  }
}

/**
 * The level statistic discounted for how little independent history stands behind it.
 *
 * varD (and the level calibrator) are learnt from `n` readings, but a persistent process (AR
 * persistence φ) gives only about ν = n (1 - φ) / (1 + φ) independent looks at its level: a motor
 * temperature with φ = 0.95 has ν ≈ 8 after 300 readings, one excursion or two. Treating d²/varD
 * as a z² would then extrapolate a light Gaussian tail from a handful of values and call the next
 * ordinary excursion a one-in-a-million event. A variance estimated from ν independent values
 * makes d / √varD a Student t with ν degrees of freedom, whose tail at t² = s matches a Gaussian
 * z² of (ν + 1) ln(1 + s/ν) (the log-density of t_ν). That value is what the calibrator sees.
 *
 * Effect: for a white or lightly correlated point (φ ≤ 0.5, ν in the hundreds once warm) almost
 * nothing changes (s = 40 becomes ≈ 39 at ν = 500); for a slowly wandering one, level alarms need
 * a deviation that is large against what its short history can vouch for, and sensitivity comes
 * back as history accumulates (ν grows with n up to twice the memory). Steps still show in the
 * spike statistic (one big innovation) and in the noise statistic.
 */
export function levelForHistory(s: number, n: number, phi: number): number {
  const nu = Math.max(1, (n * (1 - phi)) / (1 + phi));
  return (nu + 1) * Math.log1p(s / nu);
}

function ratio(num: number, den: number): number {
  if (num <= 0) return 0;
  return den > 0 ? num / den : Infinity;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

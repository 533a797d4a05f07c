/**
 * Learned baseline: an unsupervised detector that learns one point's normal behaviour online and
 * scores how unusual each new good reading is.
 *
 * Model (all exponentially weighted, memory counted in readings so it behaves the same at 1 Hz
 * and at one reading every 5 minutes):
 * - seasonal profile: `seasonBuckets` time-of-day buckets holding the average offset from the
 *   level (additive, Holt-Winters style), linearly interpolated between bucket centres; it fades
 *   in over the second day of a regime and is off before that;
 * - level `m` of the de-seasonalised value;
 * - two one-step predictors, each with its own innovation variance, the better one (by a clear
 *   margin, so the choice does not flap) judging each reading:
 *   - mean-reverting AR(1): x̂ = m + φʳ (x₋₁ - m), for noise around a level and for a slowly
 *     wandering process. Persistence is per typical interval: after a gap of r intervals the
 *     prediction has relaxed by φʳ toward the level and its variance grown accordingly, so
 *     irregular sampling and gaps are judged by the time that passed, not by a count of readings;
 *   - local linear trend: x̂ = x₋₁ + slope·Δt, for smooth signals and for historians' piecewise-
 *     linear interpolation (common in plant data), where each reading continues the last slope
 *     and only the kinks are news.
 *
 * Five statistics, each calibrated against its own past (calibrate.ts), combined with a
 * Bonferroni correction:
 * - spike: e² / var(e), one reading off its prediction;
 * - level: d² / var(d), d = (average of the last ~`fastSpan` readings) - m: a step;
 * - drift: the same over ten times as many readings: a small persistent shift or a slow drift
 *   that is lost in the noise of ten readings stands out of the noise of a hundred;
 *   level and drift are discounted for the effective number of independent readings behind
 *   their variance (levelForHistory);
 * - slope: the recent average slope against its normal (only while the trend predictor judges:
 *   for a smooth signal the slope, not the value, is what is stationary);
 * - noise: (recent mean of e²) / var(e): the noise itself grew (a loose wire, cavitation).
 * The averages behind level, drift, slope and noise are robust to single outliers (each reading
 * enters clipped to its prediction ± `CLIP` σ; that is the spike statistic's job), so one big
 * value of heavy-tailed noise does not read as a shift for tens of readings after it.
 *
 * Robustness: a reading whose p-value is below `gate` on any statistic is UNUSUAL: it does not
 * teach the model, and the calibrators hold it back (a short unusual run is a rare but normal
 * excursion and teaches them its peak when it ends; a long one teaches nothing), so a long fault
 * keeps scoring instead of becoming "normal".
 *
 * Regimes: when an unusual stretch lasts `relearnAfter` ms and `relearnMin` readings it is a new
 * regime (a set point changed, a pump was swapped, the noise rose for good), and EVERY piece of
 * learnt state is learnt again by one rule: the model, the seasonal profile and the calibrators
 * restart as for a new point, from the current value, with a new warm-up. Only what belongs to
 * the sensor rather than to the process is kept (its resolution, its reading interval). The
 * regime left is remembered (level and noise, `REMEMBERED` of them), and so is a shorter stretch
 * that was a plateau of its own (a pump that ran for a few hours, a working day): when the point
 * returns to a remembered regime, the detector switches to it at once instead of alarming.
 *
 * Scale: every statistic is a ratio of squared deviations, so multiplying a point by 1000 and
 * adding an offset gives the same scores (up to rounding); the variance floor is the quantisation
 * step seen in the data (q²/12), which scales too.
 */
import type { Quality } from '../sources/reading.js';
import { TailCalibrator, combineDecades, scoreOfDecades } from './calibrate.js';
import type { Finding, PointDetector } from './detector.js';

export interface BaselineOptions {
  /** Good readings learnt before any score is given. */
  readonly warmup: number;
  /** Effective memory of level, noise and calibration, in readings. */
  readonly memory: number;
  /** Readings averaged for the level statistic (the drift statistic averages ten times more). */
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
/** Readings with every p above this teach variances and persistence. */
const SOFT_DECADES = 1;
/** Readings enter the averages clipped to their prediction ± CLIP σ. */
const CLIP = 3;
/** The drift statistic averages this many times more readings than the level statistic. */
const DRIFT_SPAN = 10;
/**
 * The drift statistic's tail is widened a quarter more than the others' (calibrate.ts: margin):
 * it moves slowly, so its history holds the fewest independent excursions, and a wandering
 * process (counts whose rate drifts) shows it first. Chosen on the calibration suite, where it
 * brings clustered counts from 2.4 to 2.0 times the promised rate at 0.67.
 */
const DRIFT_MARGIN = 1.25;

const SPIKE = 0;
const LEVEL = 1;
const DRIFT = 2;
const SLOPE = 3;
const NOISE = 4;
const CONDITIONS = ['spike', 'level', 'drift', 'slope', 'noise'] as const;
const STATS = CONDITIONS.length;

/** Regimes remembered besides the current one. */
const REMEMBERED = 2;
/** Per remembered regime: level, innovation variance, φ. */
const REGIME_FIELDS = 3;

export class BaselineDetector implements PointDetector {
  readonly kind = 'baseline' as const;
  // The current regime's model.
  private n = 0; // good readings since the regime started
  private nVar = 0; // readings the variances and persistence have learnt from (see settleSeason)
  private seasonSettled = false;
  private startTs = NaN;
  private m = 0; // level of the de-seasonalised value
  private prev = 0; // previous de-seasonalised value
  private prevSlope = 0; // (prev - the one before) per ms
  private varE = 0; // innovation variance of the mean-reverting predictor
  private varT = 0; // innovation variance of the local-trend predictor
  private trend = false; // the local-trend predictor judges
  private c0 = 0; // var of x₋₁ - m   (for φ)
  private c1 = 0; // cov of x - m, x₋₁ - m
  private phi = 0;
  private fast = 0; // robust averages of the value (fast, slow) and of the slope
  private slow = 0;
  private clippedOff = 0; // what the last reading's clip took away from the averages
  private fastS = 0;
  private mS = 0; // mean slope (per typical interval)
  private varD = 0; // variances of fast - m, slow - m, fastS - mS
  private varDS = 0;
  private varSl = 0;
  private shortE = 0; // recent mean of the (capped) squared innovation
  private readonly season: Float32Array; // offsets per bucket
  private readonly visits: Float32Array; // readings seen per bucket (capped)
  private readonly cal: TailCalibrator[];
  private readonly stat = new Float64Array(STATS);
  private readonly dec = new Float64Array(STATS);
  // The unusual stretch in progress: since when, how many readings, their mean and spread.
  private outSince = NaN;
  private outCount = 0;
  // The stretch's settling clock: since when its fast average has stayed within a band of a few
  // of its own noise σ (a transient still moving restarts it), and the band's ends.
  private calmSince = NaN;
  private calmCount = 0;
  private calmLo = 0;
  private calmHi = 0;
  private outDiff2 = 0; // mean squared change between the stretch's readings (its noise scale)
  private outMean = 0;
  private outM2 = 0;
  // The sensor's own properties, kept across regimes.
  private quantum = Infinity; // smallest non-zero step seen: the sensor's resolution
  private lastRaw = NaN;
  private interval = NaN; // typical time between readings, ms
  private lastTs = NaN;
  // Regimes left behind: REGIME_FIELDS numbers each, NaN level when the slot is empty.
  private readonly regimes = new Float64Array(REMEMBERED * REGIME_FIELDS).fill(NaN);
  private readonly aFast: number;
  private readonly aSlow: number;
  private readonly aNoise: number;

  constructor(private readonly o: BaselineOptions = BASELINE_DEFAULTS) {
    this.season = new Float32Array(Math.max(0, o.seasonBuckets));
    this.visits = new Float32Array(Math.max(0, o.seasonBuckets));
    this.aFast = 2 / (o.fastSpan + 1);
    this.aSlow = 2 / (DRIFT_SPAN * o.fastSpan + 1);
    this.aNoise = 2 / (o.noiseSpan + 1);
    const memory = o.memory * 2;
    const minCount = Math.max(10, Math.floor(o.warmup / 3));
    // A rare run longer than three times the statistic's own smoothing span is not an excursion.
    const spans = [1, o.fastSpan, DRIFT_SPAN * o.fastSpan, o.fastSpan, o.noiseSpan];
    this.cal = spans.map((span, k) => new TailCalibrator({ memory, minCount, gate: o.gate, maxRun: Math.max(8, 3 * span), margin: k === DRIFT ? DRIFT_MARGIN : 1 }));
  }

  tick(): Finding | null {
    return null;
  }

  update(ts: number, x: number, quality: Quality): Finding | null {
    if (quality !== 'good' || !Number.isFinite(x)) return null;
    const dt = ts - this.lastTs;
    // The typical interval learns from ordinary intervals, not from gaps.
    if (dt > 0) this.interval = Number.isNaN(this.interval) ? dt : this.interval + 0.01 * (Math.min(dt, 4 * this.interval) - this.interval);
    this.lastTs = ts;
    const step = Math.abs(x - this.lastRaw);
    if (step > 0 && step < this.quantum) this.quantum = step;
    this.lastRaw = x;

    if (this.n === 0) this.startTs = ts;
    this.n++;
    const sw = this.seasonWeight(ts);
    const xd = x - (sw > 0 ? sw * this.seasonAt(ts) : 0);
    if (this.n === 1) {
      this.m = this.prev = this.fast = this.slow = xd;
      return null;
    }
    if (!this.seasonSettled && sw >= 1) this.settleSeason();
    const a = Math.max(1 / this.n, 1 / this.o.memory);
    this.nVar++;
    const av = Math.max(1 / this.nVar, 1 / this.o.memory);
    const settled = this.n > this.o.warmup / 3;

    // Predictions. r: typical intervals since the last reading.
    const r = dt > 0 && this.interval > 0 ? dt / this.interval : 1;
    const phiR = r === 1 ? this.phi : Math.pow(this.phi, r);
    const grow = this.phi < 1 ? (1 - phiR * phiR) / (1 - this.phi * this.phi) : r;
    const e = xd - this.m - phiR * (this.prev - this.m); // mean-reverting innovation
    const en2 = (e * e) / Math.max(grow, 1e-9); // …per one typical interval
    const slope = dt > 0 ? (xd - this.prev) / dt : 0;
    const et = dt > 0 ? (slope - this.prevSlope) * this.interval : 0; // local-trend innovation
    const et2 = (et * et) / Math.max(1, r);
    const v = this.trend ? this.varT : this.varE;
    const inno = this.trend ? et : e;
    const inno2 = this.trend ? et2 : en2;
    const floor = this.floor();

    // Robust averages: each reading enters clipped to its prediction ± CLIP σ.
    const lim = settled && v > 0 ? CLIP * Math.sqrt(v * Math.max(1, this.trend ? r : grow)) : Infinity;
    let xc = inno > lim ? xd - inno + lim : inno < -lim ? xd - inno - lim : xd;
    // A clipped reading confirmed by the next one (which lands near it, not back where it came
    // from) was a step, not a spike: what the clip took away is given back, one reading late.
    const giveBack = this.clippedOff !== 0 && Math.abs(xd - this.prev) < lim ? this.clippedOff : 0;
    this.clippedOff = xd - xc;
    xc += giveBack;
    this.fast += this.aFast * (xc - this.fast);
    this.slow += this.aSlow * (xc - this.slow);
    const stepNow = slope * this.interval;
    const limS = settled && this.varT > 0 ? CLIP * Math.sqrt(this.varT) : Infinity;
    const ds = stepNow - this.prevSlope * this.interval;
    this.fastS += this.aFast * (stepNow - ds + (ds > limS ? limS : ds < -limS ? -limS : ds) - this.fastS);
    const cap = settled && v > 0 ? CLIP * CLIP * v : Infinity;
    this.shortE += this.aNoise * ((inno2 < cap ? inno2 : cap) - this.shortE);

    // Statistics and their tail probabilities (in decades).
    const d = this.fast - this.m;
    // The slow deviation counts only as far as the fast one still supports it: the drift
    // statistic sees a shift that is still there now, not the slow average's memory of one that
    // ended tens of readings ago.
    const ddRaw = this.slow - this.m;
    const dd = ddRaw > 0 ? Math.min(ddRaw, Math.max(0, d)) : Math.max(ddRaw, Math.min(0, d));
    const dS = this.fastS - this.mS;
    const nEff = Math.min(this.n, 2 * this.o.memory);
    const st = this.stat;
    st[SPIKE] = ratio(inno2, Math.max(v, floor));
    st[LEVEL] = levelForHistory(ratio(d * d, Math.max(this.varD, floor * this.aFast)), nEff, this.phi);
    st[DRIFT] = levelForHistory(ratio(dd * dd, Math.max(this.varDS, floor * this.aSlow)), nEff, this.phi);
    st[SLOPE] = this.trend ? ratio(dS * dS, Math.max(this.varSl, floor * this.aFast)) : 0;
    st[NOISE] = ratio(this.shortE, Math.max(v, floor));
    const warm = this.n <= this.o.warmup;
    const gateL = -Math.log10(this.o.gate);
    let worst = 0;
    for (let k = 0; k < STATS; k++) {
      this.dec[k] = this.cal[k]!.decades(st[k]!);
      if (this.dec[k]! > worst) worst = this.dec[k]!;
    }
    let unusual = !warm && worst > gateL;
    if (unusual && this.returnToRegime(xd)) {
      // Back in a regime seen before: judged by it from now on, this reading included.
      this.dec.fill(0);
      worst = 0;
      unusual = false;
    }

    if (!unusual) {
      if (this.outCount > 0) this.endStretch();
      // Variances and persistence learn only from ordinary readings once the model has settled
      // (every p above 0.1: a truncated estimate, biased low by a constant factor which the
      // calibrators absorb). Clipping instead would not do: a drift creeping in just under the
      // clip would inflate the variance a little every reading, compounding, and never alarm.
      const ordinary = !settled || worst < SOFT_DECADES;
      const dev = xd - this.m;
      const pdev = this.prev - this.m;
      this.m += a * dev;
      if (this.n > 2) this.mS += a * (stepNow - this.mS);
      if (ordinary && r <= 2) {
        this.c0 += av * (pdev * pdev - this.c0);
        this.c1 += av * (dev * pdev - this.c1);
        this.phi = this.c0 > 0 ? clamp(this.c1 / this.c0, 0, 0.98) : 0;
      }
      if (ordinary) {
        this.varE += av * (en2 - this.varE);
        if (this.n > 2) this.varT += av * (et2 - this.varT);
        this.varD += av * (d * d - this.varD);
        this.varDS += av * (ddRaw * ddRaw - this.varDS);
        this.varSl += av * (dS * dS - this.varSl);
        if (this.trend ? this.varE < 0.7 * this.varT : this.varT < 0.7 * this.varE) {
          this.trend = !this.trend;
          this.shortE = this.trend ? this.varT : this.varE;
        }
      }
      // Calibrators learn only from statistics of a settled model: the first readings' tiny
      // variances would give huge statistics that make everything later look ordinary.
      if (settled) for (let k = 0; k < STATS; k++) if (k !== SLOPE || this.trend) this.cal[k]!.learn(st[k]!, false);
      this.learnSeason(ts, x);
    } else {
      for (let k = 0; k < STATS; k++) this.cal[k]!.hold(st[k]!);
      if (Number.isNaN(this.outSince)) this.outSince = ts;
      this.outCount++;
      if (this.settling(ts, xd)) {
        this.relearn(ts, x);
        return null;
      }
      const dm = xd - this.outMean;
      this.outMean += dm / this.outCount;
      this.outM2 += dm * (xd - this.outMean);
    }
    this.prev = xd;
    this.prevSlope = slope;
    if (warm) return null;

    let which = 0;
    for (let k = 1; k < STATS; k++) if (this.dec[k]! > this.dec[which]!) which = k;
    const l = combineDecades(this.dec[which]!, STATS);
    const score = scoreOfDecades(l);
    return { kind: 'baseline', score, p: Math.pow(10, -l), decades: l, condition: score > 0 ? CONDITIONS[which]! : null };
  }

  /**
   * The daily profile has just come into full use (its second day). The variances, persistence
   * and calibrators learnt so far were learnt on values with the daily cycle still in them: at a
   * reading every few minutes their memory spans days, and they would keep the cycle's spread for
   * a week, hiding everything smaller than it. They learn again from the de-seasonalised values
   * (the level and the profile are kept); at fast sampling their memory forgot those days long ago
   * and this changes nothing that matters.
   */
  private settleSeason(): void {
    this.seasonSettled = true;
    if (this.o.memory * this.interval < DAY / 4) return;
    this.nVar = 0;
    for (const c of this.cal) c.reset();
  }

  /** Variance floor: the sensor's quantisation (q²/12), or a part in 10¹² of the level. */
  private floor(): number {
    const q = Number.isFinite(this.quantum) ? (this.quantum * this.quantum) / 12 : 0;
    const rel = this.m * 1e-12;
    return Math.max(q, rel * rel, 1e-300);
  }

  /**
   * A persistent change is a new regime: remember the one left (when it was learnt), then start
   * over as a new point would, from the current value, keeping only the sensor's properties.
   */
  private relearn(ts: number, x: number): void {
    if (this.n > this.o.warmup) this.remember(this.m, this.varE, this.phi);
    this.varE = this.varT = this.c0 = this.c1 = this.phi = this.prevSlope = 0;
    this.mS = this.fastS = this.varD = this.varDS = this.varSl = this.shortE = 0;
    this.trend = false;
    this.clippedOff = 0;
    this.nVar = 0;
    this.seasonSettled = false;
    this.clearStretch();
    this.season.fill(0);
    this.visits.fill(0);
    for (const c of this.cal) c.reset();
    // The triggering reading is the new regime's first.
    this.n = 1;
    this.startTs = ts;
    this.m = this.prev = this.fast = this.slow = x;
  }

  private remember(m: number, varE: number, phi: number): void {
    const R = this.regimes;
    // Shift the older ones down; the newest goes first.
    R.copyWithin(REGIME_FIELDS, 0, (REMEMBERED - 1) * REGIME_FIELDS);
    R[0] = m;
    R[1] = varE;
    R[2] = phi;
  }

  /**
   * An unusual stretch ended and the point is back in its regime. When the stretch was a plateau
   * (at least 3 fast spans long, its own spread under half its distance from the level)
   * it was a regime of its own, too short to be relearnt: a pump that ran for a few hours, a
   * working day. It is remembered, so its next occurrence is recognised instead of alarmed on.
   */
  private endStretch(): void {
    const n = this.outCount;
    if (n >= 3 * this.o.fastSpan && this.n > this.o.warmup) {
      const v = this.outM2 / (n - 1);
      const shift = this.outMean - this.m;
      if (4 * v < shift * shift) this.remember(this.outMean, Math.max(v, this.floor()) * (1 - this.phi * this.phi), this.phi);
    }
    this.clearStretch();
  }

  /**
   * The relearn rule, for one more unusual reading: true when the stretch is a new regime. A new
   * regime is one the process has SETTLED in: its fast average has stayed within ±4 σ of the
   * stretch's own noise (σ² from the mean squared change between readings, halved) for
   * `relearnAfter` ms and `relearnMin` readings; a transient still under way restarts that clock,
   * so a well shutting in over two hours alarms for all of it, and a set point change that
   * settled is learnt an hour later. Whatever it does, a stretch is learnt after four times
   * `relearnAfter` (and `relearnMin` readings): a process that never settles (a random walk
   * wandering away) must not alarm for ever.
   */
  private settling(ts: number, xd: number): boolean {
    if (this.outCount > 1) this.outDiff2 += ((xd - this.prev) ** 2 - this.outDiff2) / (this.outCount - 1);
    const sd = Math.sqrt(this.outDiff2 / 2);
    if (Number.isNaN(this.calmSince) || this.fast < this.calmHi - 8 * sd || this.fast > this.calmLo + 8 * sd) {
      this.calmSince = ts;
      this.calmCount = 0;
      this.calmLo = this.calmHi = this.fast;
    }
    if (this.fast < this.calmLo) this.calmLo = this.fast;
    if (this.fast > this.calmHi) this.calmHi = this.fast;
    this.calmCount++;
    const o = this.o;
    if (this.calmCount >= o.relearnMin && ts - this.calmSince >= o.relearnAfter) return true;
    return this.outCount >= o.relearnMin && ts - this.outSince >= 4 * o.relearnAfter;
  }

  private clearStretch(): void {
    this.outSince = NaN;
    this.outCount = 0;
    this.calmSince = NaN;
    this.calmCount = 0;
    this.outDiff2 = 0;
    this.outMean = this.outM2 = 0;
  }

  /**
   * When the reading fits a remembered regime (within its own spread: |z| < 1.64, p ≥ 0.1),
   * swap them: the current regime is remembered and the returning one's level and noise take
   * over. Calibrators are shared: their statistics are ratios, the same in every regime of a point.
   */
  private returnToRegime(xd: number): boolean {
    if (this.n <= this.o.warmup) return false;
    const R = this.regimes;
    for (let k = 0; k < REMEMBERED; k++) {
      const o = k * REGIME_FIELDS;
      const m = R[o]!;
      if (Number.isNaN(m)) continue;
      const varE = R[o + 1]!;
      const phi = R[o + 2]!;
      const spread = Math.max(varE / Math.max(1e-3, 1 - phi * phi), this.floor());
      if ((xd - m) * (xd - m) > 2.7 * spread) continue;
      R[o] = this.m;
      R[o + 1] = this.varE;
      R[o + 2] = this.phi;
      this.m = m;
      this.varE = varE;
      this.phi = phi;
      this.prev = this.fast = this.slow = xd;
      this.prevSlope = 0;
      this.trend = false;
      this.shortE = varE;
      this.clearStretch();
      return true;
    }
    return false;
  }

  private seasonWeight(ts: number): number {
    if (this.season.length === 0 || Number.isNaN(this.startTs)) return 0;
    return clamp((ts - this.startTs - DAY) / DAY, 0, 1);
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

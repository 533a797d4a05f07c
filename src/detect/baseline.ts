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
import type { Quality } from '../shared/reading.js';
import { CALIBRATOR_DOUBLES, CALIBRATOR_FLOATS, TailCalibrator, combineDecades, scoreOfDecades } from './calibrate.js';
import { ruleFinding, type Finding, type PointDetector } from './detector.js';

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
/**
 * A reading this close to one typical interval after the last (a part in JITTER either way) is
 * one interval after it: a poll a few milliseconds late is the scheduler's jitter, not time the
 * process had to relax. φʳ then is φ, where a live agent's jittered timestamps cost a Math.pow per
 * reading (issue 15: 3 % of the 5,000-point agent's CPU in `perf`). At φ = 0.9 and 5 % late the
 * prediction's weight on the last value would move from 0.900 to 0.895. Gaps (r ≥ 1.05) and
 * bursts (r ≤ 0.95) are judged by the time that passed, as before.
 */
const JITTER = 0.05;
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

/**
 * A statistic whose tail probability is at least this needs no exact figure (calibrate.ts:
 * decades): at most 0.60 decades, it can neither make a score (combineDecades takes log10(STATS) =
 * 0.70 decades off the largest) nor make a reading unusual (the gate) or less than ordinary
 * (SOFT_DECADES), so 0 stands for it and the findings are the same to the bit.
 */
const ORDINARY = 0.25;

/** Regimes remembered besides the current one. */
const REMEMBERED = 2;
/** Per remembered regime: level, innovation variance, φ. */
const REGIME_FIELDS = 3;

/** Where the daily profile starts in the float32 block, after the calibrators' histograms (statistic k's in slot k). */
const SEASON_AT = STATS * CALIBRATOR_FLOATS;
/** Where the remembered regimes start in the float64 block, after the calibrators' scalars. */
const REGIMES_AT = STATS * CALIBRATOR_DOUBLES;
/** The model's own numbers, after the regimes in the float64 block (see the class's fields). */
const MODEL_AT = REGIMES_AT + REMEMBERED * REGIME_FIELDS;
const F = {
  // The current regime's model.
  n: MODEL_AT, // good readings since the regime started
  nVar: MODEL_AT + 1, // readings the variances and persistence have learnt from (see settleSeason)
  startTs: MODEL_AT + 2,
  m: MODEL_AT + 3, // level of the de-seasonalised value
  prev: MODEL_AT + 4, // previous de-seasonalised value
  prevSlope: MODEL_AT + 5, // (prev - the one before) per ms
  varE: MODEL_AT + 6, // innovation variance of the mean-reverting predictor
  varT: MODEL_AT + 7, // innovation variance of the local-trend predictor
  c0: MODEL_AT + 8, // var of x₋₁ - m   (for φ)
  c1: MODEL_AT + 9, // cov of x - m, x₋₁ - m
  phi: MODEL_AT + 10,
  fast: MODEL_AT + 11, // robust averages of the value (fast, slow) and of the slope
  slow: MODEL_AT + 12,
  clippedOff: MODEL_AT + 13, // what the last reading's clip took away from the averages
  fastS: MODEL_AT + 14,
  mS: MODEL_AT + 15, // mean slope (per typical interval)
  varD: MODEL_AT + 16, // variances of fast - m, slow - m, fastS - mS
  varDS: MODEL_AT + 17,
  varSl: MODEL_AT + 18,
  shortE: MODEL_AT + 19, // recent mean of the (capped) squared innovation
  // The unusual stretch in progress: since when, how many readings, their mean and spread.
  outSince: MODEL_AT + 20,
  outCount: MODEL_AT + 21,
  outMean: MODEL_AT + 22,
  outM2: MODEL_AT + 23,
  // The stretch's settling clock: since when its fast average has stayed within a band of a few
  // of its own noise σ (a transient still moving restarts it), and the band's ends.
  calmSince: MODEL_AT + 24,
  calmCount: MODEL_AT + 25,
  calmLo: MODEL_AT + 26,
  calmHi: MODEL_AT + 27,
  outDiff2: MODEL_AT + 28, // mean squared change between the stretch's readings (its noise scale)
  // The sensor's own properties, kept across regimes.
  quantum: MODEL_AT + 29, // smallest non-zero step seen: the sensor's resolution
  lastRaw: MODEL_AT + 30,
  interval: MODEL_AT + 31, // typical time between readings, ms
  lastTs: MODEL_AT + 32,
} as const;
const DOUBLES = MODEL_AT + 33;
const STAT = new Float64Array(STATS);
const DEC = new Float64Array(STATS);
/** The finding of a reading no statistic finds unusual (score 0), shared: a Finding is never mutated. */
const NOTHING = ruleFinding('baseline', null);

export class BaselineDetector implements PointDetector {
  // On the prototype, not a field: a field costs every point 8 bytes (issue 15).
  get kind(): 'baseline' {
    return 'baseline';
  }
  // The current regime's model.
  private seasonSettled = false;
  private trend = false; // the local-trend predictor judges
  // One block per point (see CalibratorStorage: a point's state is two typed arrays on one
  // ArrayBuffer, not dozens of small objects), allocated once:
  // - float64: the calibrators' scalars, the remembered regimes (REGIMES_AT), the model's numbers
  //   (F: a class field holding a double costs V8 a boxed number each);
  // - float32: the calibrators' histograms, then the daily profile's offsets per bucket, from
  //   SEASON_AT.
  // The slope's calibrator is there from the start, though only smooth signals use it (392 bytes
  // a point). The block used to grow to hold it the first time the trend predictor took over, and
  // each copy left the old block behind in the C heap: the points of a smooth device all switch
  // within seconds, and the holes between their new blocks were never reused (issue 15: ~2 KB of
  // resident memory a point, 10 MB at 5,000 points).
  private readonly floats: Float32Array;
  private readonly d: Float64Array;
  /** What every detector with the same options shares (see shapeOf). */
  private readonly shape: Shape;

  constructor(private readonly o: BaselineOptions = BASELINE_DEFAULTS) {
    const buckets = Math.max(0, o.seasonBuckets);
    const block = new ArrayBuffer(DOUBLES * 8 + (SEASON_AT + buckets) * 4);
    this.d = new Float64Array(block, 0, DOUBLES);
    this.floats = new Float32Array(block, DOUBLES * 8, SEASON_AT + buckets);
    for (const f of ['startTs', 'outSince', 'calmSince', 'lastRaw', 'interval', 'lastTs'] as const) this.d[F[f]] = NaN;
    this.d[F.quantum] = Infinity;
    // Regimes left behind: REGIME_FIELDS numbers each, NaN level when the slot is empty.
    this.d.fill(NaN, REGIMES_AT, MODEL_AT);
    this.shape = shapeOf(o);
    for (let k = 0; k < STATS; k++) this.cal(k).reset();
  }

  /**
   * Statistic k's calibrator on this point's storage: one object per shape and statistic
   * (shapeOf), bound to this detector's block before each use: update() never re-enters, and
   * nothing keeps a calibrator between calls.
   */
  private cal(k: number): TailCalibrator {
    return this.shape.shared[k]!.bind(this.floats, this.d);
  }

  /** Time-of-day buckets of the seasonal profile (the float32 block's end). */
  private get buckets(): number {
    return this.floats.length - SEASON_AT;
  }

  tick(): Finding | null {
    return null;
  }

  update(ts: number, x: number, quality: Quality): Finding | null {
    if (quality !== 'good' || !Number.isFinite(x)) return null;
    const dt = ts - this.d[F.lastTs]!;
    // The typical interval learns from ordinary intervals, not from gaps.
    if (dt > 0)
      this.d[F.interval] = Number.isNaN(this.d[F.interval]!)
        ? dt
        : this.d[F.interval]! + 0.01 * (Math.min(dt, 4 * this.d[F.interval]!) - this.d[F.interval]!);
    this.d[F.lastTs] = ts;
    const step = Math.abs(x - this.d[F.lastRaw]!);
    if (step > 0 && step < this.d[F.quantum]!) this.d[F.quantum] = step;
    this.d[F.lastRaw] = x;

    if (this.d[F.n]! === 0) this.d[F.startTs] = ts;
    this.d[F.n]!++;
    const sw = this.seasonWeight(ts);
    const xd = x - (sw > 0 ? sw * this.seasonAt(ts) : 0);
    if (this.d[F.n]! === 1) {
      this.d[F.m] = this.d[F.prev] = this.d[F.fast] = this.d[F.slow] = xd;
      return null;
    }
    if (!this.seasonSettled && sw >= 1) this.settleSeason();
    const a = Math.max(1 / this.d[F.n]!, 1 / this.o.memory);
    this.d[F.nVar]!++;
    const av = Math.max(1 / this.d[F.nVar]!, 1 / this.o.memory);
    const settled = this.d[F.n]! > this.o.warmup / 3;

    // Predictions. r: typical intervals since the last reading, 1 within a poll's jitter (JITTER).
    const rAt = dt > 0 && this.d[F.interval]! > 0 ? dt / this.d[F.interval]! : 1;
    const r = rAt > 1 - JITTER && rAt < 1 + JITTER ? 1 : rAt;
    const phiR = r === 1 ? this.d[F.phi]! : Math.pow(this.d[F.phi]!, r);
    const grow = this.d[F.phi]! < 1 ? (1 - phiR * phiR) / (1 - this.d[F.phi]! * this.d[F.phi]!) : r;
    const e = xd - this.d[F.m]! - phiR * (this.d[F.prev]! - this.d[F.m]!); // mean-reverting innovation
    const en2 = (e * e) / Math.max(grow, 1e-9); // …per one typical interval
    const slope = dt > 0 ? (xd - this.d[F.prev]!) / dt : 0;
    const et = dt > 0 ? (slope - this.d[F.prevSlope]!) * this.d[F.interval]! : 0; // local-trend innovation
    const et2 = (et * et) / Math.max(1, r);
    const v = this.trend ? this.d[F.varT]! : this.d[F.varE]!;
    const inno = this.trend ? et : e;
    const inno2 = this.trend ? et2 : en2;
    const floor = this.floor();

    // Robust averages: each reading enters clipped to its prediction ± CLIP σ.
    const lim = settled && v > 0 ? CLIP * Math.sqrt(v * Math.max(1, this.trend ? r : grow)) : Infinity;
    let xc = inno > lim ? xd - inno + lim : inno < -lim ? xd - inno - lim : xd;
    // A clipped reading confirmed by the next one (which lands near it, not back where it came
    // from) was a step, not a spike: what the clip took away is given back, one reading late.
    const giveBack = this.d[F.clippedOff]! !== 0 && Math.abs(xd - this.d[F.prev]!) < lim ? this.d[F.clippedOff]! : 0;
    this.d[F.clippedOff] = xd - xc;
    xc += giveBack;
    this.d[F.fast]! += this.shape.aFast * (xc - this.d[F.fast]!);
    this.d[F.slow]! += this.shape.aSlow * (xc - this.d[F.slow]!);
    const stepNow = slope * this.d[F.interval]!;
    const limS = settled && this.d[F.varT]! > 0 ? CLIP * Math.sqrt(this.d[F.varT]!) : Infinity;
    const ds = stepNow - this.d[F.prevSlope]! * this.d[F.interval]!;
    this.d[F.fastS]! +=
      this.shape.aFast * (stepNow - ds + (ds > limS ? limS : ds < -limS ? -limS : ds) - this.d[F.fastS]!);
    const cap = settled && v > 0 ? CLIP * CLIP * v : Infinity;
    this.d[F.shortE]! += this.shape.aNoise * ((inno2 < cap ? inno2 : cap) - this.d[F.shortE]!);

    // Statistics and their tail probabilities (in decades).
    const d = this.d[F.fast]! - this.d[F.m]!;
    // The slow deviation counts only as far as the fast one still supports it: the drift
    // statistic sees a shift that is still there now, not the slow average's memory of one that
    // ended tens of readings ago.
    const ddRaw = this.d[F.slow]! - this.d[F.m]!;
    const dd = ddRaw > 0 ? Math.min(ddRaw, Math.max(0, d)) : Math.max(ddRaw, Math.min(0, d));
    const dS = this.d[F.fastS]! - this.d[F.mS]!;
    const nEff = Math.min(this.d[F.n]!, 2 * this.o.memory);
    const st = STAT;
    st[SPIKE] = ratio(inno2, Math.max(v, floor));
    st[LEVEL] = levelForHistory(
      ratio(d * d, Math.max(this.d[F.varD]!, floor * this.shape.aFast)),
      nEff,
      this.d[F.phi]!,
    );
    st[DRIFT] = levelForHistory(
      ratio(dd * dd, Math.max(this.d[F.varDS]!, floor * this.shape.aSlow)),
      nEff,
      this.d[F.phi]!,
    );
    st[SLOPE] = this.trend ? ratio(dS * dS, Math.max(this.d[F.varSl]!, floor * this.shape.aFast)) : 0;
    st[NOISE] = ratio(this.d[F.shortE]!, Math.max(v, floor));
    const warm = this.d[F.n]! <= this.o.warmup;
    // The statistic that finds this reading most unusual (the first of equals), and by how much.
    const which = this.judgeStats();
    let worst = DEC[which]!;
    let unusual = !warm && worst > this.shape.gateDecades;
    let switched = false;
    if (unusual && this.returnToRegime(xd)) {
      // Back in a regime seen before: judged by it from now on, this reading included (its
      // statistics, computed against the regime left, teach nothing).
      DEC.fill(0);
      worst = 0;
      unusual = false;
      switched = true;
    }

    if (!unusual) {
      if (this.d[F.outCount]! > 0) this.endStretch();
      // Variances and persistence learn only from ordinary readings once the model has settled
      // (every p above 0.1: a truncated estimate, biased low by a constant factor which the
      // calibrators absorb). Clipping instead would not do: a drift creeping in just under the
      // clip would inflate the variance a little every reading, compounding, and never alarm.
      const ordinary = !settled || worst < SOFT_DECADES;
      const dev = xd - this.d[F.m]!;
      const pdev = this.d[F.prev]! - this.d[F.m]!;
      this.d[F.m]! += a * dev;
      if (this.d[F.n]! > 2) this.d[F.mS]! += a * (stepNow - this.d[F.mS]!);
      if (ordinary && r <= 2) {
        this.d[F.c0]! += av * (pdev * pdev - this.d[F.c0]!);
        this.d[F.c1]! += av * (dev * pdev - this.d[F.c1]!);
        this.d[F.phi] = this.d[F.c0]! > 0 ? clamp(this.d[F.c1]! / this.d[F.c0]!, 0, 0.98) : 0;
      }
      if (ordinary) {
        this.d[F.varE]! += av * (en2 - this.d[F.varE]!);
        if (this.d[F.n]! > 2) this.d[F.varT]! += av * (et2 - this.d[F.varT]!);
        this.d[F.varD]! += av * (d * d - this.d[F.varD]!);
        this.d[F.varDS]! += av * (ddRaw * ddRaw - this.d[F.varDS]!);
        this.d[F.varSl]! += av * (dS * dS - this.d[F.varSl]!);
        // Switch predictors once the variances have settled, and only on a clear difference, so
        // the choice does not flap.
        if (
          settled &&
          (this.trend ? this.d[F.varE]! < 0.7 * this.d[F.varT]! : this.d[F.varT]! < 0.7 * this.d[F.varE]!)
        ) {
          this.trend = !this.trend;
          this.d[F.shortE] = this.trend ? this.d[F.varT]! : this.d[F.varE]!;
        }
      }
      // Calibrators learn only from statistics of a settled model: the first readings' tiny
      // variances would give huge statistics that make everything later look ordinary.
      if (settled && !switched) this.teachStats();
      this.learnSeason(ts, x);
    } else {
      this.holdStats();
      if (Number.isNaN(this.d[F.outSince]!)) this.d[F.outSince] = ts;
      this.d[F.outCount]!++;
      if (this.settling(ts, xd)) {
        this.relearn(ts, x);
        return null;
      }
      const dm = xd - this.d[F.outMean]!;
      this.d[F.outMean]! += dm / this.d[F.outCount]!;
      this.d[F.outM2]! += dm * (xd - this.d[F.outMean]!);
    }
    this.d[F.prev] = xd;
    this.d[F.prevSlope] = slope;
    if (warm) return null;

    const l = combineDecades(DEC[which]!, STATS);
    // Most readings of a normal point: nothing to report, and the same finding every time.
    if (l === 0) return NOTHING;
    const score = scoreOfDecades(l);
    return {
      kind: 'baseline',
      score,
      decades: l,
      condition: score > 0 ? CONDITIONS[which]! : null,
    };
  }

  // The calibrators' part of update(), in methods of their own that take and return no numbers
  // (STAT and DEC carry them): V8 inlines only so much into one optimised function, and update()
  // is large. A number passed to or returned from a call that is not inlined is a heap object, a
  // few per statistic per reading (issue 15: garbage at 5,000 points a second).

  /**
   * DEC[k]: statistic k's value STAT[k] as decades of surprise by its calibrator (the slope's 0 unless
   * the trend predictor judges).
   * Returns the statistic with the most (the first of equals). Also keeps loops out of update():
   * V8 compiled a loop there on its own (on-stack replacement) during the warm-up, with no
   * feedback yet for the code after it, and re-entered that compiled loop to deoptimise again on
   * every reading for a while after the warm-up (thousands of deoptimisations, `--trace-deopt`).
   */
  private judgeStats(): number {
    let which = 0;
    for (let k = 0; k < STATS; k++) {
      // The slope statistic is 0 unless the trend predictor judges: 0 decades, without the call.
      DEC[k] = k === SLOPE && !this.trend ? 0 : this.cal(k).decades(STAT[k]!, ORDINARY);
      if (DEC[k]! > DEC[which]!) which = k;
    }
    return which;
  }

  /** An ordinary reading: each calibrator learns its statistic (the slope's only while the trend predictor judges). */
  private teachStats(): void {
    for (let k = 0; k < STATS; k++) if (k !== SLOPE || this.trend) this.cal(k).learn(STAT[k]!, DEC[k]!);
  }

  /** An unusual reading: each calibrator holds its statistic back (calibrate.ts: learn). */
  private holdStats(): void {
    for (let k = 0; k < STATS; k++) this.cal(k).hold(STAT[k]!, DEC[k]!);
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
    if (this.o.memory * this.d[F.interval]! < DAY / 4) return;
    this.d[F.nVar] = 0;
    for (let k = 0; k < STATS; k++) this.cal(k).reset();
  }

  /** Variance floor: the sensor's quantisation (q²/12), or a part in 10¹² of the level. */
  private floor(): number {
    const q = Number.isFinite(this.d[F.quantum]!) ? (this.d[F.quantum]! * this.d[F.quantum]!) / 12 : 0;
    const rel = this.d[F.m]! * 1e-12;
    return Math.max(q, rel * rel, 1e-300);
  }

  /**
   * A persistent change is a new regime: remember the one left (when it was learnt), then start
   * over as a new point would, from the current value, keeping only the sensor's properties.
   */
  private relearn(ts: number, x: number): void {
    if (this.d[F.n]! > this.o.warmup) this.remember(this.d[F.m]!, this.d[F.varE]!, this.d[F.phi]!);
    this.d[F.varE] = this.d[F.varT] = this.d[F.c0] = this.d[F.c1] = this.d[F.phi] = this.d[F.prevSlope] = 0;
    this.d[F.mS] = this.d[F.fastS] = this.d[F.varD] = this.d[F.varDS] = this.d[F.varSl] = this.d[F.shortE] = 0;
    this.trend = false;
    this.d[F.clippedOff] = 0;
    this.d[F.nVar] = 0;
    this.seasonSettled = false;
    this.clearStretch();
    this.floats.fill(0, SEASON_AT);
    for (let k = 0; k < STATS; k++) this.cal(k).reset();
    // The triggering reading is the new regime's first.
    this.d[F.n] = 1;
    this.d[F.startTs] = ts;
    this.d[F.m] = this.d[F.prev] = this.d[F.fast] = this.d[F.slow] = x;
  }

  private remember(m: number, varE: number, phi: number): void {
    const R = this.d;
    // Shift the older ones down; the newest goes first.
    R.copyWithin(REGIMES_AT + REGIME_FIELDS, REGIMES_AT, REGIMES_AT + (REMEMBERED - 1) * REGIME_FIELDS);
    R[REGIMES_AT] = m;
    R[REGIMES_AT + 1] = varE;
    R[REGIMES_AT + 2] = phi;
  }

  /**
   * An unusual stretch ended and the point is back in its regime. When the stretch was a plateau
   * (at least 3 fast spans long, its own spread under half its distance from the level)
   * it was a regime of its own, too short to be relearnt: a pump that ran for a few hours, a
   * working day. It is remembered, so its next occurrence is recognised instead of alarmed on.
   */
  private endStretch(): void {
    const n = this.d[F.outCount]!;
    if (n >= 3 * this.o.fastSpan && this.d[F.n]! > this.o.warmup) {
      const v = this.d[F.outM2]! / (n - 1);
      const shift = this.d[F.outMean]! - this.d[F.m]!;
      if (4 * v < shift * shift)
        this.remember(
          this.d[F.outMean]!,
          Math.max(v, this.floor()) * (1 - this.d[F.phi]! * this.d[F.phi]!),
          this.d[F.phi]!,
        );
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
    if (this.d[F.outCount]! > 1)
      this.d[F.outDiff2]! += ((xd - this.d[F.prev]!) ** 2 - this.d[F.outDiff2]!) / (this.d[F.outCount]! - 1);
    const sd = Math.sqrt(this.d[F.outDiff2]! / 2);
    if (
      Number.isNaN(this.d[F.calmSince]!) ||
      this.d[F.fast]! < this.d[F.calmHi]! - 8 * sd ||
      this.d[F.fast]! > this.d[F.calmLo]! + 8 * sd
    ) {
      this.d[F.calmSince] = ts;
      this.d[F.calmCount] = 0;
      this.d[F.calmLo] = this.d[F.calmHi] = this.d[F.fast]!;
    }
    if (this.d[F.fast]! < this.d[F.calmLo]!) this.d[F.calmLo] = this.d[F.fast]!;
    if (this.d[F.fast]! > this.d[F.calmHi]!) this.d[F.calmHi] = this.d[F.fast]!;
    this.d[F.calmCount]!++;
    const o = this.o;
    if (this.d[F.calmCount]! >= o.relearnMin && ts - this.d[F.calmSince]! >= o.relearnAfter) return true;
    return this.d[F.outCount]! >= o.relearnMin && ts - this.d[F.outSince]! >= 4 * o.relearnAfter;
  }

  private clearStretch(): void {
    this.d[F.outSince] = NaN;
    this.d[F.outCount] = 0;
    this.d[F.calmSince] = NaN;
    this.d[F.calmCount] = 0;
    this.d[F.outDiff2] = 0;
    this.d[F.outMean] = this.d[F.outM2] = 0;
  }

  /**
   * When the reading fits a remembered regime (within its own spread: |z| < 1.64, p ≥ 0.1),
   * swap them: the current regime is remembered and the returning one's level and noise take
   * over. Calibrators are shared: their statistics are ratios, the same in every regime of a point.
   */
  private returnToRegime(xd: number): boolean {
    if (this.d[F.n]! <= this.o.warmup) return false;
    const R = this.d;
    for (let k = 0; k < REMEMBERED; k++) {
      const o = REGIMES_AT + k * REGIME_FIELDS;
      const m = R[o]!;
      if (Number.isNaN(m)) continue;
      const varE = R[o + 1]!;
      const phi = R[o + 2]!;
      const spread = Math.max(varE / Math.max(1e-3, 1 - phi * phi), this.floor());
      if ((xd - m) * (xd - m) > 2.7 * spread) continue;
      R[o] = this.d[F.m]!;
      R[o + 1] = this.d[F.varE]!;
      R[o + 2] = this.d[F.phi]!;
      this.d[F.m] = m;
      this.d[F.varE] = varE;
      this.d[F.phi] = phi;
      this.d[F.prev] = this.d[F.fast] = this.d[F.slow] = xd;
      this.d[F.prevSlope] = 0;
      this.trend = false;
      this.d[F.shortE] = varE;
      this.clearStretch();
      return true;
    }
    return false;
  }

  private seasonWeight(ts: number): number {
    if (this.buckets === 0 || Number.isNaN(this.d[F.startTs]!)) return 0;
    return clamp((ts - this.d[F.startTs]! - DAY) / DAY, 0, 1);
  }

  private bucketPos(ts: number): number {
    const t = (((ts % DAY) + DAY) % DAY) / DAY; // fraction of the (UTC) day
    return t * this.buckets - 0.5; // bucket centres at integer positions
  }

  private seasonAt(ts: number): number {
    const B = this.buckets;
    const pos = this.bucketPos(ts);
    const i0 = Math.floor(pos);
    const f = pos - i0;
    const a = this.floats[SEASON_AT + ((i0 + B) % B)]!;
    const b = this.floats[SEASON_AT + ((i0 + 1) % B)]!;
    return a + f * (b - a);
  }

  private learnSeason(ts: number, x: number): void {
    const B = this.buckets;
    if (B === 0 || !(this.d[F.interval]! > 0)) return;
    const pos = this.bucketPos(ts) + 0.5;
    const b = SEASON_AT + ((Math.floor(pos) + B) % B);
    // Each bucket averages what it saw over about three days: on its first day a running mean of
    // its readings (1/k for the k-th), then the weight of three days' worth. (Counting from the
    // regime's start rather than per bucket keeps the profile to one array.)
    const perDay = Math.max(1, DAY / B / this.d[F.interval]!);
    const days = Math.max(0, (ts - this.d[F.startTs]!) / DAY);
    const k = days < 1 ? 1 + (pos - Math.floor(pos)) * perDay : perDay * Math.min(3, days);
    this.floats[b]! += (x - this.d[F.m]! - this.floats[b]!) / k;
  }
}

/** Constants derived from a detector's options, shared by every detector made with them. */
interface Shape {
  readonly aFast: number;
  readonly aSlow: number;
  readonly aNoise: number;
  /** The gate in decades (-log10 gate): a reading above it on any statistic is unusual. */
  readonly gateDecades: number;
  /** Per statistic, the calibrator every detector of this shape binds to its own block. */
  readonly shared: readonly TailCalibrator[];
}

// Keyed by the values, not the object: a point with overrides has options of its own (optionsFor,
// pointOptions), and there are only ever a handful of distinct settings.
const shapes = new Map<string, Shape>();

function shapeOf(o: BaselineOptions): Shape {
  const key = `${o.memory}|${o.warmup}|${o.fastSpan}|${o.noiseSpan}|${o.gate}`;
  let shape = shapes.get(key);
  if (!shape) {
    const memory = o.memory * 2;
    const minCount = Math.max(10, Math.floor(o.warmup / 3));
    // A rare run longer than three times the statistic's own smoothing span is not an excursion.
    const spans = [1, o.fastSpan, DRIFT_SPAN * o.fastSpan, o.fastSpan, o.noiseSpan];
    // The shape's calibrators are made on one block of their own, each at its slot's offsets (a
    // shape's first binding replaces it).
    const floats = new Float32Array(STATS * CALIBRATOR_FLOATS);
    const doubles = new Float64Array(STATS * CALIBRATOR_DOUBLES);
    const calibrators = spans.map((span, k) => ({
      memory,
      minCount,
      gate: o.gate,
      maxRun: Math.max(8, 3 * span),
      margin: k === DRIFT ? DRIFT_MARGIN : 1,
    }));
    shape = {
      aFast: 2 / (o.fastSpan + 1),
      aSlow: 2 / (DRIFT_SPAN * o.fastSpan + 1),
      aNoise: 2 / (o.noiseSpan + 1),
      gateDecades: -Math.log10(o.gate),
      shared: calibrators.map(
        (opts, k) =>
          new TailCalibrator(opts, {
            floats,
            floatsAt: k * CALIBRATOR_FLOATS,
            doubles,
            doublesAt: k * CALIBRATOR_DOUBLES,
          }),
      ),
    };
    shapes.set(key, shape);
  }
  return shape;
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

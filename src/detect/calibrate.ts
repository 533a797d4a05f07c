/**
 * Calibration: turns a non-negative "unusualness" statistic (a squared standardised residual, a
 * T², a variance ratio…) into a tail probability learned from the statistic's OWN past, and that
 * probability into a score in [0, 1] that means the same thing on every point.
 *
 * Why empirical: real residuals are not Gaussian and, after smoothing, not independent, so a
 * textbook chi-square p-value would be wrong in a different way on every point. Instead each
 * statistic keeps a decaying histogram of its past values (an online empirical CDF, the idea behind
 * conformal p-values) and, beyond the top few per cent of what it has seen, an exponential tail
 * fitted to the excesses over that quantile (peaks-over-threshold, as in SPOT: Siffer et al.,
 * "Anomaly detection in streams with extreme value theory", KDD 2017). The tail lets a detector
 * say "one in a million" after seeing a few hundred values.
 *
 * How much to trust that tail depends on how many INDEPENDENT exceedances it was fitted to, and a
 * smoothed statistic (a level over ten readings, a noise over thirty, a T² of smoothed rows)
 * exceeds its threshold in runs: 400 exceedances in runs of 20 are 20 looks at the tail. So the
 * calibrator counts exceedance episodes (runs above u, the "runs" declustering of extreme-value
 * theory) and uses the Bayesian predictive tail of an exponential whose scale is known from k
 * episodes: a Lomax, p = q·(1 + (s - u)/(k·β))^(-k), which is the exponential for large k and
 * heavier when k is small. No knob: k is counted. Effect: a statistic with a short or clustered
 * history cannot call its next excursion "one in a million" (on SKAB this took the false-alarm
 * rate from 18.7 % to 12.3 %); with thousands of independent values nothing changes.
 *
 * Worked example: after 1000 values of z² from a Gaussian, the top 2 % start near u ≈ 5.4 and
 * their mean excess is β ≈ 2, in about k = 20 episodes, so z = 4 (s = 16) gets
 * p = 0.02·(1 + (16 - 5.4)/(20·2))^(-20) ≈ 1.8e-4, score 0.62 (the exponential: 1.0e-4); at z = 6
 * the two part: 2.3e-7 against 4.5e-9.
 *
 * Bounded: 64 bins and a few numbers whatever runs through it. Deterministic: plain arithmetic, no randomness.
 */

/** A score of 1 means p ≤ 10^-SCORE_DECADES. */
export const SCORE_DECADES = 6;

export function scoreOf(p: number): number {
  if (!(p < 1)) return 0;
  if (!(p > 0)) return 1;
  const s = -Math.log10(p) / SCORE_DECADES;
  return s > 1 ? 1 : s;
}

/** The p-value a score stands for (inverse of scoreOf, for thresholds written as scores). */
export function pOf(score: number): number {
  return Math.pow(10, -score * SCORE_DECADES);
}

/**
 * Bonferroni: the smallest of `k` p-values, corrected so that the combined p stays a valid bound
 * whatever the dependence between them. Keeps "one threshold for everything" honest when a row is
 * judged by many statistics at once.
 */
export function combineP(minP: number, k: number): number {
  const p = minP * k;
  return p > 1 ? 1 : p;
}

const BINS = 64;
const LO = 1e-4; // bin 0 holds [0, LO)
const HI = 1e8; // the last bin holds [HI, ∞)
const LOG_LO = Math.log(LO);
const STEP = (Math.log(HI) - LOG_LO) / (BINS - 2); // bins 1..BINS-2 are log-spaced
const RESCALE_AT = 1e150;

function lowerEdge(b: number): number {
  return b <= 0 ? 0 : Math.exp(LOG_LO + (b - 1) * STEP);
}

function binOf(s: number): number {
  if (!(s >= LO)) return 0;
  const b = 1 + Math.floor((Math.log(s) - LOG_LO) / STEP);
  return b > BINS - 1 ? BINS - 1 : b;
}

export interface CalibratorOptions {
  /** Effective memory in observations (older values fade with weight (1 - 1/memory)^age). */
  readonly memory: number;
  /** Observations needed before p-values are given (until then p = 1). */
  readonly minCount: number;
}

export class TailCalibrator {
  private readonly bins = new Float64Array(BINS);
  private total = 0;
  private weight = 1;
  private readonly growth: number;
  private count = 0;
  // Cached tail fit, refreshed every few observations: threshold u, mass above it q, mean excess β.
  private u = 0;
  private q = 1;
  private beta = 1;
  private stale = true;
  // Declustering: decayed count of exceedance episodes (runs above u), same weights as the bins.
  private runs = 0;
  private wasAbove = false;
  private lastWeight = 1; // weight of the newest observation
  private shape = Infinity; // independent exceedances behind the tail fit (see fitTail)

  constructor(private readonly opts: CalibratorOptions) {
    // Decay without touching every bin: new observations weigh more and more, and the whole
    // histogram is rescaled now and then (same result as multiplying every bin by 1 - 1/memory).
    this.growth = 1 / (1 - 1 / Math.max(2, opts.memory));
  }

  get observations(): number {
    return this.count;
  }

  get ready(): boolean {
    return this.count >= this.opts.minCount;
  }

  observe(s: number): void {
    if (!(s >= 0)) return; // NaN and negatives are not statistics
    this.bins[binOf(s)]! += this.weight;
    this.total += this.weight;
    if (this.stale && this.count > 0) this.fitTail();
    const above = this.count > 0 && s > this.u;
    if (above && !this.wasAbove) this.runs += this.weight;
    this.wasAbove = above;
    this.lastWeight = this.weight;
    this.weight *= this.growth;
    if (this.weight > RESCALE_AT) {
      const k = 1 / this.weight;
      for (let i = 0; i < BINS; i++) this.bins[i]! *= k;
      this.total *= k;
      this.runs *= k;
      this.lastWeight *= k;
      this.weight = 1;
    }
    this.count++;
    if ((this.count & 7) === 0 || this.count < 64) this.stale = true;
  }

  /**
   * Learn from `s` unless it is itself unusual: values rarer than `pGate` are clipped to the
   * gate, so a long anomaly cannot teach the calibrator that anomalies are normal.
   * Known limit: a slow drift that stays just inside the gate for many readings lifts the tail
   * step by step (see the report / README: slow drifts are detected only down to a rate).
   */
  observeGated(s: number, pGate: number): void {
    if (this.ready) {
      const g = this.quantileAbove(pGate);
      if (s > g) s = g;
    }
    this.observe(s);
  }

  /** P(a past-like value ≥ s). 1 until `minCount` observations. */
  pValue(s: number): number {
    if (!this.ready || !(s > 0)) return 1;
    if (this.stale) this.fitTail();
    if (s > this.u) {
      const x = (s - this.u) / this.beta;
      return Number.isFinite(this.shape) ? this.q * Math.pow(1 + x / this.shape, -this.shape) : this.q * Math.exp(-x);
    }
    return this.massAbove(s) / this.total;
  }

  /** The value whose tail probability is p (inverse of pValue in the tail). */
  quantileAbove(p: number): number {
    if (this.stale) this.fitTail();
    if (p >= this.q) return this.u;
    const r = this.q / p;
    return this.u + this.beta * (Number.isFinite(this.shape) ? this.shape * (Math.pow(r, 1 / this.shape) - 1) : Math.log(r));
  }

  /** Histogram mass at or above s, interpolating inside s's bin on a log scale. */
  private massAbove(s: number): number {
    const b = binOf(s);
    let m = 0;
    for (let i = BINS - 1; i > b; i--) m += this.bins[i]!;
    const lo = lowerEdge(b);
    const hi = b >= BINS - 1 ? lo : lowerEdge(b + 1);
    let frac: number;
    if (b === 0) frac = 1 - s / LO;
    else if (hi <= lo) frac = 1;
    else frac = 1 - Math.log(s / lo) / Math.log(hi / lo);
    return m + this.bins[b]! * frac;
  }

  private fitTail(): void {
    this.stale = false;
    // Tail mass: 2 % once there is enough history, more while there is little (at least ~20
    // observations above the threshold, so the fitted excess is not a guess from two values).
    const q0 = Math.min(0.2, Math.max(0.02, 20 / Math.max(1, this.count)));
    const want = q0 * this.total;
    let m = 0;
    let b = BINS - 1;
    for (; b > 0; b--) {
      if (m + this.bins[b]! >= want) break;
      m += this.bins[b]!;
    }
    // Threshold u inside bin b so that the mass above u is `want`.
    const wb = this.bins[b]!;
    const lo = lowerEdge(b);
    const hi = b >= BINS - 1 ? lo * Math.exp(STEP) : lowerEdge(b + 1);
    const need = want - m; // mass needed from the top part of bin b
    let u: number;
    if (wb <= 0) u = lo;
    else if (b === 0) u = LO * (1 - need / wb);
    else u = hi * Math.pow(lo / hi, need / wb);
    // Mean excess over u, each bin represented by its geometric centre.
    let ex = 0;
    let wsum = 0;
    if (need > 0) {
      ex += need * (b === 0 ? (u + LO) / 2 - u : Math.sqrt(u * hi) - u);
      wsum += need;
    }
    for (let i = b + 1; i < BINS; i++) {
      const w = this.bins[i]!;
      if (w <= 0) continue;
      const l = lowerEdge(i);
      const c = i >= BINS - 1 ? l * Math.exp(STEP / 2) : l * Math.exp(STEP / 2);
      ex += w * (c - u);
      wsum += w;
    }
    this.u = u;
    this.q = this.total > 0 ? Math.min(1, (m + need) / this.total) : 1;
    const beta = wsum > 0 ? ex / wsum : u;
    // An excess of zero (every tail value in one bin) would make everything past u impossible.
    this.beta = Math.max(beta, 0.5 * u, 1e-9);
    // Independent exceedances: episodes, not values (a smoothed statistic exceeds in runs).
    const episodes = Math.min(this.runs, m + need) / this.lastWeight;
    this.shape = Math.max(1, episodes);
  }
}

/**
 * Calibration: turns a non-negative "unusualness" statistic (a squared standardised residual, a
 * T², a variance ratio…) into a tail probability learned from the statistic's OWN past, and that
 * probability into a score in [0, 1] that means the same thing on every point.
 *
 * Why empirical: real residuals are not Gaussian and, after smoothing, not independent, so a
 * textbook chi-square p-value would be wrong in a different way on every point. Each statistic
 * keeps a decaying histogram of its past values (an online empirical CDF, the idea behind
 * conformal p-values) and, beyond the top few per cent of what it has seen, a generalised Pareto
 * tail (peaks over threshold, as in SPOT: Siffer et al., KDD 2017) so that a detector can say
 * "one in a million" after a few thousand values.
 *
 * The tail's SHAPE is estimated, not assumed. Heavy-tailed noise (Student-t, bursts of counts,
 * lognormal values) has a polynomial tail; an exponential fitted to it calls the next big-but-
 * normal value one in a billion (on Student-t(3) noise the old exponential tail scored 10 times
 * more rows ≥ 0.5 than it promised). The shape ξ comes from the moment estimator of Dekkers,
 * Einmahl and de Haan (1989) on the log-excesses above the threshold (the histogram is log-spaced,
 * so these moments are what it holds best), the scale from the median excess (robust to the
 * coarse top bins). Both are estimated from few values, so the tail is widened by the estimate's
 * uncertainty: ξ used = max(ξ̂, 0) + 1/√k, with k the number of independent exceedance EPISODES
 * (runs above the threshold: a smoothed statistic exceeds in runs, and 400 exceedances in runs of
 * 20 are 20 looks at the tail). No knob: k is counted.
 *
 * Worked example: 4000 values of z² from a Gaussian. The top 2 % start near u ≈ 5.4; ξ̂ ≈ 0,
 * k ≈ 70 episodes, so ξ = 0.12; the median excess is ≈ 1.4, so σ ≈ 1.9. At z = 5 (s = 25):
 * p = 0.02·(1 + 0.12·19.6/1.9)^(-1/0.12) ≈ 1.4e-5 (truth 5.7e-7: conservative); at z = 8 (s = 64)
 * p ≈ 3e-8. On Student-t(3) noise ξ̂ ≈ 0.6 and the same z scores far less, as it should.
 *
 * Learning, and what it must not learn: a value the calibrator itself finds rarer than `gate` is
 * held back while its run lasts. When the run ends within `maxRun` values it was a rare but normal
 * excursion, and its peak is learnt (with the number of values that were rare: a heavy tail is
 * learnt from its excursions); a longer run is a fault or a new regime and teaches nothing (the
 * detector relearns a new regime from scratch, see baseline.ts). So a long fault keeps scoring
 * as a fault, while rare-but-normal events (a spike every few hours) stop alarming once seen.
 *
 * Bounded: 64 float32 bins (about a fifth of a decade each), their 8 group sums and 13 numbers whatever runs through it, kept in
 * storage the detector may share among its calibrators. Deterministic.
 */

/** Scores: s = L/6 up to L = 4 (p = 1e-4, s = 0.667), then 1 − (2/3)/(L − 2): never reaches 1. */
const LINEAR_UNTIL = 4;

/**
 * The score of a tail probability given as L = -log10(p) ("decades of surprise").
 *
 * Below p = 1e-4 the score is L/6 (0.5 means one in a thousand, 0.67 one in ten thousand); above,
 * it keeps rising without ever reaching 1 (1e-6 → 0.83, 1e-12 → 0.93, 1e-100 → 0.993), so rare
 * events stay ranked: a threshold can always separate a one-in-a-million event from a
 * one-in-a-trillion one. Continuous with a continuous slope at p = 1e-4.
 */
export function scoreOfDecades(l: number): number {
  if (!(l > 0)) return 0;
  if (l <= LINEAR_UNTIL) return l / 6;
  if (l === Infinity) return 1;
  return 1 - 2 / 3 / (l - 2);
}

export function scoreOf(p: number): number {
  if (!(p < 1)) return 0;
  return scoreOfDecades(p > 0 ? -Math.log10(p) : Infinity);
}

/** The tail probability a score stands for (inverse of scoreOf): what a threshold promises. */
export function pOf(score: number): number {
  if (!(score > 0)) return 1;
  if (score <= LINEAR_UNTIL / 6) return Math.pow(10, -score * 6);
  if (score >= 1) return 0;
  return Math.pow(10, -(2 + 2 / 3 / (1 - score)));
}

/**
 * Bonferroni in decades: the smallest of `k` p-values (as decades), corrected so that the
 * combined p stays a valid bound whatever the dependence between them. Keeps "one threshold for
 * everything" honest when a row is judged by many statistics at once.
 */
export function combineDecades(maxL: number, k: number): number {
  const l = maxL - Math.log10(Math.max(1, k));
  return l > 0 ? l : 0;
}

/** The same correction on a p-value. */
export function combineP(minP: number, k: number): number {
  const p = minP * k;
  return p > 1 ? 1 : p;
}

const BINS = 64;
const LO = 1e-4; // bin 0 holds [0, LO): a statistic a thousandth of its usual size is simply small
const HI = 1e8; // the last bin holds [HI, ∞)
const LOG_LO = Math.log(LO);
const STEP = (Math.log(HI) - LOG_LO) / (BINS - 2); // bins 1..BINS-2 are log-spaced
const RESCALE_AT = 1e30; // float32 bins: rescale long before 3.4e38
const LN10 = Math.LN10;

function lowerEdge(b: number): number {
  return b <= 0 ? 0 : Math.exp(LOG_LO + (b - 1) * STEP);
}

// Each bin's edges and what the tail fit derives from them, computed once here: the same doubles
// the expressions give (they are the expressions), where every fit, every 8 observations of every
// calibrator, recomputed them with an exp per bin (issue 15: thousands of fits a second at 5,000
// points). The last bin's top is one STEP above its lower edge, as the fit and the quantile read it.
const EDGE = new Float64Array(BINS);
const TOP = new Float64Array(BINS);
/** Geometric centre of bin b (its representative in the tail fit). */
const CENTRE = new Float64Array(BINS);
/** ln(TOP / EDGE) of bin b. */
const LOG_WIDTH = new Float64Array(BINS);
for (let b = 0; b < BINS; b++) {
  EDGE[b] = lowerEdge(b);
  TOP[b] = b >= BINS - 1 ? EDGE[b]! * Math.exp(STEP) : lowerEdge(b + 1);
  CENTRE[b] = Math.sqrt(EDGE[b]! * TOP[b]!);
  LOG_WIDTH[b] = Math.log(TOP[b]! / EDGE[b]!);
}

/** The bin of statistic value s, by its definition: log-spaced from LO, bin 0 below it, the last open-ended. */
export function binOfByLog(s: number): number {
  if (!(s >= LO)) return 0;
  const b = 1 + Math.floor((Math.log(s) - LOG_LO) / STEP);
  return b > BINS - 1 ? BINS - 1 : b;
}

// binOf without a logarithm for almost every value (issue 15: one a statistic a reading, one a
// tail fit; at 5,000 points V8's log was 5 % of the agent's samples). A double's binary exponent
// says which octave it is in, and an octave holds at most two bin edges (a bin is 0.64 of an
// octave): a table per exponent gives the octave's first bin, and comparisons with EDGE the rest.
// Within a part in 10¹² of an edge the logarithm decides, as before: there EDGE (an exp, rounded)
// and the formula could disagree in the last bit; elsewhere both give the exact bin, so the
// result is binOfByLog's to the bit (test/detect/calibrate.test.ts).
const F64 = new Float64Array(1);
const HI32 = new Uint32Array(F64.buffer);
F64[0] = 1;
/** Index of a double's high word in HI32: 1 on little-endian machines, 0 on big-endian ones. */
const HIGH = HI32[1] === 0x3ff00000 ? 1 : 0;
/** binOfByLog(2^e) for every normal exponent e, at e + 1022 (bin 0 below LO). */
const FIRST = new Int8Array(2046);
for (let e = -1022; e < 1024; e++) FIRST[e + 1022] = binOfByLog(Math.pow(2, e));
/** Bin b's top edge (Infinity for the last), and the part of the bin a part in 10¹² clear of its edges. */
const NEXT = new Float64Array(BINS);
const SAFE_LO = new Float64Array(BINS);
const SAFE_HI = new Float64Array(BINS);
for (let b = 0; b < BINS; b++) {
  NEXT[b] = b < BINS - 1 ? EDGE[b + 1]! : Infinity;
  SAFE_LO[b] = EDGE[b]! * (1 + 1e-12);
  SAFE_HI[b] = NEXT[b]! * (1 - 1e-12);
}

export function binOf(s: number): number {
  // Zero and infinity are returned here, and the rare value near an edge goes through F64 to a
  // call without arguments: a number passed to a call V8 does not inline is a heap object, and
  // binOf is inlined into every calibrator's use only while it stays this small (issue 15:
  // garbage per reading; with the guard written out, the detectors made 40 % more).
  if (!(s >= LO)) return 0;
  if (!(s < Infinity)) return BINS - 1;
  F64[0] = s;
  let b = FIRST[(HI32[HIGH]! >>> 20) - 1]!;
  while (s >= NEXT[b]!) b++;
  return s >= SAFE_LO[b]! && s < SAFE_HI[b]! ? b : binOfF64();
}

/** binOfByLog of the value in F64 (binOf near an edge). */
function binOfF64(): number {
  return binOfByLog(F64[0]!);
}

/** The part of bin `bin` at or above x, on a log scale (the histogram's mass above x interpolates inside its bin). */
function fracAbove(x: number, bin: number): number {
  if (bin === 0) return 1 - x / LO;
  // The last bin is open-ended: all of it counts.
  if (bin >= BINS - 1) return 1;
  return 1 - Math.log(x / EDGE[bin]!) / LOG_WIDTH[bin]!;
}

export interface CalibratorOptions {
  /** Effective memory in observations (older values fade with weight (1 - 1/memory)^age). */
  readonly memory: number;
  /** Observations needed before p-values are given (until then p = 1). */
  readonly minCount: number;
  /** Values rarer than this are held back while their run lasts (see learn()). */
  readonly gate?: number;
  /** A held-back run longer than this teaches nothing. */
  readonly maxRun?: number;
  /** How many standard errors of the shape estimate widen the tail (default 1). */
  readonly margin?: number;
}

/** tailValues' two results (a number returned from a call V8 does not inline is a heap object). */
const TAIL = new Float64Array(2);
/** Bins are summed in groups of this many, so a tail mass costs at most 2 × GROUP additions. */
const GROUP = 8;
const GROUPS = BINS / GROUP;
/** float32 slots one calibrator keeps in its storage: the bins, then the group sums. */
export const CALIBRATOR_FLOATS = BINS + GROUPS;
/** float64 slots one calibrator keeps in its storage: its scalar state. */
export const CALIBRATOR_DOUBLES = 13;
// Scalar state, by slot.
const TOTAL = 0; // decayed total weight
const WEIGHT = 1; // weight of the next observation (grows instead of decaying the bins)
const COUNT = 2; // observations
const U = 3; // tail fit: threshold u, mass above it q, GPD ξ and σ
const Q = 4;
const XI = 5;
const SIGMA = 6;
const STALE = 7; // 1 when the fit must be refreshed
const RUNS = 8; // decayed count of exceedance episodes (runs above u)
const WAS_ABOVE = 9;
const HELD_PEAK = 10; // the run of held-back values in progress: peak, rare values, length
const HELD_RARE = 11;
const HELD_LEN = 12;

/**
 * Where a calibrator keeps its numbers. A detector with several calibrators gives them slices of
 * two arrays it owns, so that a point's whole state is a few typed arrays rather than dozens of
 * small objects (each typed array costs about 200 bytes of bookkeeping in V8 on top of its data).
 */
export interface CalibratorStorage {
  readonly floats: Float32Array;
  readonly floatsAt: number;
  readonly doubles: Float64Array;
  readonly doublesAt: number;
}

export class TailCalibrator {
  private b: Float32Array;
  private readonly bo: number;
  private s: Float64Array;
  private readonly so: number;
  /**
   * What observe() multiplies the weight by, and the gate in decades (Infinity without a gate):
   * fields, not recomputed per call, since a calibrator serves every point of its shape (bind).
   */
  private readonly growth: number;
  private readonly gateDecades: number;
  /**
   * The last value binned and its bin (binOf's logarithm): a detector judges a statistic
   * (decades) and then learns the same value (observe), on the same calibrator, point by point.
   */
  private readonly lastX = new Float64Array(1);
  private readonly lastBin = new Int32Array(1);

  constructor(
    private readonly opts: CalibratorOptions,
    storage?: CalibratorStorage,
  ) {
    this.growth = 1 / (1 - 1 / Math.max(2, opts.memory));
    this.gateDecades = (opts.gate ?? 0) > 0 ? -Math.log10(opts.gate!) : Infinity;
    this.b = storage?.floats ?? new Float32Array(CALIBRATOR_FLOATS);
    this.bo = storage?.floatsAt ?? 0;
    this.s = storage?.doubles ?? new Float64Array(CALIBRATOR_DOUBLES);
    this.so = storage?.doublesAt ?? 0;
    this.reset();
  }

  /** binOf(x), remembering the last value binned (see lastX). */
  private bin(x: number): number {
    if (x === this.lastX[0]) return this.lastBin[0]!;
    const b = binOf(x);
    this.lastX[0] = x;
    this.lastBin[0] = b;
    return b;
  }

  /**
   * Points this calibrator at another owner's storage (same offsets): one calibrator per slot can
   * then serve every detector of the same options, each binding it before use (issue 15: four
   * calibrator objects per point were ~260 bytes of the baseline detector's memory).
   */
  bind(floats: Float32Array, doubles: Float64Array): this {
    this.b = floats;
    this.s = doubles;
    return this;
  }

  get observations(): number {
    return this.s[this.so + COUNT]!;
  }

  get ready(): boolean {
    return this.s[this.so + COUNT]! >= this.opts.minCount;
  }

  /** Forgets everything: a new regime is calibrated from scratch. */
  reset(): void {
    this.b.fill(0, this.bo, this.bo + CALIBRATOR_FLOATS);
    const s = this.s;
    const o = this.so;
    s.fill(0, o, o + CALIBRATOR_DOUBLES);
    s[o + WEIGHT] = 1;
    s[o + Q] = 1;
    s[o + SIGMA] = 1;
    s[o + STALE] = 1;
  }

  /** Adds `x` to the history with `n` times the current weight. */
  observe(x: number, n = 1): void {
    if (!(x >= 0)) return; // NaN and negatives are not statistics
    const s = this.s;
    const o = this.so;
    const w = s[o + WEIGHT]! * n;
    const bin = this.bin(x);
    this.b[this.bo + bin]! += w;
    this.b[this.bo + BINS + (bin >> 3)]! += w;
    s[o + TOTAL]! += w;
    if (s[o + STALE] && s[o + COUNT]! > 0) this.fitTail();
    const above = s[o + COUNT]! > 0 && x > s[o + U]!;
    if (above && !s[o + WAS_ABOVE]) s[o + RUNS]! += s[o + WEIGHT]!;
    s[o + WAS_ABOVE] = above ? 1 : 0;
    // Decay without touching every bin: new observations weigh more and more, and the whole
    // histogram is rescaled now and then (same result as multiplying every bin by 1 - 1/memory).
    s[o + WEIGHT]! *= this.growth;
    if (s[o + WEIGHT]! > RESCALE_AT) this.rescale();
    const count = (s[o + COUNT]! += n);
    if ((count & 7) === 0 || count < 64) s[o + STALE] = 1;
  }

  /**
   * Multiplies the history by 1 / weight and the weight back to 1 (observe: every few thousand
   * observations). A method of its own so that observe() stays small enough for V8 to inline into
   * its callers (a number passed to a call that is not inlined is a heap object: issue 15).
   */
  private rescale(): void {
    const s = this.s;
    const o = this.so;
    const k = 1 / s[o + WEIGHT]!;
    for (let i = 0; i < CALIBRATOR_FLOATS; i++) this.b[this.bo + i]! *= k;
    s[o + TOTAL]! *= k;
    s[o + RUNS]! *= k;
    s[o + WEIGHT] = 1;
  }

  /**
   * Learns `x` as the detector's normal learning does, holding back values rarer than the gate
   * while their run lasts (see the header). `decades` is this calibrator's own verdict on `x`
   * (decades(x)), which the caller has already computed.
   */
  learn(x: number, decades: number): void {
    if (this.isRare(decades)) {
      this.hold(x, decades);
      return;
    }
    // Checked here so that V8, seeing release() rarely called, inlines observe() only once.
    if (this.s[this.so + HELD_LEN] !== 0) this.release();
    this.observe(x);
  }

  /** Holds `x` back as part of an unusual row (the row's run goes on). */
  hold(x: number, decades: number): void {
    const s = this.s;
    const o = this.so;
    s[o + HELD_LEN]!++;
    if (this.isRare(decades)) {
      s[o + HELD_RARE]!++;
      if (x > s[o + HELD_PEAK]!) s[o + HELD_PEAK] = x;
    }
  }

  /** Ends a held-back run: a short one teaches its peak, a long one nothing. */
  release(): void {
    const s = this.s;
    const o = this.so;
    if (s[o + HELD_LEN] === 0) return;
    if (s[o + HELD_RARE]! > 0 && s[o + HELD_LEN]! <= (this.opts.maxRun ?? Infinity))
      this.observe(s[o + HELD_PEAK]!, s[o + HELD_RARE]!);
    s[o + HELD_PEAK] = s[o + HELD_RARE] = s[o + HELD_LEN] = 0;
  }

  private isRare(decades: number): boolean {
    return decades > this.gateDecades && this.ready;
  }

  /** P(a past-like value ≥ x). 1 until `minCount` observations. */
  pValue(x: number): number {
    const l = this.decades(x);
    return l === 0 ? 1 : Math.pow(10, -l);
  }

  /**
   * -log10 of pValue(x), computed without underflow however extreme `x` is.
   *
   * A caller that only needs the figure when `x` is unusual passes `ordinary`, a tail probability:
   * where the mass above x's bin alone shows that x's is at least that, the result is 0 instead of
   * the exact figure, saving the two logarithms it costs (issue 15: most values of most statistics
   * are ordinary, five statistics a reading). Without it (2: no mass reaches it) always exact.
   */
  decades(x: number, ordinary = 2): number {
    if (!this.ready || !(x > 0)) return 0;
    const s = this.s;
    const o = this.so;
    if (s[o + STALE]) this.fitTail();
    const u = s[o + U]!;
    if (x > u) {
      const z = (x - u) / s[o + SIGMA]!;
      const xi = s[o + XI]!;
      const lnTail = xi > 0 ? -Math.log1p(xi * z) / xi : -z;
      return Math.max(0, -(Math.log(s[o + Q]!) + lnTail) / LN10);
    }
    const bin = this.bin(x);
    const above = this.massAboveBin(bin);
    if (above >= ordinary * s[o + TOTAL]!) return 0;
    const p = (above + this.b[this.bo + bin]! * fracAbove(x, bin)) / s[o + TOTAL]!;
    return p >= 1 ? 0 : p > 0 ? -Math.log10(p) : 0;
  }

  /** The value whose tail probability is p (inverse of pValue in the tail). */
  quantileAbove(p: number): number {
    const s = this.s;
    const o = this.so;
    if (s[o + STALE]) this.fitTail();
    if (p >= s[o + Q]!) return s[o + U]!;
    const r = Math.log(s[o + Q]! / p);
    const xi = s[o + XI]!;
    return s[o + U]! + s[o + SIGMA]! * (xi > 0 ? Math.expm1(xi * r) / xi : r);
  }

  /** Histogram mass above bin `bin` (the groups above its group, then the bins above it in its own). */
  private massAboveBin(bin: number): number {
    const B = this.b;
    const bo = this.bo;
    const g = bin >> 3;
    let m = 0;
    for (let i = GROUPS - 1; i > g; i--) m += B[bo + BINS + i]!;
    for (let i = (g << 3) + GROUP - 1; i > bin; i--) m += B[bo + i]!;
    return m;
  }

  /**
   * The values with histogram mass `want` and `want / 2` above them, into TAIL[0] and TAIL[1]
   * (the tail fit's threshold and its median). One walk down the histogram finds both: the
   * second is met on the way to the first, with the same sums as a walk of its own.
   */
  private tailValues(want: number): void {
    const B = this.b;
    const bo = this.bo;
    const half = want / 2;
    let halfFound = false;
    let m = 0;
    let b = BINS - 1;
    while (b > 0) {
      // A group summing to 0 has no weight in any of its bins (a bin never exceeds its group: the
      // same float32 additions and scalings, rounded monotonically), and a bin with none neither
      // stops the search (want > 0) nor adds to m: skipped whole, the same result. The top
      // decades of the histogram are mostly empty.
      if ((b & (GROUP - 1)) === GROUP - 1 && B[bo + BINS + (b >> 3)] === 0) {
        b = b > GROUP ? b - GROUP : 0;
        continue;
      }
      const w = B[bo + b]!;
      if (!halfFound && m + w >= half) {
        TAIL[1] = this.valueInBin(b, half - m);
        halfFound = true;
      }
      if (m + w >= want) break;
      m += w;
      b--;
    }
    if (!halfFound) TAIL[1] = this.valueInBin(b, half - m);
    TAIL[0] = this.valueInBin(b, want - m);
  }

  /** The value in bin b with mass `need` of the bin above it (log-linear inside the bin). */
  private valueInBin(b: number, need: number): number {
    const wb = this.b[this.bo + b]!;
    const lo = EDGE[b]!;
    const hi = TOP[b]!;
    if (wb <= 0) return lo;
    if (b === 0) return LO * (1 - Math.min(1, need / wb));
    return hi * Math.pow(lo / hi, Math.min(1, need / wb));
  }

  private fitTail(): void {
    const s = this.s;
    const o = this.so;
    const B = this.b;
    const bo = this.bo;
    s[o + STALE] = 0;
    const total = s[o + TOTAL]!;
    if (total <= 0) return;
    // Tail mass: 2 % once there is enough history, more while there is little (at least ~20
    // observations above the threshold, so the fit is not a guess from two values).
    const q0 = Math.min(0.2, Math.max(0.02, 20 / Math.max(1, s[o + COUNT]!)));
    const want = q0 * total;
    this.tailValues(want);
    const u = TAIL[0]!;
    // Log-excess moments above u, each bin represented by its geometric centre (the part of u's
    // own bin above u by the centre of that part).
    let m1 = 0;
    let m2 = 0;
    let wsum = 0;
    const ub = binOf(u);
    for (let i = ub; i < BINS; i++) {
      // An empty group adds nothing (as in tailValues): above the largest value seen, the top
      // decades of the histogram, skipped eight bins at a time.
      if ((i & (GROUP - 1)) === 0 && B[bo + BINS + (i >> 3)] === 0) {
        i += GROUP - 1;
        continue;
      }
      const h = TOP[i]!;
      let w = B[bo + i]!;
      let c: number;
      if (i === ub) {
        if (i === 0 || h <= u) continue;
        w *= Math.log(h / u) / LOG_WIDTH[i]!;
        c = Math.sqrt(u * h);
      } else c = CENTRE[i]!;
      if (!(w > 0) || !(u > 0)) continue;
      const y = Math.log(c / u);
      m1 += w * y;
      m2 += w * y * y;
      wsum += w;
    }
    let xi = 0;
    if (wsum > 0 && m2 > 0) {
      m1 /= wsum;
      m2 /= wsum;
      // Dekkers-Einmahl-de Haan moment estimator; only its non-negative part is used (a bounded
      // tail is not trusted to end where a few thousand values happened to end).
      xi = m1 + 1 - 0.5 / (1 - (m1 * m1) / m2);
    }
    s[o + U] = u;
    s[o + Q] = Math.min(1, want / total);
    // Independent exceedances: episodes, not values.
    const episodes = Math.max(1, Math.min(s[o + RUNS]!, want) / s[o + WEIGHT]!);
    const shape = Math.max(0, Math.min(xi, 2)) + (this.opts.margin ?? 1) / Math.sqrt(episodes);
    s[o + XI] = shape;
    // Scale from the median excess: for a GPD, median - u = σ (2^ξ - 1) / ξ.
    const med = TAIL[1]! - u;
    const scaleFactor = shape > 0 ? Math.expm1(shape * Math.LN2) / shape : Math.LN2;
    s[o + SIGMA] = Math.max(med / scaleFactor, 0.25 * u, 1e-12);
  }
}
